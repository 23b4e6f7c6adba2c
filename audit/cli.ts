#!/usr/bin/env node
/**
 * `pulumi-aws-key-rotation audit`: the compliance rule's audit, automated.
 *
 * Exit codes: 0 compliant, 1 violations found, 2 bad usage or an AWS error (the message says what
 * failed and how to fix it). Results go to stdout; warnings, errors and progress (only on a
 * terminal) go to stderr. The command never reads or prints a secret access key.
 */
import * as fs from "fs";
import { parseArgs } from "util";
import * as iam from "@aws-sdk/client-iam";
import { now as clockNow } from "../core/clock";
import { Exemption, validateExemptions } from "../core/exemptions";
import {
  AuditOptions,
  checksSchedule,
  FAIL_ON,
  FailOn,
  LAST_USE_MODES,
  LastUse,
  runAudit,
  Source,
} from "./audit";
import { iamPolicyCommand } from "./iamPolicy";
import { AuditClientOptions, createAuditClient, explainAwsError } from "./client";
import { Format, FORMATS, render } from "./format";
import { createProgress, ProgressStream } from "./progress";
import { ReportFormatError, ReportTimeoutError } from "./report";
import { EXIT_CODES } from "../core/exitCodes";
import { EXTERNAL_ID_PATTERN } from "../core/connection";
import { renderOrganization } from "./format";
import {
  AccountEntry,
  AccountsFileError,
  auditOrganization,
  callerAccount,
  createOrganizationsClient,
  DEFAULT_AUDIT_ROLE_NAME,
  DEFAULT_PARALLEL,
  explainListAccountsError,
  ListedAccounts,
  listOrganizationAccounts,
  MAX_PARALLEL,
  PARENT_ID_PATTERN,
  readAccountsFile,
  ROLE_NAME_PATTERN,
} from "./organization";

export const EXIT_COMPLIANT = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_ERROR = 2;
/** Some accounts of an organization audit could not be reached; the others were audited. */
export const EXIT_UNREACHABLE = EXIT_CODES.unreachable;

export const USAGE = `Usage: pulumi-aws-key-rotation audit [options]
       pulumi-aws-key-rotation iam-policy --help
       pulumi-aws-key-rotation run --help      (the ready project over many stacks)
       pulumi-aws-key-rotation deploy-report --help   (annotations and exit code of a scheduled pulumi up)

Audits every IAM user's access keys against the rotation rule: Active keys older than
--max-age-days must be rotated. Exit code 0 compliant, 1 violations found, 2 bad usage or AWS error,
3 (many accounts) some accounts could not be reached: the others were audited, see the report.

Options:
  --max-age-days N            Active keys older than N days must be rotated (default 90)
  --unused-days N             Inactive keys unused for more than N days should be deleted (default 30)
  --user NAME                 Audit only this user; repeat or comma-separate for several
  --path-prefix PATH          Audit only users whose IAM path starts with PATH, e.g. /teams/
  --source auto|live|report   Where key facts come from (default auto; see docs/audit.md)
  --format table|json|csv     Output on stdout (default table)
  --exemptions FILE           JSON list of {accessKeyId or userName, reason, expires}
  --fail-on VERDICTS          Verdicts that fail the audit, comma-separated: rotate, delete,
                              rotation-stopped (default rotate; a weekly job: rotate,rotation-stopped)
  --check-schedule            Judge rotation-stopped: read the keyrotation:* tags of users with a key
                              it could apply to (implied by --fail-on rotation-stopped; not with
                              --source report)
  --profile NAME              AWS profile (default: the default credential chain)
  --region REGION             Signing region (default AWS_REGION, else us-east-1)
  --concurrency N             IAM calls in flight while listing live, 1-64 (default 16)
  --last-used needed|all      Live listing: read the last use of Inactive keys only, whose verdict
                              needs it (default; Active keys show "not read"), or of every key
  --page-size N               MaxItems per ListUsers/ListAccessKeys page, 1-1000 (default 1000/100)
  --report-max-age-hours H    auto uses a credential report at most H hours old (default 4)
  --report-timeout-seconds S  Wait at most S seconds for a report being generated (default 300)
  --max-attempts N            Attempts per IAM call on throttling/transient errors (default 8)

Many accounts (docs/accounts.md):
  --organization              Audit every active account of the AWS Organization (ListAccounts;
                              from the management or a delegated administrator account)
  --ou ID                     With --organization: only the accounts under this root or OU (r-..., ou-...)
  --accounts FILE             Audit the accounts listed in FILE (YAML or JSON: ids, or
                              { id, name, roleArn, externalId }) instead of listing them
  --role-name NAME            Role assumed in each account (default ${DEFAULT_AUDIT_ROLE_NAME}); the
                              credentials' own account is audited with them, without a role
  --external-id ID            External id for AssumeRole, when the roles' trust policy requires one
  --parallel N                Accounts audited at once, 1-${MAX_PARALLEL} (default ${DEFAULT_PARALLEL})
  -h, --help                  Show this help
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
  /** Makes the IAM client (tests add middleware here). */
  createClient?: (options: AuditClientOptions) => iam.IAMClient;
  /** Extra audit options (tests inject report states). */
  auditOverrides?: Partial<AuditOptions>;
}

/** How the accounts of a many-account audit are found, and how each is reached. */
export interface AccountsCommand {
  from: "organizations" | "file";
  parentId?: string;
  file?: string;
  roleName: string;
  externalId?: string;
  parallel: number;
}

export interface ParsedCommand {
  help: boolean;
  /** Set for --organization or --accounts FILE. */
  accounts?: AccountsCommand;
  format: Format;
  exemptionsFile?: string;
  client: AuditClientOptions;
  audit: Omit<AuditOptions, "now" | "exemptions">;
}

const USER_NAME = /^[\w+=,.@-]{1,64}$/;

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}".`);
  }
  return Number(value);
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} must be a number above 0, not "${value}".`);
  }
  return n;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, not "${value}".`);
  }
  return value as T;
}

