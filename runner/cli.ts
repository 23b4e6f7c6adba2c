/**
 * `pulumi-aws-key-rotation run`: the ready project over many small stacks (see runner/run.ts).
 * Results go to stdout (a table, or JSON with --json); progress goes to stderr on a terminal.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { parse as parseYaml } from "yaml";
import { EXIT_CODES } from "../core/exitCodes";
import { readRunnerConfig, RunnerUsageError } from "./plan";
import { Operation, PROJECT_NAME, RunResult, runStacks } from "./run";

/** Chosen from `npm run bench:stack -- --sharded` (README, "Larger estates"). */
export const DEFAULT_MAX_USERS_PER_STACK = 100;
export const DEFAULT_PARALLEL = 4;

export const RUN_USAGE = `Usage: pulumi-aws-key-rotation run [preview|up] --config FILE --stack-prefix PREFIX [options]

Runs the ready project's program over many small stacks with the Automation API: the users of
the config file are split into stacks of at most --max-users-per-stack users (each account its
own stacks; a user stays in the stack that holds it), on the backend of PULUMI_BACKEND_URL (or
the one pulumi login chose). Default operation: up.

Options:
  --config FILE                 YAML with the config: map of a Pulumi.<stack>.yaml (aws-key-rotation:* keys,
                                the users or accounts form; other keys such as keyrotation:region go to every stack)
  --stack-prefix PREFIX         Stacks are named PREFIX-<default|account id>-<n>; a stack named PREFIX or
                                PREFIX-... that already holds users keeps them
  --max-users-per-stack N       1-1000 (default ${DEFAULT_MAX_USERS_PER_STACK})
  --parallel N                  Stacks deployed at once, 1-32 (default ${DEFAULT_PARALLEL})
  --policy-pack DIR             Run the policy pack on every stack (repeatable)
  --project NAME                Pulumi project name (default ${PROJECT_NAME}, the ready project's)
  --json                        Print the summary as JSON
  -h, --help                    Show this help

Exit codes: 0 every stack succeeded; 1 a person must act (a refusal, bad settings, a locked stack);
2 bad usage; 3 an account's role could not be assumed; 4 try again (throttling, network, timeouts);
5 another failure (read the log). With several kinds, 1 wins over 5, 5 over 3, 3 over 4.
`;

export interface RunCliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

function integer(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new RunnerUsageError(`--${flag} must be a whole number from ${min} to ${max}; got "${value}".`);
  }
  return Number(value);
}

/** The summary table: one line per stack. */
export function renderSummary(result: RunResult, operation: Operation): string {
  const rows = result.stacks.map((s) => [
    s.name,
    String(s.users),
    s.status === "succeeded" ? s.status : `failed (${s.kind})`,
    Object.entries(s.changes)
      .map(([op, n]) => `${op} ${n}`)
      .join(", ") || (s.status === "succeeded" ? "no changes" : "-"),
    s.waits.length === 0 ? "-" : `${s.waits.length}: ${firstLine(s.waits[0])}`,
  ]);
  const header = ["stack", "users", "result", operation === "preview" ? "planned" : "changed", "waits"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min(r[i].length, 60))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const s of result.stacks.filter((x) => x.status === "failed")) {
    out.push("", `${s.name} failed (${s.kind}):`, ...s.errors.map((e) => `  ${e.replace(/\n/g, "\n  ")}`));
  }
  const failed = result.stacks.filter((s) => s.status === "failed").length;
  out.push(
    "",
    `${result.stacks.length} stack(s), ${result.stacks.length - failed} succeeded, ${failed} failed; exit code ${result.exitCode}.`,
  );
  if (result.plan.untouched.length > 0) {
    out.push(
      `Stacks of the prefix that hold none of these users, left as they are: ${result.plan.untouched.join(", ")}.`,
    );
  }
  return `${out.join("\n")}\n`;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0];
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** Runs the command; returns the exit code. */
export async function runCommand(argv: readonly string[], io: RunCliIo): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: "string" },
        "stack-prefix": { type: "string" },
        "max-users-per-stack": { type: "string" },
        parallel: { type: "string" },
        "policy-pack": { type: "string", multiple: true },
        project: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\nRun with --help for the options.\n`);
    return EXIT_CODES.usage;
  }
  if (values.help) {
    io.stdout.write(RUN_USAGE);
    return EXIT_CODES.ok;
  }
  try {
    if (
      positionals.length > 1 ||
      (positionals[0] !== undefined && !["preview", "up"].includes(positionals[0]))
    ) {
      throw new RunnerUsageError(`run takes one operation, preview or up; got "${positionals.join(" ")}".`);
    }
    const operation = (positionals[0] ?? "up") as Operation;
    if (typeof values.config !== "string")
      throw new RunnerUsageError("--config FILE is required: the stack config to run.");
    if (typeof values["stack-prefix"] !== "string") {
      throw new RunnerUsageError(
        "--stack-prefix PREFIX is required: the runner's stacks are named PREFIX-<scope>-<n>.",
      );
    }
    const file = values.config;
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new RunnerUsageError(`--config ${file} cannot be read: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new RunnerUsageError(`--config ${file} is not YAML: ${(err as Error).message}`);
    }
    const config = readRunnerConfig(parsed, file);
    const policyPacks = ((values["policy-pack"] as string[] | undefined) ?? []).map((p) => path.resolve(p));
    for (const pack of policyPacks) {
      if (!fs.existsSync(path.join(pack, "PulumiPolicy.yaml"))) {
        throw new RunnerUsageError(
          `--policy-pack ${pack} has no PulumiPolicy.yaml: give the folder of a policy pack.`,
        );
      }
    }
    const env = Object.fromEntries(
      Object.entries(io.env).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    const interactive = io.stderr.isTTY === true;
    const result = await runStacks({
      operation,
      config,
      prefix: values["stack-prefix"],
      maxUsersPerStack: integer(
        "max-users-per-stack",
        values["max-users-per-stack"] as string | undefined,
        1,
        1000,
        DEFAULT_MAX_USERS_PER_STACK,
      ),
      parallel: integer("parallel", values.parallel as string | undefined, 1, 32, DEFAULT_PARALLEL),
      policyPacks,
      project: (values.project as string | undefined) ?? PROJECT_NAME,
      env,
      onProgress: (line) => {
        if (interactive) io.stderr.write(`${line}\n`);
      },
    });
    io.stdout.write(
      values.json
        ? `${JSON.stringify({ operation, exitCode: result.exitCode, stacks: result.stacks, untouched: result.plan.untouched }, null, 2)}\n`
        : renderSummary(result, operation),
    );
    return result.exitCode;
  } catch (err) {
    if (err instanceof RunnerUsageError || /^Invalid stack config:/.test((err as Error).message)) {
      io.stderr.write(`error: ${(err as Error).message}\n`);
      return EXIT_CODES.usage;
    }
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return EXIT_CODES.failed;
  }
}
