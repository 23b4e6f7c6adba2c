// Run by `npm install` / `npm ci` (the `prepare` script, after the build): makes this package
// resolvable by its own name from anywhere in the repository, as node_modules/pulumi-aws-key-rotation
// -> the repository. The state of a Pulumi project stores a loader that requires
// `pulumi-aws-key-rotation/hosted` from the project's folder (components/providers/stored.ts); in a
// consumer stack that is the installed package, here it is this link (the root project and the test
// programs under test/e2e/programs).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const link = path.join(root, "node_modules", "pulumi-aws-key-rotation");
let existing;
try {
  existing = fs.lstatSync(link);
} catch {
  existing = undefined;
}
if (existing && !(existing.isSymbolicLink() && fs.realpathSync(link) === fs.realpathSync(root))) {
  fs.rmSync(link, { recursive: true, force: true });
  existing = undefined;
}
if (!existing) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync("..", link, "dir");
}