/** Parses the command line (after the program name). Throws `UsageError`. */
export function parseCommand(argv: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        "max-age-days": { type: "string" },
        "unused-days": { type: "string" },
        user: { type: "string", multiple: true },
        "path-prefix": { type: "string" },
        source: { type: "string" },
        format: { type: "string" },
        exemptions: { type: "string" },
        "fail-on": { type: "string" },
        "check-schedule": { type: "boolean" },
        profile: { type: "string" },
        region: { type: "string" },
        concurrency: { type: "string" },
        "last-used": { type: "string" },
        "page-size": { type: "string" },
        "report-max-age-hours": { type: "string" },
        "report-timeout-seconds": { type: "string" },
        "max-attempts": { type: "string" },
        organization: { type: "boolean" },
        ou: { type: "string" },
        accounts: { type: "string" },
        "role-name": { type: "string" },
        "external-id": { type: "string" },
        parallel: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    return { help: true, format: "table", client: {}, audit: {} };
  }
  if (parsed.positionals.length === 0)
    throw new UsageError("Missing the command: pulumi-aws-key-rotation audit (or iam-policy).");
  if (parsed.positionals[0] !== "audit")
    throw new UsageError(`Unknown command "${parsed.positionals[0]}": use audit or iam-policy.`);
  if (parsed.positionals.length > 1) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[1]}" (name users with --user).`);
  }
  const users = (v.user ?? []).flatMap((u) => u.split(",")).map((u) => u.trim());
  for (const u of users) {
    if (!USER_NAME.test(u))
      throw new UsageError(`--user "${u}" is not an IAM user name (1-64 of A-Z a-z 0-9 +=,.@_-).`);
  }
  const pathPrefix = v["path-prefix"];
  if (pathPrefix !== undefined && !/^\/[\x21-\x7e]*$/.test(pathPrefix)) {
    throw new UsageError(`--path-prefix must start with "/", like /teams/ or /, not "${pathPrefix}".`);
  }
  const failOn =
    v["fail-on"] === undefined
      ? undefined
      : v["fail-on"].split(",").map((x) => oneOf<FailOn>("fail-on", x.trim(), FAIL_ON) as FailOn);
  const checkSchedule = v["check-schedule"] ? true : undefined;
  if (v.source === "report" && checksSchedule({ checkSchedule, failOn })) {
    throw new UsageError(
      `${checkSchedule ? "--check-schedule" : "--fail-on rotation-stopped"} needs key ids to match the rotation's key tags, ` +
        `which the credential report lacks: use --source auto or live.`,
    );
  }
  return {
    help: false,
    ...accountsCommand(v),
    format: oneOf("format", v.format, FORMATS) ?? "table",
    exemptionsFile: v.exemptions,
    client: {
      profile: v.profile,
      region: v.region,
      maxAttempts: integer("max-attempts", v["max-attempts"], 1, 20),
    },
    audit: {
      maxAgeDays: integer("max-age-days", v["max-age-days"], 1, 36500),
      unusedDays: integer("unused-days", v["unused-days"], 1, 36500),
      userNames: users.length > 0 ? users : undefined,
      pathPrefix,
      source: oneOf<Source>("source", v.source, ["auto", "live", "report"]),
      failOn,
      checkSchedule,
      concurrency: integer("concurrency", v.concurrency, 1, 64),
      lastUse: oneOf<LastUse>("last-used", v["last-used"], LAST_USE_MODES),
      pageSize: integer("page-size", v["page-size"], 1, 1000),
      reportMaxAgeHours: positive("report-max-age-hours", v["report-max-age-hours"]),
      reportTimeoutSeconds: positive("report-timeout-seconds", v["report-timeout-seconds"]),
    },
  };
}

