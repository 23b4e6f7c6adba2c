/**
 * Toolchains for the tests that run YAML and Python programs with the real Pulumi CLI (see
 * pulumiCli.ts): the pinned YAML language host (scripts/pulumi-yaml.sh) and a Python venv with the
 * pinned Pulumi SDK and the repository's generated sdk/python (scripts/python-env.sh). Each script
 * runs once per test process (the first run builds or installs, which can take a minute; later
 * runs reuse the cache) and its bin dir is kept. Put them on PATH with the CLI's bin dir:
 *   PATH: [await yamlHostBin(), await pythonBin(), pulumiBinDir(), process.env.PATH].join(path.delimiter)
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./pulumiCli";

const cache = new Map<string, Promise<string>>();

/**
 * Runs `bash scripts/<script>` and resolves to the bin dir it prints as its last stdout line,
 * checked to hold `expect`. Its progress (stderr) goes to this process's stderr as it comes; a
 * failure rejects with the end of it.
 */
function binDirOf(script: string, expect: string, hint: string): Promise<string> {
  let pending = cache.get(script);
  if (!pending) {
    pending = runScript(script, expect, hint);
    cache.set(script, pending);
    // A failed run is not cached: a later call (another test file) tries again.
    pending.catch(() => cache.delete(script));
  }
  return pending;
}

function runScript(script: string, expect: string, hint: string): Promise<string> {
  const scriptPath = path.join(REPO_ROOT, "scripts", script);
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [scriptPath], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => {
      process.stderr.write(c);
      stderr = (stderr + c.toString()).slice(-8000);
    });
    const fail = (why: string) =>
      reject(new Error(`scripts/${script} ${why}${stderr.trim() ? `:\n${stderr.trim()}` : ""}\n${hint}`));
    child.on("error", (err) => fail(`could not be started (${err.message})`));
    child.on("close", (code, signal) => {
      if (code !== 0) {
        fail(signal ? `was killed by ${signal}` : `exited with code ${code}`);
        return;
      }
      const binDir = stdout.trim().split("\n").pop() ?? "";
      if (!binDir || !fs.existsSync(path.join(binDir, expect))) {
        fail(`printed '${binDir}', which has no ${expect}`);
        return;
      }
      resolve(binDir);
    });
  });
}

/**
 * The bin dir holding `pulumi-language-yaml` (the YAML language host, `runtime: yaml`). Found on
 * PATH, the CLI uses it but warns on every run ("using pulumi-language-yaml from $PATH at ...":
 * the CLI's releases bundle it next to `pulumi`); declared in the program's Pulumi.yaml it is
 * used without a warning, and need not be on PATH:
 *   plugins: { languages: [{ name: yaml, path: <this dir> }] }
 */
export async function yamlHostBin(): Promise<string> {
  return binDirOf(
    "pulumi-yaml.sh",
    "pulumi-language-yaml",
    "The YAML tests need pulumi-language-yaml: install Go (the script builds it from the Go module proxy) " +
      "or put a pulumi-language-yaml (it comes with the Pulumi CLI) on PATH.",
  );
}

/**
 * The bin dir of a venv holding `python` with the pinned `pulumi` package (and sdk/python, when
 * there is one); made from KEYROTATION_PYTHON (default python3).
 */
export async function pythonBin(): Promise<string> {
  return binDirOf(
    "python-env.sh",
    "python",
    "The Python tests need a Python 3.9 or newer with venv (set KEYROTATION_PYTHON to one) and access to PyPI.",
  );
}
