/**
 * The account audit: every IAM user's access keys with age, status, last use and a verdict,
 * read live (ListUsers, then ListAccessKeys per user and GetAccessKeyLastUsed per Inactive key,
 * with bounded concurrency) or from the credential report, and judged by `verdict.ts`.
 *
 * Sources:
 * - `live`: fresh; 1 + users + Inactive keys IAM calls (1 + users + keys with `lastUse: "all"`).
 *   An Active key's verdict depends only on its age, so its last use is not asked for by default
 *   (`lastUsedRead: false`); an Inactive key's verdict depends on its last use, so it always is.
 * - `report`: the credential report only (1 to a few calls); up to 4 hours old; no key ids.
 * - `auto`: the report when it is at most `reportMaxAgeHours` old, with a live re-check of every
 *   user the report flags (so each finding that needs action is fresh and has its key id);
 *   live when the report is older, cannot be read, or is denied.
 *
 * With `checkSchedule` (implied by `failOn` naming `rotation-stopped`), ListUserTags is also read
 * for each user with an Active key that a stopped rotation could have left (older than
 * MIN_STOPPED_AGE_DAYS, within `maxAgeDays`), so that the `rotation-stopped` verdict can be judged
 * from the user's `keyrotation:*` tags; in `auto`, a user whose tags name a schedule and who has
 * such a key is re-checked live (the report has no key ids to match the key tags with).
 */
import * as iam from "@aws-sdk/client-iam";
import { MS_PER_HOUR, parseInstant } from "../core/clock";
import { Exemption } from "../core/exemptions";
import { KeyRecord, listUserKeys, mapLimit, paginateUsers, readLastUse } from "../core/iam";
import { rotationFromTags } from "../core/scheduleTag";
import { iamActionOf } from "./client";
import {
  CredentialReportPort,
  fetchCredentialReport,
  parseCredentialReport,
  ReportFormatError,
  reportPort,
  ReportTimeoutError,
  reportValue,
} from "./report";
import {
  AuditKey,
  compareNames,
  Finding,
  isoSeconds,
  judgeKeys,
  mayBeStopped,
  ROTATION_GRACE_DAYS,
  UserRotation,
  Verdict,
  verdictNeedsLastUse,
} from "./verdict";

export type Source = "auto" | "live" | "report";
export type FailOn = "rotate" | "delete" | "rotation-stopped";
export const FAIL_ON: readonly FailOn[] = ["rotate", "delete", "rotation-stopped"];
/**
 * Which keys the live listing asks GetAccessKeyLastUsed about: `needed`, only those whose verdict
 * depends on it (Inactive keys); `all`, every key.
 */
export type LastUse = "needed" | "all";
export const LAST_USE_MODES: readonly LastUse[] = ["needed", "all"];

