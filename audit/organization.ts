/**
 * The audit of many accounts: the accounts of an AWS Organization (ListAccounts, or the accounts
 * under one organizational unit, paged; active accounts only) or of a hand-written list, each
 * audited with the credentials of one named role assumed there, with at most `parallel` accounts
 * at once. An account that cannot be reached (AssumeRole denied, the role missing, a call that
 * keeps failing) is reported with the role tried and the AWS error, and the others go on.
 */
import * as fs from "fs";
import * as iam from "@aws-sdk/client-iam";
import * as org from "@aws-sdk/client-organizations";
import * as sts from "@aws-sdk/client-sts";
import { parse as parseYaml } from "yaml";
import { requestHandlerOptions, resolveRegion } from "../core/aws";
import { AssumeRoleError, ROLE_ARN_PATTERN, standaloneConnection } from "../core/connection";
import { messageOf } from "../core/errors";
import { createIamClient, mapLimit } from "../core/iam";
import { AUDIT_DEFAULTS, AuditOptions, AuditResult, checksSchedule, runAudit } from "./audit";
import { explainAwsError, instrumentClient } from "./client";
import { compareNames, Finding, isoSeconds, Verdict } from "./verdict";

/** One account to audit. */
export interface AccountEntry {
  /** 12-digit account id. */
  id: string;
  /** The account's name, shown beside its id. */
  name?: string;
  /** A role of this account to assume instead of `--role-name`. */
  roleArn?: string;
  /** An external id for this account's role instead of `--external-id`. */
  externalId?: string;
}

export const DEFAULT_AUDIT_ROLE_NAME = "OrganizationAccountAccessRole";
export const AUDIT_SESSION_NAME = "keyrotation-audit";
export const DEFAULT_PARALLEL = 4;
export const MAX_PARALLEL = 32;

const ACCOUNT_ID = /^\d{12}$/;
/** A root (`r-xxxx`) or an organizational unit (`ou-xxxx-xxxxxxxx`). */
export const PARENT_ID_PATTERN = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;
/** An IAM role name with an optional path (`audit/KeyAudit`). */
export const ROLE_NAME_PATTERN = /^([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** A problem with an accounts file; names the entry and the field. */
export class AccountsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccountsFileError";
  }
}

/**
 * Parses an accounts file (YAML or JSON): a list of entries, or an object with an `accounts` list.
 * An entry is an account id (a quoted string in YAML, so that leading zeros survive) or an object
 * `{ id, name?, roleArn?, externalId? }`. Every problem is reported, each naming its entry.
 */
export function parseAccountsFile(text: string, file: string): AccountEntry[] {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new AccountsFileError(`--accounts ${file} is not YAML or JSON: ${messageOf(err)}`);
  }
  if (value && typeof value === "object" && !Array.isArray(value) && "accounts" in value) {
    value = (value as { accounts: unknown }).accounts;
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new AccountsFileError(
      `--accounts ${file} must hold a non-empty list of accounts (or accounts: [...]), each an id like "123456789012" or { id, name, roleArn, externalId }.`,
    );
  }
  const problems: string[] = [];
  const entries: AccountEntry[] = [];
  const seen = new Map<string, number>();
  value.forEach((raw: unknown, index) => {
    const where = `accounts[${index}]`;
    const entry: Record<string, unknown> =
      raw !== null && typeof raw === "object" && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : { id: raw };
    for (const field of Object.keys(entry)) {
      if (!["id", "name", "roleArn", "externalId"].includes(field)) {
        problems.push(`${where}: unknown field "${field}" (allowed: id, name, roleArn, externalId).`);
      }
    }
    const id = entry.id;
    if (typeof id === "number") {
      problems.push(
        `${where}: the account id ${id} is a number; write it as a quoted string ("${String(id).padStart(12, "0")}") so that leading zeros are kept.`,
      );
      return;
    }
    if (typeof id !== "string" || !ACCOUNT_ID.test(id)) {
      problems.push(
        `${where}: id must be a 12-digit account id in quotes; got ${JSON.stringify(id ?? null)}.`,
      );
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      problems.push(`${where}: account ${id} is listed twice (also accounts[${first}]); keep one entry.`);
      return;
    }
    seen.set(id, index);
    const out: AccountEntry = { id };
    for (const field of ["name", "roleArn", "externalId"] as const) {
      const v = entry[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string" || v.trim() === "") {
        problems.push(`${where} (${id}): ${field} must be a non-empty string.`);
        continue;
      }
      out[field] = v.trim();
    }
    if (out.roleArn !== undefined) {
      if (!ROLE_ARN_PATTERN.test(out.roleArn)) {
        problems.push(
          `${where} (${id}): roleArn "${out.roleArn}" is not an IAM role ARN (arn:aws:iam::${id}:role/<name>).`,
        );
      } else if (out.roleArn.split(":")[4] !== id) {
        problems.push(
          `${where} (${id}): roleArn ${out.roleArn} is a role of account ${out.roleArn.split(":")[4]}, not of ${id}.`,
        );
      }
    }
    entries.push(out);
  });
  if (problems.length > 0) throw new AccountsFileError(`--accounts ${file}: ${problems.join(" ")}`);
  return entries;
}

