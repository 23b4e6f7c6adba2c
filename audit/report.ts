/**
 * The IAM credential report: fetching it (generate when absent or expired, poll with backoff while
 * it is being generated) and reading its access-key columns with csv-parse.
 *
 * The report has one row per user and two key slots per row; it has no access key ids. AWS
 * regenerates it at most every 4 hours, so it can be that old.
 */
import * as iam from "@aws-sdk/client-iam";
import { parse } from "csv-parse/sync";
import { KeyRotationError } from "../core/errors";
import { AuditKey, isoSeconds } from "./verdict";

/** The two calls the report needs; `reportPort(client)` adapts an IAM client. */
export interface CredentialReportPort {
  generate(): Promise<{ State?: string }>;
  get(): Promise<{ Content?: Uint8Array; GeneratedTime?: Date; ReportFormat?: string }>;
}

export function reportPort(client: iam.IAMClient): CredentialReportPort {
  return {
    generate: () => client.send(new iam.GenerateCredentialReportCommand({})),
    get: () => client.send(new iam.GetCredentialReportCommand({})),
  };
}

export interface FetchReportOptions {
  /** Give up after this long while the report is being generated. */
  timeoutMs: number;
  /** First wait between polls; doubles up to `maxDelayMs`. Default 250 ms. */
  initialDelayMs?: number;
  /** Default 5,000 ms. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  clock?: () => number;
}

export interface FetchedReport {
  content: string;
  /** When AWS generated the report; `undefined` if the answer lacks it. */
  generatedTime: Date | undefined;
  /** Whether this run asked IAM to generate it. */
  generated: boolean;
  /** What happened, in order: `present`, `absent`, `expired`, `STARTED`, `INPROGRESS`, `COMPLETE`, `not-ready`, `limit`. */
  trace: string[];
}

/** The credential report is still being generated after the allowed time. */
export class ReportTimeoutError extends KeyRotationError {
  constructor(readonly waitedMs: number) {
    super(
      `The IAM credential report was still being generated after ${Math.round(waitedMs / 1000)} s. ` +
        `Run the audit again later, raise --report-timeout-seconds, or use --source live.`,
    );
    this.name = "ReportTimeoutError";
  }
}