export interface AuditOptions {
  /** An Active key older than this many days must be rotated. Default 90. */
  maxAgeDays?: number;
  /** An Inactive key unused for more than this many days should be deleted. Default 30. */
  unusedDays?: number;
  /** Audit only these users. */
  userNames?: readonly string[];
  /** Audit only users whose IAM path starts with this (`/teams/`). */
  pathPrefix?: string;
  /** Default `auto`. */
  source?: Source;
  exemptions?: readonly Exemption[];
  /** Verdicts that make the account non-compliant. Default `["rotate"]`. */
  failOn?: readonly FailOn[];
  /**
   * Read the users' `keyrotation:*` tags to judge `rotation-stopped` (one ListUserTags per user
   * with a key it could apply to). Default: whether `failOn` names `rotation-stopped`. Not
   * available with `source: "report"` (no key ids to match the tags with): a warning says so.
   */
  checkSchedule?: boolean;
  /** IAM calls in flight at once (live listing). Default 16. */
  concurrency?: number;
  /**
   * Which keys' last use the live listing reads. Default `needed` when listing users live, `all`
   * for `auto`'s re-check of the users the report flags (few users, the ones to act on).
   */
  lastUse?: LastUse;
  /** ListUsers and ListAccessKeys page size (MaxItems). Default 1000 and 100. */
  pageSize?: number;
  /** `auto` uses a credential report at most this old. Default 4. */
  reportMaxAgeHours?: number;
  /** How long to wait for IAM to generate a credential report. Default 300. */
  reportTimeoutSeconds?: number;
  /** The instant ages are measured at (see `clock.now()`). */
  now: Date;
  /** Progress messages (the CLI shows them on a terminal). */
  onProgress?: (message: string) => void;
  /** Replaces the two credential-report calls (tests of the in-progress states). */
  reportPort?: CredentialReportPort;
  /** Waits between report polls (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export const AUDIT_DEFAULTS = {
  maxAgeDays: 90,
  unusedDays: 30,
  source: "auto" as Source,
  failOn: ["rotate"] as FailOn[],
  concurrency: 16,
  reportMaxAgeHours: 4,
  reportTimeoutSeconds: 300,
};

/** The audit's result; also the `--format json` document (schema version 1, documented in docs/audit.md). */
export interface AuditResult {
  schemaVersion: 1;
  /** The instant ages are measured at. */
  generatedAt: string;
  source: "live" | "report" | "report+live";
  /** Why this source was used. */
  sourceReason: string;
  credentialReport: {
    generatedTime: string | null;
    ageHours: number | null;
    generatedByThisRun: boolean;
  } | null;
  settings: {
    maxAgeDays: number;
    unusedDays: number;
    failOn: FailOn[];
    /** Whether the users' tags were read to judge `rotation-stopped`. */
    checkSchedule: boolean;
    userNames: string[] | null;
    pathPrefix: string | null;
    exemptions: number;
  };
  summary: { users: number; keys: number; compliant: boolean } & Record<Verdict, number>;
  keys: Finding[];
  /** Users named with --user that IAM does not have (under --path-prefix, if given). */
  notFoundUsers: string[];
  /** Users listed by IAM that were deleted before their keys could be read. */
  vanishedUsers: string[];
  expiredExemptions: Exemption[];
  warnings: string[];
}

interface Inventory {
  users: string[];
  keys: AuditKey[];
  notFound: string[];
  vanished: string[];
  /** Keys listed by ListAccessKeys and deleted before their last use could be read (`user key-id`). */
  vanishedKeys: string[];
  /** What the tags of the users read for the schedule check say about their rotation. */
  rotations: Map<string, UserRotation>;
}

/**
 * What the user's tags say about the rotation that manages it; undefined when they name no
 * schedule (or the user vanished). One ListUserTags (paginated).
 */
async function readUserRotation(client: iam.IAMClient, userName: string): Promise<UserRotation | undefined> {
  const tags: iam.Tag[] = [];
  try {
    for await (const page of iam.paginateListUserTags({ client }, { UserName: userName })) {
      tags.push(...(page.Tags ?? []));
    }
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) return undefined;
    throw err;
  }
  const facts = rotationFromTags(tags);
  return facts.schedule ? { schedule: facts.schedule, managedKeyIds: facts.managedKeyIds } : undefined;
}

function toAuditKey(key: KeyRecord, lastUsedRead: boolean): AuditKey {
  const lastUsed = key.lastUsedDate ? parseInstant(key.lastUsedDate) : undefined;
  return {
    userName: key.userName,
    accessKeyId: key.accessKeyId,
    status: key.status,
    createDate: isoSeconds(new Date(key.createDate)),
    lastUsedDate: lastUsed ? isoSeconds(lastUsed) : null,
    lastUsedService: reportValue(key.lastUsedService),
    lastUsedRegion: reportValue(key.lastUsedRegion),
    lastUsedRead,
    source: "live",
  };
}

/**
 * The keys of the named users: ListAccessKeys per user, then GetAccessKeyLastUsed for each key
 * `lastUse` selects, one user per worker, with at most `concurrency` calls in flight. A user that
 * does not exist (or vanished) is listed in `missingUsers`; a key deleted between the listing and
 * its last-use read in `vanishedKeys`; other errors propagate.
 */