/** Reads and parses an accounts file. Throws `AccountsFileError`. */
export function readAccountsFile(file: string): AccountEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new AccountsFileError(`--accounts ${file} cannot be read: ${messageOf(err)}`);
  }
  return parseAccountsFile(text, file);
}

/** The role the audit assumes in an account: the entry's own, else `roleName` in that account. */
export function auditRoleArn(account: AccountEntry, roleName: string, partition = "aws"): string {
  return account.roleArn ?? `arn:${partition}:iam::${account.id}:role/${roleName}`;
}

/** `State` replaces `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED); either may be given. */
function stateOf(account: org.Account): string | undefined {
  return (account as { State?: string }).State ?? account.Status;
}

/** Accounts listed by Organizations, and the ones left out because they are not active. */
export interface ListedAccounts {
  accounts: AccountEntry[];
  inactive: { id: string; name?: string; state: string }[];
}

function toEntries(listed: org.Account[]): ListedAccounts {
  const accounts: AccountEntry[] = [];
  const inactive: ListedAccounts["inactive"] = [];
  const seen = new Set<string>();
  for (const a of listed) {
    if (!a.Id || seen.has(a.Id)) continue;
    seen.add(a.Id);
    if (stateOf(a) === "ACTIVE") accounts.push({ id: a.Id, ...(a.Name ? { name: a.Name } : {}) });
    else
      inactive.push({
        id: a.Id,
        ...(a.Name ? { name: a.Name } : {}),
        state: stateOf(a) ?? "unknown",
      });
  }
  accounts.sort((x, y) => compareNames(x.id, y.id));
  return { accounts, inactive };
}

/**
 * The organization's accounts (ListAccounts, paged), or with `parentId` the accounts under that
 * root or OU and its child OUs (ListAccountsForParent and ListOrganizationalUnitsForParent, paged).
 */
export async function listOrganizationAccounts(
  client: org.OrganizationsClient,
  options: { parentId?: string; onProgress?: (message: string) => void } = {},
): Promise<ListedAccounts> {
  const progress = options.onProgress ?? (() => undefined);
  const listed: org.Account[] = [];
  if (!options.parentId) {
    for await (const page of org.paginateListAccounts({ client }, {})) {
      listed.push(...(page.Accounts ?? []));
      progress(`Listing the organization's accounts: ${listed.length}`);
    }
    return toEntries(listed);
  }
  const parents = [options.parentId];
  while (parents.length > 0) {
    const parent = parents.shift() as string;
    for await (const page of org.paginateListAccountsForParent({ client }, { ParentId: parent })) {
      listed.push(...(page.Accounts ?? []));
      progress(`Listing the accounts under ${options.parentId}: ${listed.length}`);
    }
    for await (const page of org.paginateListOrganizationalUnitsForParent({ client }, { ParentId: parent })) {
      for (const ou of page.OrganizationalUnits ?? []) if (ou.Id) parents.push(ou.Id);
    }
  }
  return toEntries(listed);
}

