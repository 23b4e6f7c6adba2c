/**
 * Runs Pulumi programs with the real Pulumi CLI (scripts/pulumi-cli.sh provides a pinned one)
 * against a temporary local file backend, with passphrase secrets, no network, no update
 * checks and no plugin downloads.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { emulator, emulatorEnv } from "./moto";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

let binDir: string | undefined;

/** The bin dir holding `pulumi` and the plugin launchers; built on first use (can take minutes). */
export function pulumiBinDir(): string {
  if (!binDir) {
    const out = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "pulumi-cli.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 * 1024 * 1024,
    });
    binDir = out.trim().split("\n").pop() as string;
  }
  return binDir;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /**
   * What a user sees at the CLI's default verbosity: stderr plus, for `--json` runs, every event
   * except debug diagnostics (the Node SDK logs raw RegisterResource responses, secret values
   * included, at debug level; the CLI shows them only with --debug/-v or in --json streams).
   */
  visible: string;
  /** Engine events from `--event-log`. */
  events: EngineEvent[];
}

export interface EngineEvent {
  resourcePreEvent?: {
    metadata: { op: string; urn: string; type: string; new?: { inputs?: Record<string, unknown> } };
  };
  resOutputsEvent?: {
    metadata: { op: string; urn: string; type: string; new?: { outputs?: Record<string, unknown> } };
  };
  resOpFailedEvent?: { metadata: { op: string; urn: string } };
  diagnosticEvent?: { message: string; severity: string; urn?: string };
  policyEvent?: { message: string; policyName: string; enforcementLevel: string; resourceUrn?: string };
  summaryEvent?: { result?: string; resourceChanges?: Record<string, number> };
}

export interface StackOptions {
  /** Folder with Pulumi.yaml. */
  projectDir: string;
  stackName?: string;
  /** Extra environment for every command (KEYROTATION_NOW, ...). */
  env?: Record<string, string>;
}

/** One stack of one project on a throwaway local backend. */
export class TestStack {
  readonly workDir: string;
  readonly backendDir: string;
  readonly configFile: string;
  readonly stackName: string;
  env: Record<string, string>;
  private running?: ReturnType<typeof spawn>;

  constructor(readonly options: StackOptions) {
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-e2e-"));
    this.backendDir = path.join(this.workDir, "backend");
    fs.mkdirSync(this.backendDir);
    this.stackName = options.stackName ?? "e2e";
    this.configFile = path.join(this.workDir, `Pulumi.${this.stackName}.yaml`);
    this.env = { ...(options.env ?? {}) };
  }

  baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const bin = pulumiBinDir();
    return {
      ...process.env,
      ...emulatorEnv(emulator().endpoint),
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
      PULUMI_HOME: path.join(this.workDir, "home"),
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      NO_COLOR: "1",
      // Streams preview events as JSON lines too (`--json`).
      PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true",
      // The type-check is `npm run lint`'s job; here it would only slow every program run.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      ...this.env,
      ...extra,
    };
  }

  /**
   * Runs `pulumi <args>` in the project folder; never throws for a non-zero exit. `up`, `preview`,
   * `refresh` and `destroy` run with `--json`, which streams engine events, one JSON object a line.
   */
  async run(args: string[], extraEnv: Record<string, string> = {}, json = true): Promise<RunResult> {
    const wantsEvents = json && ["up", "preview", "refresh", "destroy"].includes(args[0]);
    const fullArgs = [...args, ...(wantsEvents ? ["--json"] : [])];
    // In a process group of its own, so that `kill()` can end the whole deployment (as a CI
    // runner killing a job does) without touching the test process.
    const child = spawn("pulumi", fullArgs, {
      cwd: this.options.projectDir,
      env: this.baseEnv(extraEnv),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.running = child;
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
    this.running = undefined;
    let events: EngineEvent[] = [];
    let visible = `${stdout}\n${stderr}`;
    if (wantsEvents) {
      const lines = stdout.split("\n").filter((l) => l.startsWith("{"));
      events = lines.map((l) => JSON.parse(l) as EngineEvent);
      visible = `${lines.filter((_l, i) => events[i].diagnosticEvent?.severity !== "debug").join("\n")}\n${stderr}`;
    }
    return { code, stdout, stderr, visible, events };
  }

  /** The pid of the running `pulumi` command, if one runs (for benchmarks that sample its processes). */
  get runningPid(): number | undefined {
    return this.running?.pid;
  }

  /**
   * SIGKILLs the running deployment: the CLI's process group, and every process working in the
   * project folder (the language host, the program and the dynamic-provider hosts, which the CLI
   * starts in process groups of their own and which would otherwise go on with their calls).
   * The project folder must be one of the test's own (never the repository).
   */
  kill(): void {
    const pid = this.running?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (path.resolve(this.options.projectDir) === REPO_ROOT) return;
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      let cwd: string;
      try {
        cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        continue;
      }
      if (cwd === this.options.projectDir || cwd.startsWith(`${this.options.projectDir}/`)) {
        try {
          process.kill(Number(entry), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }

  /** Like `run`, but throws with the output when the command fails. */
  async ok(args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
    const result = await this.run(args, extraEnv);
    if (result.code !== 0) {
      throw new Error(`pulumi ${args.join(" ")} exited with ${result.code}\n${result.visible}`);
    }
    return result;
  }

  private configArgs(): string[] {
    return ["--stack", this.stackName, "--config-file", this.configFile];
  }

  async init(): Promise<void> {
    await this.ok(["stack", "init", this.stackName, "--non-interactive"]);
    if (!fs.existsSync(this.configFile)) fs.writeFileSync(this.configFile, "config: {}\n");
  }

  async setConfig(
    key: string,
    value: string,
    opts: { path?: boolean; secret?: boolean } = {},
  ): Promise<void> {
    await this.ok([
      "config",
      "set",
      ...(opts.path ? ["--path"] : []),
      ...(opts.secret ? ["--secret"] : ["--plaintext"]),
      key,
      value,
      ...this.configArgs(),
    ]);
  }

  /**
   * `pulumi up --yes`. The preview phase is skipped (tests preview separately) unless a policy
   * pack is given: stack policies run after the changes when there is no preview.
   */
  up(extra: string[] = [], env: Record<string, string> = {}, json = true) {
    const skip = extra.includes("--policy-pack") ? [] : ["--skip-preview"];
    return this.run(["up", "--yes", ...skip, "--non-interactive", ...extra, ...this.configArgs()], env, json);
  }

  preview(extra: string[] = [], env: Record<string, string> = {}) {
    return this.run(["preview", "--non-interactive", ...extra, ...this.configArgs()], env);
  }

  refresh(env: Record<string, string> = {}, json = true) {
    return this.run(
      ["refresh", "--yes", "--skip-preview", "--non-interactive", ...this.configArgs()],
      env,
      json,
    );
  }

  destroy(env: Record<string, string> = {}, json = true) {
    return this.run(
      ["destroy", "--yes", "--skip-preview", "--non-interactive", ...this.configArgs()],
      env,
      json,
    );
  }

  async outputs(showSecrets = false): Promise<Record<string, unknown>> {
    const r = await this.ok([
      "stack",
      "output",
      "--json",
      ...(showSecrets ? ["--show-secrets"] : []),
      "--stack",
      this.stackName,
    ]);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  /** The exported state, as text (for secret checks) and parsed. */
  async exportState(): Promise<{
    text: string;
    resources: {
      urn: string;
      type: string;
      id?: string;
      outputs?: Record<string, unknown>;
      dependencies?: string[];
    }[];
  }> {
    const r = await this.ok(["stack", "export", "--stack", this.stackName]);
    const parsed = JSON.parse(r.stdout) as {
      deployment: {
        resources?: {
          urn: string;
          type: string;
          id?: string;
          outputs?: Record<string, unknown>;
          dependencies?: string[];
        }[];
      };
    };
    return { text: r.stdout, resources: parsed.deployment.resources ?? [] };
  }

  async remove(): Promise<void> {
    await this.run(["stack", "rm", "--yes", "--force", this.stackName]);
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** The (urn, op) pairs of the steps an operation planned or performed, without `same` and reads. */
export function steps(events: EngineEvent[]): string[] {
  return events
    .map((e) => e.resourcePreEvent?.metadata)
    .filter(
      (m): m is NonNullable<typeof m> =>
        m !== undefined &&
        m.type !== "pulumi:pulumi:Stack" &&
        m.op !== "same" &&
        m.op !== "read" &&
        m.op !== "refresh",
    )
    .map((m) => `${m.op} ${m.urn.split("::").pop()}`)
    .sort();
}

export function diagnostics(events: EngineEvent[]): string[] {
  return events.map((e) => e.diagnosticEvent?.message).filter((m): m is string => m !== undefined);
}