async function readUsersKeys(
  client: iam.IAMClient,
  userNames: readonly string[],
  options: {
    lastUse: LastUse;
    concurrency: number;
    pageSize?: number;
    onUserDone: (done: number, total: number) => void;
    /** Read the tags of users with a key a stopped rotation could have left (older than 3 days, within this age). */
    scheduleMaxAgeDays?: number;
    now: Date;
  },
): Promise<{
  keys: AuditKey[];
  missingUsers: string[];
  vanishedKeys: string[];
  rotations: Map<string, UserRotation>;
}> {
  const missingUsers: string[] = [];
  const vanishedKeys: string[] = [];
  const rotations = new Map<string, UserRotation>();
  let done = 0;
  const perUser = await mapLimit(userNames, options.concurrency, async (userName) => {
    try {
      let listed: KeyRecord[];
      try {
        listed = await listUserKeys(client, userName, { pageSize: options.pageSize });
      } catch (err) {
        if (!(err instanceof iam.NoSuchEntityException)) throw err;
        missingUsers.push(userName);
        return [];
      }
      const keys: AuditKey[] = [];
      for (const key of listed) {
        if (options.lastUse !== "all" && !verdictNeedsLastUse(key)) {
          keys.push(toAuditKey(key, false));
          continue;
        }
        if (!(await readLastUse(client, key))) {
          vanishedKeys.push(`${userName} ${key.accessKeyId}`);
          continue;
        }
        keys.push(toAuditKey(key, true));
      }
      const maxAge = options.scheduleMaxAgeDays;
      if (maxAge !== undefined && keys.some((k) => mayBeStopped(k, maxAge, options.now))) {
        const rotation = await readUserRotation(client, userName);
        if (rotation) rotations.set(userName, rotation);
      }
      return keys;
    } finally {
      done += 1;
      options.onUserDone(done, userNames.length);
    }
  });
  return { keys: perUser.flat(), missingUsers: missingUsers.sort(compareNames), vanishedKeys, rotations };
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)].sort(compareNames);
}

async function liveInventory(
  client: iam.IAMClient,
  options: AuditOptions,
  onlyUsers?: readonly string[],
): Promise<Inventory> {
  const progress = options.onProgress ?? (() => undefined);
  const named = onlyUsers ?? options.userNames;
  let names: string[];
  let notFound: string[] = [];
  // Named users are read directly; ListUsers is needed for the whole account or a path prefix.
  const listed = !onlyUsers && !(options.userNames && !options.pathPrefix);
  if (!listed) {
    names = unique(named ?? []);
  } else {
    const all: string[] = [];
    for await (const user of paginateUsers(client, {
      pathPrefix: options.pathPrefix,
      pageSize: options.pageSize,
    })) {
      all.push(user.userName);
      if (all.length % 100 === 0) progress(`Listing IAM users: ${all.length}`);
    }
    if (named) {
      const present = new Set(all);
      names = unique(named.filter((n) => present.has(n)));
      notFound = unique(named.filter((n) => !present.has(n)));
    } else {
      names = unique(all);
    }
  }
  const inventory = await readUsersKeys(client, names, {
    // auto's re-check (onlyUsers) covers the few users the report flags: every key's last use.
    lastUse: options.lastUse ?? (onlyUsers ? "all" : "needed"),
    concurrency: options.concurrency ?? AUDIT_DEFAULTS.concurrency,
    pageSize: options.pageSize,
    onUserDone: (done, total) => progress(`Reading access keys: ${done}/${total} users`),
    scheduleMaxAgeDays: checksSchedule(options)
      ? (options.maxAgeDays ?? AUDIT_DEFAULTS.maxAgeDays)
      : undefined,
    now: options.now,
  });
  const missing = new Set(inventory.missingUsers);
  return {
    users: names.filter((n) => !missing.has(n)),
    keys: inventory.keys,
    notFound: listed ? notFound : unique([...notFound, ...inventory.missingUsers]),
    vanished: listed ? inventory.missingUsers : [],
    vanishedKeys: inventory.vanishedKeys.sort(compareNames),
    rotations: inventory.rotations,
  };
}

/** Whether the run reads the users' tags for `rotation-stopped`. */
export function checksSchedule(options: Pick<AuditOptions, "checkSchedule" | "failOn">): boolean {
  return options.checkSchedule ?? (options.failOn ?? AUDIT_DEFAULTS.failOn).includes("rotation-stopped");
}

function isAccessDenied(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? "";
  return /^(AccessDenied|AccessDeniedException)$/.test(name);
}

interface ReportOutcome {
  inventory: Inventory;
  generatedTime: Date | undefined;
  generated: boolean;
}