function accountsCommand(v: {
  organization?: boolean;
  ou?: string;
  accounts?: string;
  "role-name"?: string;
  "external-id"?: string;
  parallel?: string;
}): { accounts?: AccountsCommand } {
  const many = v.organization === true || v.accounts !== undefined;
  if (v.organization && v.accounts !== undefined) {
    throw new UsageError(
      "--organization and --accounts FILE both choose the accounts: use one (--accounts for a hand-written list).",
    );
  }
  if (v.ou !== undefined && !v.organization) {
    throw new UsageError("--ou selects accounts of the organization: add --organization.");
  }
  if (!many) {
    for (const name of ["role-name", "external-id", "parallel"] as const) {
      if (v[name] !== undefined) {
        throw new UsageError(`--${name} applies to many accounts: add --organization or --accounts FILE.`);
      }
    }
    return {};
  }
  if (v.ou !== undefined && !PARENT_ID_PATTERN.test(v.ou)) {
    throw new UsageError(
      `--ou must be a root id (r-xxxx) or an organizational unit id (ou-xxxx-xxxxxxxx), not "${v.ou}".`,
    );
  }
  const roleName = v["role-name"] ?? DEFAULT_AUDIT_ROLE_NAME;
  if (!ROLE_NAME_PATTERN.test(roleName)) {
    throw new UsageError(
      `--role-name "${roleName}" is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-, optionally after a path like audit/); pass the name, not the ARN.`,
    );
  }
  const externalId = v["external-id"];
  if (externalId !== undefined && !EXTERNAL_ID_PATTERN.test(externalId)) {
    throw new UsageError("--external-id must be 2 to 1224 of A-Z a-z 0-9 +=,.@:/_-.");
  }
  return {
    accounts: {
      from: v.organization ? "organizations" : "file",
      ...(v.ou !== undefined ? { parentId: v.ou } : {}),
      ...(v.accounts !== undefined ? { file: v.accounts } : {}),
      roleName,
      ...(externalId !== undefined ? { externalId } : {}),
      parallel: integer("parallel", v.parallel, 1, MAX_PARALLEL) ?? DEFAULT_PARALLEL,
    },
  };
}