/** Why the accounts could not be listed, and what to do instead. */
export function explainListAccountsError(err: unknown, parentId?: string): string {
  const call = parentId ? "organizations:ListAccountsForParent" : "organizations:ListAccounts";
  if (err instanceof org.AWSOrganizationsNotInUseException) {
    return `The credentials' account is not in an AWS Organization (${call}): run from the management account, or list the accounts in --accounts FILE.`;
  }
  // (A 403 whose body could not be read is a denial too: moto answers this JSON service in XML.)
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (err instanceof org.AccessDeniedException || status === 403) {
    return (
      `Access denied calling ${call}: the accounts of an organization can be listed only from its management account ` +
      `or a delegated administrator account, with ${call} allowed. Run from there, or list the accounts in --accounts FILE. ` +
      `AWS said: ${messageOf(err)}`
    );
  }
  if (err instanceof org.ParentNotFoundException || err instanceof org.InvalidInputException) {
    return `--ou ${parentId ?? ""} is not a root or organizational unit of this organization (${call}): ${messageOf(err)}`;
  }
  const name = (err as { name?: string } | null)?.name;
  return `Listing the organization's accounts failed (${call}): ${name ? `${name}: ` : ""}${messageOf(err)}`;
}

export interface OrganizationsClientOptions {
  profile?: string;
  region?: string;
  maxAttempts?: number;
}

/** An Organizations client (endpoint from `AWS_ENDPOINT_URL_ORGANIZATIONS`/`AWS_ENDPOINT_URL`). */
export function createOrganizationsClient(options: OrganizationsClientOptions = {}): org.OrganizationsClient {
  return new org.OrganizationsClient({
    region: resolveRegion(options.region),
    maxAttempts: options.maxAttempts ?? 8,
    retryMode: "adaptive",
    requestHandler: requestHandlerOptions(),
    ...(options.profile ? { profile: options.profile } : {}),
  });
}