async function reportInventory(
  client: iam.IAMClient,
  options: AuditOptions,
  timeoutSeconds: number,
): Promise<ReportOutcome> {
  const progress = options.onProgress ?? (() => undefined);
  progress("Reading the IAM credential report");
  const fetched = await fetchCredentialReport(options.reportPort ?? reportPort(client), {
    timeoutMs: timeoutSeconds * 1000,
    sleep: options.sleep
      ? options.sleep
      : async (ms) => {
          progress("Waiting for IAM to generate the credential report");
          await new Promise((resolve) => setTimeout(resolve, ms));
        },
  });
  const rows = parseCredentialReport(fetched.content).filter(
    (row) => !options.pathPrefix || row.path.startsWith(options.pathPrefix),
  );
  const byName = new Map(rows.map((row) => [row.userName, row]));
  const named = options.userNames ? unique(options.userNames) : undefined;
  const users = named ? named.filter((n) => byName.has(n)) : unique(rows.map((r) => r.userName));
  return {
    inventory: {
      users,
      keys: users.flatMap((n) => byName.get(n)?.keys ?? []),
      notFound: named ? named.filter((n) => !byName.has(n)) : [],
      vanished: [],
      vanishedKeys: [],
      rotations: new Map(),
    },
    generatedTime: fetched.generatedTime,
    generated: fetched.generated,
  };
}

function hoursOld(at: Date | undefined, now: Date): number | null {
  return at ? Math.round(((now.getTime() - at.getTime()) / MS_PER_HOUR) * 10) / 10 : null;
}

/** Where the audit's facts came from, and what the source itself wants the reader to know. */
interface Gathered {
  inventory: Inventory;
  source: AuditResult["source"];
  sourceReason: string;
  credentialReport: AuditResult["credentialReport"];
  warnings: string[];
}

/** The settings of one run, defaults applied. */
interface RunSettings {
  maxAgeDays: number;
  unusedDays: number;
  source: Source;
  failOn: FailOn[];
  exemptions: Exemption[];
  reportMaxAgeHours: number;
  reportTimeoutSeconds: number;
  now: Date;
}

function runSettings(options: AuditOptions): RunSettings {
  return {
    maxAgeDays: options.maxAgeDays ?? AUDIT_DEFAULTS.maxAgeDays,
    unusedDays: options.unusedDays ?? AUDIT_DEFAULTS.unusedDays,
    source: options.source ?? AUDIT_DEFAULTS.source,
    failOn: [...(options.failOn ?? AUDIT_DEFAULTS.failOn)],
    exemptions: [...(options.exemptions ?? [])],
    reportMaxAgeHours: options.reportMaxAgeHours ?? AUDIT_DEFAULTS.reportMaxAgeHours,
    reportTimeoutSeconds: options.reportTimeoutSeconds ?? AUDIT_DEFAULTS.reportTimeoutSeconds,
    now: options.now,
  };
}

function reportFacts(outcome: ReportOutcome, now: Date): NonNullable<AuditResult["credentialReport"]> {
  return {
    generatedTime: outcome.generatedTime ? isoSeconds(outcome.generatedTime) : null,
    ageHours: hoursOld(outcome.generatedTime, now),
    generatedByThisRun: outcome.generated,
  };
}

/** What the live listing reads, for `sourceReason`. */
export function liveCalls(lastUse: LastUse): string {
  return lastUse === "all"
    ? "ListUsers, ListAccessKeys and GetAccessKeyLastUsed for every key"
    : "ListUsers, ListAccessKeys and GetAccessKeyLastUsed for Inactive keys (Active keys' last use not read: --last-used all reads it)";
}

/** `--source live`: ListUsers, ListAccessKeys and GetAccessKeyLastUsed (for Inactive keys by default). */
async function gatherLive(client: iam.IAMClient, options: AuditOptions): Promise<Gathered> {
  return {
    inventory: await liveInventory(client, options),
    source: "live",
    sourceReason: `--source live: ${liveCalls(options.lastUse ?? "needed")}.`,
    credentialReport: null,
    warnings: [],
  };
}

/** `--source report`: the credential report only, with a warning when it is older than the limit. */
async function gatherReport(
  client: iam.IAMClient,
  options: AuditOptions,
  run: RunSettings,
): Promise<Gathered> {
  const outcome = await reportInventory(client, options, run.reportTimeoutSeconds);
  const credentialReport = reportFacts(outcome, run.now);
  const warnings: string[] = [];
  const age = credentialReport.ageHours;
  if (age === null || age > run.reportMaxAgeHours) {
    warnings.push(
      `The credential report was generated ${credentialReport.generatedTime ?? "at an unknown time"}` +
        `${age === null ? "" : `, ${age} hours ago`}; keys changed since then are not reflected. Use --source live for fresh data.`,
    );
  }
  if (checksSchedule(options)) {
    warnings.push(
      "The credential report has no access key ids to match the rotation's key tags with, so rotation-stopped " +
        "is not judged in --source report; use --source auto or live for it.",
    );
  }
  if (run.exemptions.some((e) => e.accessKeyId !== undefined)) {
    warnings.push(
      "The credential report has no access key ids, so exemptions by accessKeyId cannot apply in --source report; " +
        "use --source auto or live for them.",
    );
  }
  return {
    inventory: outcome.inventory,
    source: "report",
    sourceReason: "--source report: the IAM credential report only.",
    credentialReport,
    warnings,
  };
}