/** The report's content is not the CSV the audit can read. */
export class ReportFormatError extends KeyRotationError {
  constructor(message: string) {
    super(message);
    this.name = "ReportFormatError";
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function decode(out: { Content?: Uint8Array; ReportFormat?: string }): string {
  if (out.ReportFormat && out.ReportFormat !== "text/csv") {
    throw new ReportFormatError(
      `The credential report came as ${out.ReportFormat}, not text/csv. Use --source live.`,
    );
  }
  return Buffer.from(out.Content ?? new Uint8Array()).toString("utf8");
}

/**
 * Gets the credential report. When none is present or it has expired, asks IAM to generate one
 * and polls GenerateCredentialReport with exponential backoff until it is COMPLETE (a report that
 * is not ready yet, or IAM's limit on concurrent generations, just means: wait and ask again).
 */
export async function fetchCredentialReport(
  port: CredentialReportPort,
  options: FetchReportOptions,
): Promise<FetchedReport> {
  const sleep = options.sleep ?? realSleep;
  const clock = options.clock ?? Date.now;
  const trace: string[] = [];
  const start = clock();
  try {
    const out = await port.get();
    trace.push("present");
    return { content: decode(out), generatedTime: out.GeneratedTime, generated: false, trace };
  } catch (err) {
    if (err instanceof iam.CredentialReportNotPresentException) trace.push("absent");
    else if (err instanceof iam.CredentialReportExpiredException) trace.push("expired");
    else if (err instanceof iam.CredentialReportNotReadyException) trace.push("not-ready");
    else throw err;
  }
  let delay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  for (;;) {
    let state: string;
    try {
      state = (await port.generate()).State ?? "COMPLETE";
    } catch (err) {
      if (!(err instanceof iam.ReportGenerationLimitExceededException)) throw err;
      state = "limit";
    }
    trace.push(state);
    if (state === "COMPLETE") {
      try {
        const out = await port.get();
        return { content: decode(out), generatedTime: out.GeneratedTime, generated: true, trace };
      } catch (err) {
        if (err instanceof iam.CredentialReportNotReadyException) trace.push("not-ready");
        else if (err instanceof iam.CredentialReportNotPresentException) trace.push("absent");
        else if (err instanceof iam.CredentialReportExpiredException) trace.push("expired");
        else throw err;
      }
    }
    const waited = clock() - start;
    if (waited + delay > options.timeoutMs) throw new ReportTimeoutError(waited);
    await sleep(delay);
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** One user's row of the credential report, reduced to what the audit needs. */
export interface ReportUser {
  userName: string;
  arn: string;
  /** IAM path, derived from the ARN (`/` by default). */
  path: string;
  keys: AuditKey[];
}

const REQUIRED_COLUMNS = ["user", "arn"].concat(
  ...[1, 2].map((n) =>
    ["active", "last_rotated", "last_used_date", "last_used_region", "last_used_service"].map(
      (c) => `access_key_${n}_${c}`,
    ),
  ),
);

/** `N/A`, `no_information`, `not_supported` and empty cells mean "no value". */
export function reportValue(cell: string | undefined): string | null {
  const value = (cell ?? "").trim();
  if (value === "" || /^(n\/a|no_information|not_supported)$/i.test(value)) return null;
  return value;
}

function reportDate(cell: string | undefined, column: string, user: string): string | null {
  const value = reportValue(cell);
  if (value === null) return null;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw new ReportFormatError(
      `The credential report has "${value}" in ${column} of user ${user}, not a date.`,
    );
  }
  return isoSeconds(at);
}

/** The IAM path in a user ARN: `arn:aws:iam::1:user/teams/a/alice` -> `/teams/a/`. */
export function pathFromArn(arn: string): string {
  const resource = arn.split(":").slice(5).join(":");
  if (!resource.startsWith("user/")) return "/";
  const rest = resource.slice("user".length);
  return rest.slice(0, rest.lastIndexOf("/") + 1) || "/";
}

/**
 * Parses the report's CSV. The root account's row is skipped (root keys cannot be listed per
 * user; IAM reports them separately). A slot whose last-rotated date is `N/A` holds no key.
 */
export function parseCredentialReport(csv: string): ReportUser[] {
  let rows: Record<string, string>[];
  try {
    rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (err) {
    throw new ReportFormatError(`The credential report is not valid CSV: ${(err as Error).message}`);
  }
  const header = rows.length > 0 ? Object.keys(rows[0]) : [];
  const missing = rows.length > 0 ? REQUIRED_COLUMNS.filter((c) => !header.includes(c)) : [];
  if (missing.length > 0) {
    throw new ReportFormatError(
      `The credential report lacks the column(s) ${missing.join(", ")}. Use --source live.`,
    );
  }
  const users: ReportUser[] = [];
  for (const row of rows) {
    const userName = row.user;
    if (!userName || userName === "<root_account>") continue;
    const keys: AuditKey[] = [];
    for (const n of [1, 2]) {
      const col = (c: string) => `access_key_${n}_${c}`;
      const createDate = reportDate(row[col("last_rotated")], col("last_rotated"), userName);
      if (createDate === null) continue;
      keys.push({
        userName,
        accessKeyId: null,
        status: /^true$/i.test(row[col("active")] ?? "") ? "Active" : "Inactive",
        createDate,
        lastUsedDate: reportDate(row[col("last_used_date")], col("last_used_date"), userName),
        lastUsedService: reportValue(row[col("last_used_service")]),
        lastUsedRegion: reportValue(row[col("last_used_region")]),
        lastUsedRead: true,
        source: "report",
      });
    }
    users.push({ userName, arn: row.arn, path: pathFromArn(row.arn), keys });
  }
  return users;
}
