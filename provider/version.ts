/** The package's version: the npm package, the provider plugin and the schema share it. */
import * as fs from "fs";
import * as path from "path";

function packageVersion(): string {
  // provider/version.ts under ts-node, dist/provider/version.js once built: the package.json above.
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "pulumi-aws-key-rotation" && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir)
      throw new Error(`No package.json of pulumi-aws-key-rotation above ${__dirname}.`);
  }
}

export const PACKAGE_VERSION: string = packageVersion();