/** The credential report, or why it cannot be used (denied, not ready in time, unreadable). */
async function tryReport(
  client: iam.IAMClient,
  options: AuditOptions,
  run: RunSettings,
): Promise<{ outcome?: ReportOutcome; fallback: string }> {
  try {
    const outcome = await reportInventory(client, options, run.reportTimeoutSeconds);
    const age = hoursOld(outcome.generatedTime, run.now);
    if (age !== null && age <= run.reportMaxAgeHours) return { outcome, fallback: "" };
    const facts = reportFacts(outcome, run.now);
    return {
      outcome,
      fallback:
        `the credential report was generated ${facts.generatedTime ?? "at an unknown time"}` +
        `${age === null ? "" : ` (${age} hours ago)`}, more than --report-max-age-hours ${run.reportMaxAgeHours} ago`,
    };
  } catch (err) {
    if (isAccessDenied(err)) {
      return {
        fallback: `the credential report is denied (${iamActionOf(err) ?? "iam:GetCredentialReport"})`,
      };
    }
    if (err instanceof ReportTimeoutError || err instanceof ReportFormatError) {
      return { fallback: `the credential report could not be used (${err.message})` };
    }
    throw err;
  }
}

/** The report's inventory with the re-checked users replaced by their live listing. */
function mergeRecheck(
  fromReport: Inventory,
  recheck: readonly string[],
  live: Inventory | undefined,
): Inventory {
  const recheckSet = new Set(recheck);
  return {
    users: unique([...fromReport.users.filter((n) => !recheckSet.has(n)), ...(live ? live.users : [])]),
    keys: [...fromReport.keys.filter((k) => !recheckSet.has(k.userName)), ...(live ? live.keys : [])],
    notFound: unique([
      ...fromReport.notFound.filter((n) => !recheckSet.has(n)),
      ...(live ? live.notFound.filter((n) => fromReport.notFound.includes(n)) : []),
    ]),
    vanished: live ? live.notFound.filter((n) => !fromReport.notFound.includes(n)) : [],
    vanishedKeys: live ? live.vanishedKeys : [],
    rotations: new Map([...fromReport.rotations, ...(live ? live.rotations : [])]),
  };
}

/**
 * `--source auto`: a recent credential report, with every user it flags (and every named user it
 * lacks) re-checked live; live listing when the report is denied, late, unreadable or too old.
 */
async function gatherAuto(client: iam.IAMClient, options: AuditOptions, run: RunSettings): Promise<Gathered> {
  const { outcome, fallback } = await tryReport(client, options, run);
  const credentialReport = outcome ? reportFacts(outcome, run.now) : null;
  if (!outcome || fallback) {
    const live = await gatherLive(client, options);
    return { ...live, credentialReport, sourceReason: `--source auto chose live listing: ${fallback}.` };
  }
  const fromReport = outcome.inventory;
  const rules = {
    maxAgeDays: run.maxAgeDays,
    unusedDays: run.unusedDays,
    exemptions: run.exemptions,
    now: run.now,
  };
  const flagged = new Set(
    judgeKeys(fromReport.keys, rules)
      .filter((f) => f.verdict !== "ok")
      .map((f) => f.userName),
  );
  // (With a path prefix the report's paths are authoritative: a named user outside it stays not found.)
  if (!options.pathPrefix) for (const name of fromReport.notFound) flagged.add(name);
  // The schedule check: the tags of each user with a key a stopped rotation could have left; a
  // user whose tags name a schedule is re-checked live when such a key is past that schedule.
  let tagReads = 0;
  if (checksSchedule(options)) {
    const candidates = unique(
      fromReport.keys
        .filter((k) => !flagged.has(k.userName) && mayBeStopped(k, run.maxAgeDays, run.now))
        .map((k) => k.userName),
    );
    tagReads = candidates.length;
    const read = await mapLimit(candidates, options.concurrency ?? AUDIT_DEFAULTS.concurrency, (user) =>
      readUserRotation(client, user),
    );
    candidates.forEach((user, i) => {
      const rotation = read[i];
      if (!rotation) return;
      const { rotationDays, overlapDays } = rotation.schedule;
      const past = fromReport.keys.some(
        (k) =>
          k.userName === user &&
          mayBeStopped(k, run.maxAgeDays, run.now, rotationDays + overlapDays + ROTATION_GRACE_DAYS),
      );
      if (past) flagged.add(user);
    });
  }
  const recheck = unique([...flagged]);
  const live = recheck.length > 0 ? await liveInventory(client, options, recheck) : undefined;
  return {
    inventory: mergeRecheck(fromReport, recheck, live),
    source: "report+live",
    sourceReason:
      `--source auto used the credential report (${credentialReport?.ageHours} hours old, within --report-max-age-hours ${run.reportMaxAgeHours}) ` +
      `and re-checked live the ${recheck.length} user(s) it flags` +
      (checksSchedule(options) ? ` (the schedule check read the tags of ${tagReads} user(s)).` : "."),
    credentialReport,
    warnings: [],
  };
}