/** Reads an exemptions file: a JSON list, or an object with an `exemptions` list. Throws `UsageError`. */
export function readExemptions(file: string): Exemption[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--exemptions ${file} cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--exemptions ${file} is not JSON: ${(err as Error).message}`);
  }
  if (value && typeof value === "object" && !Array.isArray(value) && "exemptions" in value) {
    value = (value as { exemptions: unknown }).exemptions;
  }
  const problems = validateExemptions(value, "exemptions");
  if (problems.length > 0) throw new UsageError(`--exemptions ${file}: ${problems.join(" ")}`);
  return value as Exemption[];
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

/** Runs the command; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let command: ParsedCommand;
  let exemptions: Exemption[] = [];
  let now: Date;
  if (argv[0] === "iam-policy") return iamPolicyCommand(argv.slice(1), io);
  if (argv[0] === "deploy-report") {
    const { deployReportCommand } =
      require("../runner/deployReport") as typeof import("../runner/deployReport");
    return deployReportCommand(argv.slice(1), io);
  }
  // Loaded only for run: it needs @pulumi/pulumi (the audit does not).
  if (argv[0] === "run") {
    const { runCommand } = require("../runner/cli") as typeof import("../runner/cli");
    return runCommand(argv.slice(1), io);
  }
  try {
    command = parseCommand(argv);
    if (command.help) {
      io.stdout.write(USAGE);
      return EXIT_COMPLIANT;
    }
    if (command.exemptionsFile) exemptions = readExemptions(command.exemptionsFile);
    now = clockNow(io.env);
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`);
    if (err instanceof UsageError) io.stderr.write(`Run with --help for the options.\n`);
    return EXIT_ERROR;
  }
  if (command.accounts) return auditAccounts(command, command.accounts, exemptions, now, io);
  const client = (io.createClient ?? createAuditClient)(command.client);
  const progress = createProgress(io.stderr);
  try {
    const result = await runAudit(client, {
      ...dropUndefined(command.audit),
      exemptions,
      now,
      onProgress: (message) => progress.update(message),
      ...io.auditOverrides,
    });
    progress.done();
    io.stdout.write(render(result, command.format));
    for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
    if (result.notFoundUsers.length > 0) {
      io.stderr.write(`error: no IAM user named ${result.notFoundUsers.join(", ")}.\n`);
      return EXIT_ERROR;
    }
    return result.summary.compliant ? EXIT_COMPLIANT : EXIT_VIOLATIONS;
  } catch (err) {
    progress.done();
    const message =
      err instanceof ReportTimeoutError || err instanceof ReportFormatError
        ? err.message
        : explainAwsError(err, io.env);
    io.stderr.write(`error: ${message}\n`);
    return EXIT_ERROR;
  } finally {
    client.destroy();
  }
}

/**
 * The audit of many accounts: exit 0 compliant, 1 violations in an audited account, 2 the accounts
 * could not be listed or read, 3 some accounts could not be reached (the others were audited).
 */
async function auditAccounts(
  command: ParsedCommand,
  accounts: AccountsCommand,
  exemptions: Exemption[],
  now: Date,
  io: CliIo,
): Promise<number> {
  const progress = createProgress(io.stderr);
  let listed: ListedAccounts;
  if (accounts.from === "file") {
    try {
      listed = { accounts: readAccountsFile(accounts.file as string), inactive: [] };
    } catch (err) {
      io.stderr.write(`error: ${(err as Error).message}\n`);
      return err instanceof AccountsFileError ? EXIT_ERROR : EXIT_CODES.failed;
    }
  } else {
    const client = createOrganizationsClient(command.client);
    try {
      listed = await listOrganizationAccounts(client, {
        parentId: accounts.parentId,
        onProgress: (m) => progress.update(m),
      });
    } catch (err) {
      progress.done();
      io.stderr.write(`error: ${explainListAccountsError(err, accounts.parentId)}\n`);
      return EXIT_ERROR;
    } finally {
      client.destroy();
    }
    if (listed.accounts.length === 0) {
      progress.done();
      io.stderr.write(
        `error: no active account ${accounts.parentId ? `under ${accounts.parentId}` : "in the organization"}.\n`,
      );
      return EXIT_ERROR;
    }
  }
  const entries: AccountEntry[] = listed.accounts;
  const result = await auditOrganization({
    ...dropUndefined(command.audit),
    exemptions,
    now,
    accounts: entries,
    accountsFrom: {
      source: accounts.from,
      parentId: accounts.parentId ?? null,
      file: accounts.file ?? null,
    },
    inactiveAccounts: listed.inactive,
    roleName: accounts.roleName,
    externalId: accounts.externalId,
    parallel: accounts.parallel,
    callerAccountId: await callerAccount(command.client),
    ...dropUndefined(command.client),
    env: io.env,
    onProgress: (m) => progress.update(m),
  });
  progress.done();
  io.stdout.write(renderOrganization(result, command.format));
  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  for (const o of result.accounts) {
    if (o.status === "unreachable") {
      io.stderr.write(
        `error: account ${o.accountId}${o.accountName ? ` (${o.accountName})` : ""}: ${o.error?.message}\n`,
      );
    }
  }
  if (result.summary.unreachable > 0) return EXIT_UNREACHABLE;
  return result.summary.compliant ? EXIT_COMPLIANT : EXIT_VIOLATIONS;
}

/* istanbul ignore next: the process entry point */
if (require.main === module) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT_ERROR;
    },
  );
}
