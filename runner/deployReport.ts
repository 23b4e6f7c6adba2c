/**
 * `pulumi-aws-key-rotation deploy-report --event-log FILE`: what a scheduled `pulumi up` of the
 * ready project did, for the scheduler. It reads the engine's event log (`pulumi up --event-log
 * FILE`, one JSON event a line) and, optionally, the CLI's own output (`--output FILE`, for
 * failures before the engine starts: a locked stack, a backend that cannot be reached), then
 *
 * - prints one annotation per thing a person should see: each error (a refused deploy, a failed
 *   step), each retirement that waits on a key still in use (the component's info line "...
 *   waits: <key> was used ..."), each other warning of the rotation's resources,
 *   each policy violation; in GitHub Actions' workflow-command form (`::error title=...::...`,
 *   the default) or as plain lines (`--format text`, for other CI systems);
 * - exits with the code of core/exitCodes.ts that the errors' kind gives (runner/classify.ts, the
 *   runner's own classification): 0 converged (warnings do not fail), 1 a person must act, 3 an
 *   account could not be reached, 4 try again (throttling, a network fault, a timeout), 5 another
 *   failure (read the log), 2 bad usage of this command.
 *
 * The annotations carry the engine's messages, which name users, key ids, dates and fixes and
 * never a secret (the provider's messages are written so; the event log holds secrets only as
 * `[secret]`).
 */
import * as fs from "fs";
import { parseArgs } from "util";
import { EXIT_CODES } from "../core/exitCodes";
import { classifyFailure, exitCodeOf, FailureKind } from "./classify";

/** The parts of an engine event this command reads (the event log has many more). */
export interface LoggedEvent {
  diagnosticEvent?: { message?: string; severity?: string; urn?: string; prefix?: string };
  policyEvent?: {
    message?: string;
    policyName?: string;
    policyPackName?: string;
    enforcementLevel?: string;
    resourceUrn?: string;
  };
  summaryEvent?: { resourceChanges?: Record<string, number> };
  cancelEvent?: Record<string, unknown>;
}

export type Level = "error" | "warning";

export interface Annotation {
  level: Level;
  title: string;
  message: string;
  /** Set for errors: what kind of failure the message shows. */
  kind?: FailureKind;
}

export interface DeployReport {
  annotations: Annotation[];
  /** Whether the engine finished (the log has its summary event). */
  finished: boolean;
  exitCode: number;
}

/** The engine's colour directives (`<{%reset%}>`) and terminal escapes, removed. */
export function plainText(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/<\{%[^%]*%\}>/g, "").replace(/\x1b\[[0-9;]*m/g, "");
}

/** The events of an event log's text; lines that are not JSON objects are skipped. */
export function parseEventLog(text: string): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      events.push(JSON.parse(trimmed) as LoggedEvent);
    } catch {
      // A line cut off by a killed CLI: the rest of the log still counts.
    }
  }
  return events;
}

const KIND_TITLE: Record<FailureKind, string> = {
  "action-needed": "Deploy refused (a person must act)",
  unreachable: "Account unreachable",
  retry: "Deploy failed (transient: try again)",
  failed: "Deploy failed",
};

const EXIT_MEANING: Record<number, string> = {
  [EXIT_CODES.ok]: "converged",
  [EXIT_CODES.actionNeeded]: "a person must act",
  [EXIT_CODES.unreachable]: "an account could not be reached",
  [EXIT_CODES.retry]: "try again",
  [EXIT_CODES.failed]: "another failure: read the log",
};

