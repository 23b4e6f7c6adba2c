/**
 * The runner: the ready project's program over many small stacks, with Pulumi's Automation API
 * and an inline program (no language host). It reads which users each existing stack holds from
 * the stacks' own state, plans the stacks (`planRun`), sets each stack's config, and runs
 * `preview` or `up` on them with bounded concurrency. One stack's failure never stops the others.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as auto from "@pulumi/pulumi/automation";
import { readyProgram } from "../components/readyProject";
import { ROTATING_ACCESS_KEY_TOKEN } from "../core/tokens";
import { EXIT_CODES } from "../core/exitCodes";
import { planRun, PlannedStack, RunnerConfig, RunPlan } from "./plan";
import { classifyFailure, FailureKind, exitCodeOf } from "./classify";

/** The ready project's name (root Pulumi.yaml): stacks deployed by hand from it can be taken over. */
export const PROJECT_NAME = "aws-key-rotation";

export type Operation = "preview" | "up";

export interface RunOptions {
  operation: Operation;
  config: RunnerConfig;
  prefix: string;
  maxUsersPerStack: number;
  parallel: number;
  policyPacks: string[];
  project: string;
  /** Environment for the CLI (PULUMI_BACKEND_URL, passphrase, AWS settings). */
  env: Record<string, string>;
  onProgress?: (line: string) => void;
}

export interface StackResult {
  name: string;
  scope: string;
  users: number;
  isNew: boolean;
  status: "succeeded" | "failed";
  /** Planned (preview) or made (up) changes by operation, `same` left out. */
  changes: Record<string, number>;
  /** Warnings of the deploy: a retirement that waits on a use, a key near its limit, ... */
  waits: string[];
  /** The deploy's errors (never a secret: the provider's messages carry ids and numbers). */
  errors: string[];
  kind?: FailureKind;
  seconds: number;
}

export interface RunResult {
  plan: RunPlan;
  stacks: StackResult[];
  exitCode: number;
}

/** The folder holding provider/PulumiPlugin.yaml: the package root, from the build or the sources. */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "provider", "PulumiPlugin.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`provider/PulumiPlugin.yaml not found above ${from}`);
  }
}

function projectSettings(project: string): auto.ProjectSettings {
  return {
    name: project,
    runtime: "nodejs",
    // The keyrotation provider plugin, run from this package (the inline program's server reports
    // no packages, so the plugin is declared here).
    plugins: { providers: [{ name: "keyrotation", path: path.join(packageRoot(), "provider") }] },
  } as auto.ProjectSettings;
}

/** Runs `tasks` with at most `limit` at once; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What a worker needs of the run's options. */
export type WorkerOptions = Pick<RunOptions, "operation" | "policyPacks" | "project" | "env">;

function workspaceOptions(options: Pick<RunOptions, "project" | "env">): auto.LocalWorkspaceOptions {
  return { projectSettings: projectSettings(options.project), envVars: options.env };
}

/** The stacks of the project named `<prefix>` or `<prefix>-...`, with the component names each state holds. */
export async function existingStacks(options: RunOptions): Promise<Map<string, Set<string>>> {
  const ws = await auto.LocalWorkspace.create(workspaceOptions(options));
  const names = (await ws.listStacks())
    .map((s) => s.name.split("/").pop() as string)
    .filter((n) => n === options.prefix || n.startsWith(`${options.prefix}-`))
    .sort();
  const found = await pool(names, options.parallel, async (name) => {
    const deployment = await ws.exportStack(name);
    const resources =
      (deployment.deployment as { resources?: { type: string; urn: string }[] })?.resources ?? [];
    const users = resources
      .filter((r) => r.type === ROTATING_ACCESS_KEY_TOKEN)
      .map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2));
    return [name, new Set(users)] as const;
  });
  return new Map(found);
}

/** A config value as the CLI stores it: strings as they are, everything else as JSON. */
function configValue(value: unknown): auto.ConfigValue {
  return { value: typeof value === "string" ? value : JSON.stringify(value) };
}

function countChanges(changes: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(changes ?? {}).filter(([op, n]) => op !== "same" && n > 0));
}

/**
 * Deploys one stack in this process. The runner calls it in a worker process per stack
 * (runner/worker.ts): the Node SDK keeps parts of a program's state in process globals (the
 * stack resource, the runtime settings), so two inline programs running at once in one process
 * could see each other's; a worker per stack also keeps one stack's crash from ending the run.
 */
