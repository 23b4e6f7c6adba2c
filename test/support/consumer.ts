/**
 * The package as users consume it: packed with `npm pack` and unpacked into a project's
 * node_modules, so that provider closures serialized by Pulumi `require()` it by package name
 * (`pulumi-aws-key-rotation/dist/...`). The upgrade test deploys with one build, then another.
 *
 * Builds are packed from a clean copy in a temporary folder: the repository's own dist/ may hold
 * files of older builds that a fresh install would not have. No network: every dependency is a
 * symlink to the repository's node_modules.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./pulumiCli";

export const PACKAGE_NAME = "pulumi-aws-key-rotation";
const CONSUMER_PROGRAM = path.join(REPO_ROOT, "test", "e2e", "programs", "consumer");
/** The Pulumi.yaml lines that declare the provider plugin of the installed package (README). */
export const PLUGIN_LINES = `plugins:
  providers:
    - name: keyrotation
      path: node_modules/${PACKAGE_NAME}/provider
`;

/** Every temporary folder made here, removed by `cleanUpPacks`. */
const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `keyrotation-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Runs a command; throws with its output when it fails. */
export function run(cmd: string, args: string[], cwd: string, input?: Buffer): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      input,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
    });
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(" ")} (in ${cwd}) exited with ${err.status}:\n${err.stdout ?? ""}${err.stderr ?? ""}`,
    );
  }
}

/** Compiles the package in `srcDir` (its tsconfig.build.json) and packs it; returns the tarball. */
function buildAndPack(srcDir: string): string {
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(srcDir, "node_modules"), "dir");
  // Type-checking is `npm run build`'s job; older sources were written against an older
  // @pulumi/pulumi than the one installed here, and only the emitted JavaScript matters.
  run("npx", ["tsc", "-p", "tsconfig.build.json", "--noCheck"], srcDir);
  const dest = tempDir("tarball");
  const out = run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dest], srcDir);
  const file = out.trim().split("\n").pop() as string;
  const tarball = path.join(dest, path.basename(file));
  if (!fs.existsSync(tarball)) throw new Error(`npm pack printed ${JSON.stringify(out)}; no ${tarball}`);
  return tarball;
}

const previousPacks = new Map<string, string>();

/**
 * Packs the package as it was at `commit` (`git archive` of the repository, compiled without
 * type-checking); cached per process. Fails with a hint when the clone does not have the commit.
 */
export function packPrevious(commit: string): string {
  const cached = previousPacks.get(commit);
  if (cached) return cached;
  try {
    run("git", ["cat-file", "-e", `${commit}^{commit}`], REPO_ROOT);
  } catch {
    throw new Error(
      `Commit ${commit} (the previous build the upgrade test installs) is not in this clone. ` +
        `A shallow clone lacks it: fetch the full history with \`git fetch --unshallow\` ` +
        `(in CI: actions/checkout with fetch-depth: 0).`,
    );
  }
  const src = tempDir("previous-src");
  const archive = execFileSync("git", ["archive", "--format=tar", commit], {
    cwd: REPO_ROOT,
    maxBuffer: 256 * 1024 * 1024,
  });
  run("tar", ["-xf", "-"], src, archive);
  const tarball = buildAndPack(src);
  previousPacks.set(commit, tarball);
  return tarball;
}

/**
 * Packs the working tree as it is now: tracked and untracked (not ignored) files are copied to
 * a clean folder, compiled and packed, so stale files in the repository's dist/ cannot hide a
 * missing module.
 */
export function packCurrent(): string {
  const src = tempDir("current-src");
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO_ROOT)
    .split("\0")
    .filter((f) => f !== "");
  for (const file of files) {
    const from = path.join(REPO_ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
    fs.copyFileSync(from, path.join(src, file));
  }
  return buildAndPack(src);
}

/**
 * A Pulumi project in a temporary folder that consumes the package from its node_modules: the
 * program of test/e2e/programs/consumer, the package unpacked from a tarball (a real folder),
 * and every other dependency symlinked from the repository's node_modules.
 */
export class ConsumerProject {
  readonly dir: string;
  readonly packageDir: string;

  constructor() {
    this.dir = tempDir("consumer");
    for (const file of ["Pulumi.yaml", "index.ts", "tsconfig.json"]) {
      fs.copyFileSync(path.join(CONSUMER_PROGRAM, file), path.join(this.dir, file));
    }
    const modules = path.join(this.dir, "node_modules");
    fs.mkdirSync(modules);
    const repoModules = path.join(REPO_ROOT, "node_modules");
    for (const entry of fs.readdirSync(repoModules)) {
      if (entry === PACKAGE_NAME || entry === ".package-lock.json") continue;
      fs.symlinkSync(path.join(repoModules, entry), path.join(modules, entry));
    }
    this.packageDir = path.join(modules, PACKAGE_NAME);
  }

  /**
   * Installs the tarball as node_modules/pulumi-aws-key-rotation, replacing what was there. A build
   * with the provider plugin (provider/PulumiPlugin.yaml) also gets the lines its README tells a
   * user to add to Pulumi.yaml, which declare the plugin from the installed package.
   */
  install(tarball: string): void {
    const unpack = fs.mkdtempSync(path.join(this.dir, ".unpack-"));
    run("tar", ["-xzf", tarball, "-C", unpack], this.dir);
    fs.rmSync(this.packageDir, { recursive: true, force: true });
    fs.renameSync(path.join(unpack, "package"), this.packageDir);
    fs.rmSync(unpack, { recursive: true, force: true });
    const project = path.join(this.dir, "Pulumi.yaml");
    const text = fs.readFileSync(project, "utf8");
    if (
      fs.existsSync(path.join(this.packageDir, "provider", "PulumiPlugin.yaml")) &&
      !text.includes(PLUGIN_LINES)
    ) {
      fs.writeFileSync(project, text.trimEnd() + "\n" + PLUGIN_LINES);
    }
  }
}

/** Removes every folder made here (sources, tarballs, consumer projects). */
export function cleanUpPacks(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  previousPacks.clear();
}