/** Warnings about the users and exemptions of the run; returns the exemptions that expired. */
function runWarnings(
  inventory: Inventory,
  options: AuditOptions,
  run: RunSettings,
  warnings: string[],
): Exemption[] {
  for (const user of inventory.vanished) {
    warnings.push(`User ${user} was deleted while the audit ran; it is left out.`);
  }
  for (const entry of inventory.vanishedKeys) {
    const [user, id] = entry.split(" ");
    warnings.push(`Key ${id} of user ${user} was deleted while the audit ran; it is left out.`);
  }
  for (const user of inventory.notFound) {
    warnings.push(
      `No IAM user named ${user}${options.pathPrefix ? ` under path ${options.pathPrefix}` : ""}: check --user.`,
    );
  }
  const expired = run.exemptions.filter((e) => {
    const at = parseInstant(e.expires);
    return !at || at.getTime() <= run.now.getTime();
  });
  for (const e of expired) {
    warnings.push(
      `The exemption for ${e.accessKeyId ? `key ${e.accessKeyId}` : `user ${e.userName}`} expired on ${e.expires} ` +
        `and no longer applies: renew it with a new date or remove it.`,
    );
  }
  return expired;
}

/** Runs the audit. AWS errors other than the ones each source handles propagate. */
export async function runAudit(client: iam.IAMClient, options: AuditOptions): Promise<AuditResult> {
  const run = runSettings(options);
  const gathered =
    run.source === "live"
      ? await gatherLive(client, options)
      : run.source === "report"
        ? await gatherReport(client, options, run)
        : await gatherAuto(client, options, run);
  const { inventory } = gathered;
  const rules = {
    maxAgeDays: run.maxAgeDays,
    unusedDays: run.unusedDays,
    exemptions: run.exemptions,
    now: run.now,
  };
  const keys = judgeKeys(inventory.keys, rules, inventory.rotations);
  const warnings = [...gathered.warnings];
  const expiredExemptions = runWarnings(inventory, options, run, warnings);
  const count = (v: Verdict) => keys.filter((k) => k.verdict === v).length;
  return {
    schemaVersion: 1,
    generatedAt: isoSeconds(run.now),
    source: gathered.source,
    sourceReason: gathered.sourceReason,
    credentialReport: gathered.credentialReport,
    settings: {
      maxAgeDays: run.maxAgeDays,
      unusedDays: run.unusedDays,
      failOn: run.failOn,
      checkSchedule: checksSchedule(options) && run.source !== "report",
      userNames: options.userNames ? unique(options.userNames) : null,
      pathPrefix: options.pathPrefix ?? null,
      exemptions: run.exemptions.length,
    },
    summary: {
      users: inventory.users.length,
      keys: keys.length,
      rotate: count("rotate"),
      delete: count("delete"),
      ok: count("ok"),
      exempt: count("exempt"),
      "rotation-stopped": count("rotation-stopped"),
      compliant: !keys.some((k) => (run.failOn as string[]).includes(k.verdict)),
    },
    keys,
    notFoundUsers: inventory.notFound,
    vanishedUsers: inventory.vanished,
    expiredExemptions,
    warnings,
  };
}