export async function runStackInProcess(planned: PlannedStack, options: WorkerOptions): Promise<StackResult> {
  const started = Date.now();
  const waits: string[] = [];
  const errors: string[] = [];
  const onEvent = (event: auto.EngineEvent) => {
    const d = event.diagnosticEvent;
    if (!d || d.ephemeral) return;
    const message = d.message.replace(/\s+$/, "");
    if (d.severity === "warning") waits.push(message);
    if (d.severity === "error" && !/^update failed$|^preview failed$/.test(message)) errors.push(message);
  };
  const base = {
    name: planned.name,
    scope: planned.scope,
    users: planned.users.length,
    isNew: planned.isNew,
  };
  try {
    const stack = await auto.LocalWorkspace.createOrSelectStack(
      { stackName: planned.name, projectName: options.project, program: async () => readyProgram() },
      workspaceOptions(options),
    );
    await stack.setAllConfig(
      Object.fromEntries(Object.entries(planned.config).map(([k, v]) => [k, configValue(v)])),
    );
    const common = {
      onEvent,
      color: "never" as const,
      ...(options.policyPacks.length > 0 ? { policyPacks: options.policyPacks } : {}),
    };
    let changes: Record<string, number>;
    if (options.operation === "preview") {
      const result = await stack.preview(common);
      changes = countChanges(result.changeSummary as Record<string, number>);
    } else {
      const result = await stack.up(common);
      changes = countChanges(result.summary.resourceChanges as Record<string, number> | undefined);
    }
    return { ...base, status: "succeeded", changes, waits, errors, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (errors.length === 0) errors.push(lastLines(text));
    return {
      ...base,
      status: "failed",
      changes: {},
      waits,
      errors,
      kind: classifyFailure([...errors, text].join("\n")),
      seconds: (Date.now() - started) / 1000,
    };
  }
}

/** The end of a CLI error, where the reason is. */
function lastLines(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^at /.test(l));
  return lines.slice(-3).join(" ");
}

/** The marker of the worker's result line on its stdout. */
export const RESULT_MARKER = "keyrotation-runner-result ";

/** Runs one stack in a worker process (`node runner/worker.js`); never throws. */
function runStackInWorker(planned: PlannedStack, options: RunOptions): Promise<StackResult> {
  const started = Date.now();
  const job: { planned: PlannedStack; options: WorkerOptions } = {
    planned,
    options: {
      operation: options.operation,
      policyPacks: options.policyPacks,
      project: options.project,
      env: options.env,
    },
  };
  const built = path.join(__dirname, "worker.js");
  const args = fs.existsSync(built)
    ? [built]
    : ["-r", "ts-node/register/transpile-only", path.join(__dirname, "worker.ts")];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(JSON.stringify(job));
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARKER));
      if (line) {
        resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as StackResult);
        return;
      }
      const errors = [
        `the worker for ${planned.name} exited with ${code} and no result: ${lastLines(stderr)}`,
      ];
      resolve({
        name: planned.name,
        scope: planned.scope,
        users: planned.users.length,
        isNew: planned.isNew,
        status: "failed",
        changes: {},
        waits: [],
        errors,
        kind: "failed",
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}

/** Plans and runs every stack. */
export async function runStacks(options: RunOptions): Promise<RunResult> {
  const progress = options.onProgress ?? (() => undefined);
  progress(`reading the stacks of ${options.project} named ${options.prefix}-*`);
  const existing = await existingStacks(options);
  const plan = planRun(options.config, {
    prefix: options.prefix,
    maxUsersPerStack: options.maxUsersPerStack,
    existing,
  });
  progress(
    `${plan.stacks.length} stack(s) for ${plan.stacks.reduce((n, s) => n + s.users.length, 0)} user(s); ${options.operation} with --parallel ${options.parallel}`,
  );
  let done = 0;
  const stacks = await pool(plan.stacks, options.parallel, async (planned) => {
    progress(
      `${planned.name}: ${options.operation} (${planned.users.length} users${planned.isNew ? ", new stack" : ""})`,
    );
    const result = await runStackInWorker(planned, options);
    done++;
    progress(
      `[${done}/${plan.stacks.length}] ${planned.name}: ${result.status}${result.kind ? ` (${result.kind})` : ""} in ${result.seconds.toFixed(1)} s`,
    );
    return result;
  });
  const failed = stacks.filter((s) => s.status === "failed");
  return {
    plan,
    stacks,
    exitCode: failed.length === 0 ? EXIT_CODES.ok : exitCodeOf(failed.map((s) => s.kind ?? "failed")),
  };
}