/** The IAM user and the first access key id a message names: `alice AKIA...`, for titles. */
export function subjectOf(message: string, urn?: string): string {
  const user = /IAM user "([^"]+)"/.exec(message)?.[1] ?? /user "([^"]+)"/.exec(message)?.[1];
  const resource = urn ? urn.split("::").pop() : undefined;
  const key = /\b(A[KS]IA[A-Z0-9]{12,124})\b/.exec(message)?.[1];
  return [user ?? resource, key].filter((x): x is string => Boolean(x)).join(" ");
}

function titled(base: string, subject: string): string {
  return subject ? `${base}: ${subject}` : base;
}

/**
 * The engine's generic closing errors ("update failed", a summary of the failed resources) say
 * nothing the specific errors before them do not; they count only when nothing else failed.
 */
function isGeneric(message: string): boolean {
  return /^(update failed|preview failed|destroy failed|refresh failed)\s*$/i.test(message.trim());
}

/**
 * Lines of the CLI's own output that report an error (`error: ...`), for failures before the engine.
 * The Node SDK's note on a log message it could not deliver (the engine had already stopped after
 * an error) is skipped: its `error: Error: Channel has been shut down` line is a consequence of
 * that first error, and the note runs from `failed to deliver log message.` to `message severity:`.
 */
export function outputErrors(text: string): string[] {
  const errors: string[] = [];
  let undelivered = false;
  const lines = plainText(text)
    .split("\n")
    .map((x) => x.trim());
  for (const l of lines) {
    if (/^failed to deliver log message\.$/.test(l)) undelivered = true;
    else if (undelivered) {
      if (/^message severity:/.test(l)) undelivered = false;
    } else if (/^error:/i.test(l)) errors.push(l.replace(/^error:\s*/i, ""));
  }
  return errors;
}

/**
 * What a deploy's event log (and the CLI's output, if given) report: annotations and the exit
 * code. Pure. `log` is undefined when there is no event log (the engine never started).
 */
export function reportDeploy(log: string | undefined, output?: string): DeployReport {
  const events = log === undefined ? [] : parseEventLog(log);
  const annotations: Annotation[] = [];
  const seen = new Set<string>();
  const generic: string[] = [];
  const add = (a: Annotation) => {
    const key = `${a.level}\n${a.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    annotations.push(a);
  };
  for (const event of events) {
    const d = event.diagnosticEvent;
    if (d?.message && ["error", "warning", "info"].includes(d.severity ?? "")) {
      const message = plainText(d.message).trim();
      if (!message) continue;
      // The component reports what each deploy decided at info level; a retirement that waits
      // on a key still in use is one a person should see.
      if (d.severity === "info" && !(/[:$]keyrotation:/.test(d.urn ?? "") && /\bwaits: /.test(message)))
        continue;
      if (d.severity === "error") {
        if (isGeneric(message)) {
          generic.push(message);
          continue;
        }
        const kind = classifyFailure(message);
        add({ level: "error", kind, title: titled(KIND_TITLE[kind], subjectOf(message, d.urn)), message });
      } else {
        // The rotation's own warnings (its resources' URNs); the engine's notes on the program
        // ("Undefined value ... will not show as a stack output") are not a person's business.
        if (!/[:$]keyrotation:/.test(d.urn ?? "")) continue;
        const waits = /\bwaits: /.test(message);
        const base = waits ? "Key retirement waits" : "Rotation warning";
        add({ level: "warning", title: titled(base, subjectOf(message, d.urn)), message });
      }
    }
    const p = event.policyEvent;
    if (p?.message) {
      const message = plainText(p.message).trim();
      const mandatory = p.enforcementLevel === "mandatory";
      const title = titled(
        `Policy ${mandatory ? "violation" : "advisory"} (${p.policyPackName ?? "policy pack"}/${p.policyName ?? "policy"})`,
        subjectOf(message, p.resourceUrn),
      );
      add(
        mandatory
          ? { level: "error", kind: "action-needed", title, message }
          : { level: "warning", title, message },
      );
    }
  }
  const finished = events.some((e) => e.summaryEvent !== undefined);
  for (const line of output === undefined ? [] : outputErrors(output)) {
    // The CLI repeats the engine's errors in its output; only the ones the log lacks are new.
    if (annotations.some((a) => a.level === "error" && a.message.includes(line)) || isGeneric(line)) continue;
    const kind = classifyFailure(line);
    add({ level: "error", kind, title: titled(KIND_TITLE[kind], subjectOf(line)), message: line });
  }
  let kinds = annotations.filter((a) => a.level === "error").map((a) => a.kind ?? "failed");
  if (kinds.length === 0 && generic.length > 0) {
    add({ level: "error", kind: "failed", title: KIND_TITLE.failed, message: generic[0] });
    kinds = ["failed"];
  }
  if (kinds.length === 0 && !finished) {
    const message =
      log === undefined
        ? "No engine event log: pulumi up failed before the engine started. Read its output (a login, a state backend or a locked stack: pulumi cancel --yes after an interrupted deploy)."
        : "The engine's event log ends without a summary: the deploy was interrupted. Run it again; after a killed deploy, pulumi cancel --yes first if the stack is locked.";
    add({ level: "error", kind: "failed", title: KIND_TITLE.failed, message });
    kinds = ["failed"];
  }
  return { annotations, finished, exitCode: exitCodeOf(kinds) };
}

/** A GitHub Actions workflow command's data (`%`, CR, LF escaped). */
export function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** A workflow command's property value (also `:` and `,`). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export type ReportFormat = "github" | "text";

export function renderReport(report: DeployReport, format: ReportFormat): string {
  const lines = report.annotations.map((a) =>
    format === "github"
      ? `::${a.level} title=${escapeProperty(a.title)}::${escapeData(a.message)}`
      : `${a.level}: ${a.title}: ${a.message.replace(/\r?\n/g, " ")}`,
  );
  if (report.exitCode !== EXIT_CODES.ok) {
    const meaning = `exit ${report.exitCode}: ${EXIT_MEANING[report.exitCode] ?? "failed"}`;
    lines.push(
      format === "github" ? `::notice title=deploy-report::${meaning}` : `deploy-report: ${meaning}`,
    );
  }
  return lines.map((l) => `${l}\n`).join("");
}

export const DEPLOY_REPORT_USAGE = `Usage: pulumi-aws-key-rotation deploy-report --event-log FILE [--output FILE] [--format github|text]

Reads the engine's event log of a pulumi up (pulumi up --event-log FILE) of the ready project and
prints an annotation for each refused deploy, failed step, retirement that waits on a key still in
use, rotation warning and policy violation (GitHub Actions workflow commands by default; --format
text for other CI systems). --output FILE adds the CLI's own output (pulumi up ... 2>&1 | tee FILE),
for failures before the engine starts. Exit code: 0 converged, 1 a person must act, 3 an account
could not be reached, 4 try again (throttling, a network fault), 5 another failure, 2 bad usage.
`;

export interface DeployReportIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

function readOptional(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Runs the command; returns the exit code. */
export function deployReportCommand(argv: readonly string[], io: DeployReportIo): number {
  let values: { "event-log"?: string; output?: string; format?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        "event-log": { type: "string" },
        output: { type: "string" },
        format: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\nRun with --help for the options.\n`);
    return EXIT_CODES.usage;
  }
  if (values.help) {
    io.stdout.write(DEPLOY_REPORT_USAGE);
    return EXIT_CODES.ok;
  }
  const file = values["event-log"];
  if (file === undefined) {
    io.stderr.write("error: --event-log FILE is required: the file pulumi up --event-log FILE wrote.\n");
    return EXIT_CODES.usage;
  }
  const format = values.format ?? "github";
  if (format !== "github" && format !== "text") {
    io.stderr.write(`error: --format must be github or text, not "${format}".\n`);
    return EXIT_CODES.usage;
  }
  let log: string | undefined;
  let output: string | undefined;
  try {
    log = readOptional(file);
    output = readOptional(values.output);
  } catch (err) {
    io.stderr.write(`error: cannot read ${file}: ${(err as Error).message}\n`);
    return EXIT_CODES.usage;
  }
  const report = reportDeploy(log, output);
  if (log === undefined) {
    report.annotations = report.annotations.map((a) =>
      a.message.startsWith("No engine event log")
        ? { ...a, message: a.message.replace("No engine event log", `No engine event log at ${file}`) }
        : a,
    );
  }
  io.stdout.write(renderReport(report, format));
  return report.exitCode;
}