/** The account the base credentials belong to (GetCallerIdentity); undefined when unknown. */
export async function callerAccount(options: OrganizationsClientOptions = {}): Promise<string | undefined> {
  const client = new sts.STSClient({
    region: resolveRegion(options.region),
    maxAttempts: options.maxAttempts ?? 4,
    requestHandler: requestHandlerOptions(),
    ...(options.profile ? { profile: options.profile } : {}),
  });
  try {
    return (await client.send(new sts.GetCallerIdentityCommand({}))).Account;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

/** One account's outcome. */
export interface AccountOutcome {
  accountId: string;
  accountName: string | null;
  /** The role assumed (or tried); null when the base credentials' own account was audited with them. */
  roleArn: string | null;
  status: "audited" | "unreachable";
  /** The audit's summary for an audited account. */
  summary: AuditResult["summary"] | null;
  source: AuditResult["source"] | null;
  /** Why the account could not be audited: the step that failed and the AWS error. */
  error: { step: "assume-role" | "audit"; name: string; message: string } | null;
  warnings: string[];
  notFoundUsers: string[];
}

/** A finding with the account it was found in. */
export interface AccountFinding extends Finding {
  accountId: string;
  accountName: string | null;
}

/** The organization audit's result; also its `--format json` document (schema version 1, docs/accounts.md). */
export interface OrganizationAuditResult {
  schemaVersion: 1;
  kind: "organization";
  generatedAt: string;
  accountsFrom: { source: "organizations" | "file"; parentId: string | null; file: string | null };
  settings: AuditResult["settings"] & {
    roleName: string;
    externalId: boolean;
    parallel: number;
  };
  summary: {
    accounts: number;
    audited: number;
    unreachable: number;
    users: number;
    keys: number;
    compliant: boolean;
  } & Record<Verdict, number>;
  accounts: AccountOutcome[];
  keys: AccountFinding[];
  /** Accounts Organizations lists that are not active (suspended, closing): not audited. */
  inactiveAccounts: ListedAccounts["inactive"];
  warnings: string[];
}

export interface OrganizationAuditOptions extends Omit<AuditOptions, "onProgress"> {
  accounts: readonly AccountEntry[];
  accountsFrom: OrganizationAuditResult["accountsFrom"];
  inactiveAccounts?: ListedAccounts["inactive"];
  /** The role assumed in each account. Default `OrganizationAccountAccessRole`. */
  roleName?: string;
  externalId?: string;
  /** Accounts audited at once, 1-32. Default 4. */
  parallel?: number;
  /** The base credentials' account: audited with them, not through a role (unless its entry names one). */
  callerAccountId?: string;
  profile?: string;
  region?: string;
  maxAttempts?: number;
  /** Makes one account's IAM client (tests add middleware here). */
  createClient?: (options: {
    accountId: string;
    credentials?: iam.IAMClientConfig["credentials"];
    profile?: string;
    region: string;
    maxAttempts: number;
  }) => iam.IAMClient;
  /** Progress lines (the CLI shows them on a terminal). */
  onProgress?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

function defaultAccountClient(options: {
  credentials?: iam.IAMClientConfig["credentials"];
  profile?: string;
  region: string;
  maxAttempts: number;
}): iam.IAMClient {
  return instrumentClient(
    createIamClient({
      region: options.region,
      maxAttempts: options.maxAttempts,
      retryMode: "adaptive",
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(!options.credentials && options.profile ? { profile: options.profile } : {}),
    }),
  );
}

function withName(name: string, message: string): string {
  return message.startsWith(name) ? message : `${name}: ${message}`;
}

/** What an unreachable account's line says: the role tried and the AWS error, with the fix. */
export function explainAccountError(
  err: unknown,
  account: AccountEntry,
  roleArn: string | null,
  env: NodeJS.ProcessEnv,
): AccountOutcome["error"] & object {
  if (err instanceof AssumeRoleError) {
    const cause = err.cause;
    const name = (cause as { name?: string } | null)?.name ?? "Error";
    return {
      step: "assume-role",
      name,
      message:
        `Assuming ${err.roleArn} failed: ${withName(name, messageOf(cause))}. Check that the role exists in account ${account.id}, ` +
        `that its trust policy trusts the audit's principal (and requires the external id given, if any), ` +
        `and that the audit's credentials may call sts:AssumeRole on it (iam-policy --for audit-role prints both policies).`,
    };
  }
  const name = (err as { name?: string } | null)?.name ?? "Error";
  return {
    step: "audit",
    name,
    message: `${explainAwsError(err, env)}${roleArn ? ` (as ${roleArn})` : ""}`,
  };
}

/** Audits every account, at most `parallel` at once; never throws for one account's failure. */
export async function auditOrganization(options: OrganizationAuditOptions): Promise<OrganizationAuditResult> {
  const roleName = options.roleName ?? DEFAULT_AUDIT_ROLE_NAME;
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  const region = resolveRegion(options.region);
  const maxAttempts = options.maxAttempts ?? 8;
  const env = options.env ?? process.env;
  const progress = options.onProgress ?? (() => undefined);
  const makeClient = options.createClient ?? ((o) => defaultAccountClient(o));
  const total = options.accounts.length;
  let done = 0;
  let unreachable = 0;
  const status = (line: string) =>
    progress(`Accounts ${done}/${total} done${unreachable ? ` (${unreachable} unreachable)` : ""}; ${line}`);

  const perAccount = await mapLimit(options.accounts, parallel, async (account) => {
    const label = account.name ? `${account.id} (${account.name})` : account.id;
    const own = account.id === options.callerAccountId && !account.roleArn;
    const roleArn = own ? null : auditRoleArn(account, roleName);
    const externalId = account.externalId ?? options.externalId;
    const connection = roleArn
      ? standaloneConnection({
          region,
          ...(options.profile ? { profile: options.profile } : {}),
          assumeRole: {
            roleArn,
            sessionName: AUDIT_SESSION_NAME,
            ...(externalId ? { externalId } : {}),
          },
        })
      : undefined;
    let client: iam.IAMClient | undefined;
    try {
      status(`${label}: assuming ${roleArn ?? "(own account, no role)"}`);
      // AssumeRole first, so that a refused role is told apart from a failing IAM call.
      if (connection?.credentials) await connection.credentials();
      client = makeClient({
        accountId: account.id,
        ...(connection?.credentials ? { credentials: connection.credentials } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
        region,
        maxAttempts,
      });
      const result = await runAudit(client, {
        ...options,
        onProgress: (message) => status(`${label}: ${message}`),
      });
      return { account, roleArn, result };
    } catch (err) {
      unreachable += 1;
      return { account, roleArn, error: explainAccountError(err, account, roleArn, env) };
    } finally {
      done += 1;
      status(`${label}: done`);
      client?.destroy();
      connection?.destroy();
    }
  });

  const outcomes: AccountOutcome[] = [];
  const keys: AccountFinding[] = [];
  const warnings: string[] = [];
  for (const item of perAccount) {
    const accountName = item.account.name ?? null;
    if ("result" in item && item.result) {
      const r = item.result;
      outcomes.push({
        accountId: item.account.id,
        accountName,
        roleArn: item.roleArn,
        status: "audited",
        summary: r.summary,
        source: r.source,
        error: null,
        warnings: r.warnings,
        notFoundUsers: r.notFoundUsers,
      });
      for (const k of r.keys) keys.push({ accountId: item.account.id, accountName, ...k });
      for (const w of r.warnings) warnings.push(`Account ${item.account.id}: ${w}`);
    } else {
      const error = (item as { error: NonNullable<AccountOutcome["error"]> }).error;
      outcomes.push({
        accountId: item.account.id,
        accountName,
        roleArn: item.roleArn,
        status: "unreachable",
        summary: null,
        source: null,
        error,
        warnings: [],
        notFoundUsers: [],
      });
    }
  }
  const audited = outcomes.filter((o) => o.status === "audited");
  const sum = (pick: (s: AuditResult["summary"]) => number) =>
    audited.reduce((n, o) => n + pick(o.summary as AuditResult["summary"]), 0);
  const failOn = [...(options.failOn ?? AUDIT_DEFAULTS.failOn)];
  return {
    schemaVersion: 1,
    kind: "organization",
    generatedAt: isoSeconds(options.now),
    accountsFrom: options.accountsFrom,
    settings: {
      maxAgeDays: options.maxAgeDays ?? AUDIT_DEFAULTS.maxAgeDays,
      unusedDays: options.unusedDays ?? AUDIT_DEFAULTS.unusedDays,
      failOn,
      checkSchedule: checksSchedule(options) && options.source !== "report",
      userNames: options.userNames ? [...new Set(options.userNames)].sort(compareNames) : null,
      pathPrefix: options.pathPrefix ?? null,
      exemptions: options.exemptions?.length ?? 0,
      roleName,
      externalId: options.externalId !== undefined,
      parallel,
    },
    summary: {
      accounts: outcomes.length,
      audited: audited.length,
      unreachable: outcomes.length - audited.length,
      users: sum((s) => s.users),
      keys: sum((s) => s.keys),
      rotate: sum((s) => s.rotate),
      delete: sum((s) => s.delete),
      ok: sum((s) => s.ok),
      exempt: sum((s) => s.exempt),
      "rotation-stopped": sum((s) => s["rotation-stopped"]),
      compliant: audited.every((o) => o.summary?.compliant),
    },
    accounts: outcomes,
    keys,
    inactiveAccounts: options.inactiveAccounts ?? [],
    warnings,
  };
}
