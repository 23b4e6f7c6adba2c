/**
 * The audit's verdicts, as pure functions of a user's keys, the rules and the clock.
 *
 * - `rotate`: the key is Active and older than `maxAgeDays` (the compliance rule's violation).
 * - `delete`: the key is Inactive and unused for more than `unusedDays` (days since its last use,
 *   or since its creation when IAM has no record of a use).
 * - `rotation-stopped`: the key is Active, within `maxAgeDays`, and the rotation that manages it
 *   (its user's tags say so, see core/scheduleTag.ts) has not acted on it for longer than its
 *   schedule allows: the user's newest managed key is older than `rotationDays + overlapDays +
 *   ROTATION_GRACE_DAYS`. Only judged when the user's tags were read (`rotations`).
 * - `exempt`: it would be `rotate`, `delete` or `rotation-stopped`, but an exemption that has not
 *   expired covers it.
 * - `ok`: anything else.
 *
 * An expired exemption stops applying: the key gets its own verdict and the finding says so.
 */
import { MS_PER_DAY } from "../core/clock";
import { KeyStatus } from "../core/types";
import { Exemption, findExemption } from "../core/exemptions";
import { TaggedSchedule } from "../core/scheduleTag";

export type Verdict = "rotate" | "delete" | "ok" | "exempt" | "rotation-stopped";

/** Every verdict, in the order the summary lists them. */
export const VERDICTS: readonly Verdict[] = ["rotate", "delete", "rotation-stopped", "exempt", "ok"];

/** How a verdict is shown to people: `rotation stopped`, `rotate`, ... */
export function verdictLabel(verdict: Verdict): string {
  return verdict.replace("-", " ");
}

/**
 * Days past a key's due date (its rotation plus its overlap) before the audit calls its rotation
 * stopped. A daily job that misses a run or two (a CI outage, a failed run retried the next day)
 * is not an alarm; with the defaults (30 + 7 + 2 = 39 days) a weekly audit still sees the stopped
 * rotation with at least 44 days left before the 90-day limit.
 */
export const ROTATION_GRACE_DAYS = 2;

/** The youngest age at which a key can be `rotation-stopped`: the shortest schedule (rotationDays 1, overlapDays 0) plus the grace. */
export const MIN_STOPPED_AGE_DAYS = 1 + 0 + ROTATION_GRACE_DAYS;

/**
 * Whether a key is one a stopped rotation could have left: Active, older than `threshold` days
 * (by default the shortest schedule's) and not older than `maxAgeDays`. The audit reads a user's
 * tags only when one of its keys is.
 */
export function mayBeStopped(
  key: Pick<AuditKey, "status" | "createDate">,
  maxAgeDays: number,
  now: Date,
  threshold: number = MIN_STOPPED_AGE_DAYS,
): boolean {
  const age = days(key.createDate, now);
  return key.status === "Active" && age > threshold && age <= maxAgeDays;
}

/** What a user's tags say about the rotation that manages it (read by the audit when asked to). */
export interface UserRotation {
  schedule: TaggedSchedule;
  /** The ids of the user's keys the rotation created or adopted (its key tags). */
  managedKeyIds: readonly string[];
}

/** Why a key's rotation counts as stopped, and how long is left. */
export interface RotationStopped {
  /** The user's schedule, from its `keyrotation:schedule` tag. */
  rotationDays: number;
  overlapDays: number;
  graceDays: number;
  /** What the rotation should have done to the key: `replace` the newest key, `deactivate` an older one. */
  dueAction: "replace" | "deactivate";
  /**
   * ISO-8601: when the rotation should, at the latest, have acted on the key: replaced it (the
   * user's newest key: its creation plus `rotationDays`) or deactivated it (an older key: its
   * successor's creation plus `overlapDays`).
   */
  dueDate: string;
  /** Whole days before the key is older than the audit's `maxAgeDays` (and becomes `rotate`). */
  daysLeft: number;
}

/** One access key as the audit sees it, from either source. Never holds a secret. */
export interface AuditKey {
  userName: string;
  /** `null` when the source does not know it (the credential report has no key ids). */
  accessKeyId: string | null;
  status: KeyStatus;
  /** ISO-8601 UTC with whole seconds, e.g. `2026-01-31T12:00:00Z`. */
  createDate: string;
  /** ISO-8601 UTC with whole seconds; `null` when IAM has no record of a use. */
  lastUsedDate: string | null;
  /** Service namespace of the last use (`s3`); `null` when unknown or never used. */
  lastUsedService: string | null;
  /** Region of the last use; `null` when unknown or never used. */
  lastUsedRegion: string | null;
  /**
   * Whether the last use was read at all. `false` when the live listing skipped
   * GetAccessKeyLastUsed for this key (an Active key: its verdict, reason and next step depend only
   * on its age, see `baseVerdict`); the three `lastUsed*` fields are then `null` and mean "not
   * read", not "never used". Always `true` for Inactive keys and for the credential report.
   */
  lastUsedRead: boolean;
  /** Where the facts about this key come from. */
  source: "live" | "report";
}

export interface AuditRules {
  maxAgeDays: number;
  unusedDays: number;
  exemptions: readonly Exemption[];
  now: Date;
}

export interface FindingExemption {
  /** `accessKeyId` or `userName`: what the exemption names. */
  matchedBy: "accessKeyId" | "userName";
  reason: string;
  expires: string;
  expired: boolean;
}

export interface Finding extends AuditKey {
  /** Whole days since creation (rounded down). */
  ageDays: number;
  verdict: Verdict;
  /** Why this verdict, in one sentence. */
  reason: string;
  /** What to do next, following the compliance rule's procedure. */
  nextStep: string;
  /** The exemption that names this key or its user, if any (also when expired or not needed). */
  exemption: FindingExemption | null;
  /** Set for a `rotation-stopped` key (also when an exemption covers it); null otherwise. */
  rotationStopped: RotationStopped | null;
}

/** Normalises an instant to ISO-8601 UTC with whole seconds (`2026-01-31T12:00:00Z`). */
export function isoSeconds(at: Date): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function days(fromIso: string, to: Date): number {
  return (to.getTime() - new Date(fromIso).getTime()) / MS_PER_DAY;
}

function dateOnly(at: Date | string): string {
  return (typeof at === "string" ? new Date(at) : at).toISOString().slice(0, 10);
}

function plusDays(iso: string, n: number): Date {
  return new Date(new Date(iso).getTime() + n * MS_PER_DAY);
}

/** How a key is named in messages: its id, or its creation date when the id is unknown. */
export function keyRef(key: Pick<AuditKey, "accessKeyId" | "createDate">): string {
  return key.accessKeyId ? `key ${key.accessKeyId}` : `key created ${key.createDate}`;
}

interface Base {
  verdict: "rotate" | "delete" | "ok";
  reason: string;
}

/** Whole days, or one decimal on the day a threshold is crossed ("90.3 days", not "90 days, over 90"). */
function dayCount(value: number, threshold: number): string {
  return Math.floor(value) === threshold ? value.toFixed(1) : String(Math.floor(value));
}

/**
 * Whether a key's verdict (and its reason and next step) depends on its last use: only an
 * Inactive key's does ("unused for N days" counts from the last use). An Active key is judged by
 * its age alone, and so are the next steps of the keys next to it. The live listing asks
 * GetAccessKeyLastUsed only for keys where this is true, unless every key's last use is wanted.
 */
export function verdictNeedsLastUse(key: Pick<AuditKey, "status">): boolean {
  return key.status === "Inactive";
}

/** The verdict of one key before exemptions. */
export function baseVerdict(
  key: AuditKey,
  rules: Pick<AuditRules, "maxAgeDays" | "unusedDays" | "now">,
): Base {
  const age = days(key.createDate, rules.now);
  const ageWhole = dayCount(age, rules.maxAgeDays);
  if (key.status === "Active") {
    if (age > rules.maxAgeDays) {
      return {
        verdict: "rotate",
        reason: `Active and ${ageWhole} days old, over the ${rules.maxAgeDays}-day limit.`,
      };
    }
    return {
      verdict: "ok",
      reason: `Active and ${ageWhole} days old, within the ${rules.maxAgeDays}-day limit.`,
    };
  }
  const since = key.lastUsedDate ?? key.createDate;
  const unused = days(since, rules.now);
  const used = key.lastUsedDate ? `last used ${dateOnly(key.lastUsedDate)}` : "never used";
  if (unused > rules.unusedDays) {
    return {
      verdict: "delete",
      reason: `Inactive and unused for ${dayCount(unused, rules.unusedDays)} days (${used}), over the ${rules.unusedDays}-day threshold.`,
    };
  }
  return {
    verdict: "ok",
    reason: `Inactive, unused for ${dayCount(unused, rules.unusedDays)} days (${used}), within the ${rules.unusedDays}-day threshold.`,
  };
}

const RETIRE = "check with GetAccessKeyLastUsed that nothing still uses it, wait a few days, then delete it";

function rotateStep(key: AuditKey, others: readonly AuditKey[], otherVerdicts: readonly Base[]): string {
  const user = key.userName;
  const me = keyRef(key);
  if (others.length === 0) {
    return `Create a second key for ${user}, move applications to it, deactivate ${me}, ${RETIRE}.`;
  }
  const other = others[0];
  const otherRef = keyRef(other);
  if (other.status === "Inactive") {
    return (
      `${user} already has two keys (the IAM limit): delete the Inactive ${otherRef} first, then create a new key, ` +
      `move applications to it, deactivate ${me}, ${RETIRE}.`
    );
  }
  if (otherVerdicts[0].verdict === "ok") {
    return `Move applications to ${user}'s newer Active ${otherRef}, deactivate ${me}, ${RETIRE}.`;
  }
  return (
    `Both of ${user}'s Active keys are over the limit: keep the one in use (compare their last use), deactivate ` +
    `and delete the other to free a slot, then create a new key, move applications to it, deactivate the old one, ${RETIRE}.`
  );
}

function deleteStep(key: AuditKey): string {
  const used = key.lastUsedDate ? `last used ${key.lastUsedDate}` : "never used";
  const command = key.accessKeyId
    ? `aws iam delete-access-key --user-name ${key.userName} --access-key-id ${key.accessKeyId}`
    : `aws iam delete-access-key --user-name ${key.userName} --access-key-id <id> (find the id with aws iam list-access-keys --user-name ${key.userName})`;
  return `Check that nothing needs ${keyRef(key)} (${used}), then delete it: ${command}`;
}

function okStep(key: AuditKey, rules: Pick<AuditRules, "maxAgeDays" | "unusedDays">): string {
  if (key.status === "Active") {
    return `None; rotate it before ${dateOnly(plusDays(key.createDate, rules.maxAgeDays))}.`;
  }
  const since = key.lastUsedDate ?? key.createDate;
  return `None; delete it after ${dateOnly(plusDays(since, rules.unusedDays))} if it stays unused.`;
}

/**
 * The keys of one user that a stopped rotation leaves Active: none unless the user's tags name a
 * schedule and the user's newest managed key is older than `rotationDays + overlapDays +
 * ROTATION_GRACE_DAYS`; then every Active managed key past that age and within `maxAgeDays`
 * (older keys are `rotate`), with its due date and the days left. Pure.
 */
export function stoppedRotation(
  keys: readonly AuditKey[],
  rotation: UserRotation | undefined,
  rules: Pick<AuditRules, "maxAgeDays" | "now">,
): Map<AuditKey, RotationStopped> {
  const stopped = new Map<AuditKey, RotationStopped>();
  if (!rotation) return stopped;
  const { rotationDays, overlapDays } = rotation.schedule;
  const ids = new Set(rotation.managedKeyIds);
  const managed = keys
    .filter((k) => k.accessKeyId !== null && ids.has(k.accessKeyId))
    .sort((a, b) => a.createDate.localeCompare(b.createDate));
  if (managed.length === 0) return stopped;
  const threshold = rotationDays + overlapDays + ROTATION_GRACE_DAYS;
  if (days(managed[managed.length - 1].createDate, rules.now) <= threshold) return stopped;
  managed.forEach((key, i) => {
    const age = days(key.createDate, rules.now);
    if (key.status !== "Active" || age <= threshold || age > rules.maxAgeDays) return;
    const successor = managed[i + 1];
    const due = successor
      ? plusDays(successor.createDate, overlapDays)
      : plusDays(key.createDate, rotationDays);
    stopped.set(key, {
      rotationDays,
      overlapDays,
      graceDays: ROTATION_GRACE_DAYS,
      dueAction: successor ? "deactivate" : "replace",
      dueDate: isoSeconds(due),
      daysLeft: Math.max(0, Math.floor(rules.maxAgeDays - age)),
    });
  });
  return stopped;
}

function stoppedReason(
  key: AuditKey,
  stop: RotationStopped,
  rules: Pick<AuditRules, "maxAgeDays" | "now">,
): string {
  const age = Math.floor(days(key.createDate, rules.now));
  const schedule = `rotation=${stop.rotationDays} overlap=${stop.overlapDays}`;
  const action = stop.dueAction === "replace" ? "replaced" : "deactivated";
  return (
    `Active and ${age} days old: the rotation that manages it (${schedule}, ${stop.graceDays} days' grace) ` +
    `should have ${action} it by ${dateOnly(stop.dueDate)} and has not; ${stop.daysLeft} days left before the ` +
    `${rules.maxAgeDays}-day limit.`
  );
}

function stoppedStep(key: AuditKey, rules: Pick<AuditRules, "maxAgeDays">): string {
  return (
    `Check the scheduled deploy that rotates ${key.userName}'s keys: that it still runs (a disabled schedule, ` +
    `expired CI credentials, an unreachable state backend stop it) and that its deploys succeed (a retirement ` +
    `waiting on a key still in use, a refused deploy). Then run pulumi up, which rotates the key; rotate it by ` +
    `hand before ${dateOnly(plusDays(key.createDate, rules.maxAgeDays))} otherwise.`
  );
}

/**
 * The findings for one user's keys (every key of the user, so that the next step can take the
 * other key into account), in creation order. `rotation`, when the user's tags were read, enables
 * the `rotation-stopped` verdict.
 */
export function judgeUserKeys(
  keys: readonly AuditKey[],
  rules: AuditRules,
  rotation?: UserRotation,
): Finding[] {
  const sorted = [...keys].sort((a, b) => a.createDate.localeCompare(b.createDate));
  const bases = sorted.map((key) => baseVerdict(key, rules));
  const stopped = stoppedRotation(sorted, rotation, rules);
  return sorted.map((key, i) => {
    const base = bases[i];
    const others = sorted.filter((_, j) => j !== i);
    const otherBases = bases.filter((_, j) => j !== i);
    const match = findExemption(
      rules.exemptions,
      { userName: key.userName, ...(key.accessKeyId ? { accessKeyId: key.accessKeyId } : {}) },
      rules.now,
    );
    const exemption: FindingExemption | null = match
      ? {
          matchedBy: match.exemption.accessKeyId !== undefined ? "accessKeyId" : "userName",
          reason: match.exemption.reason,
          expires: match.exemption.expires,
          expired: match.expired,
        }
      : null;
    const ageDays = Math.floor(days(key.createDate, rules.now));
    const stop = base.verdict === "ok" ? stopped.get(key) : undefined;
    if (base.verdict === "ok" && !stop) {
      return {
        ...key,
        ageDays,
        verdict: "ok",
        reason: base.reason,
        nextStep: okStep(key, rules),
        exemption,
        rotationStopped: null,
      };
    }
    const verdict: Verdict = stop ? "rotation-stopped" : base.verdict;
    const reason = stop ? stoppedReason(key, stop, rules) : base.reason;
    if (exemption && !exemption.expired) {
      const then = stop ? "restart the rotation" : `${base.verdict} it`;
      return {
        ...key,
        ageDays,
        verdict: "exempt",
        reason: `${reason.slice(0, -1)}, but exempt until ${exemption.expires}: ${exemption.reason.trim()}${/[.!?]$/.test(exemption.reason.trim()) ? "" : "."}`,
        nextStep: `None until ${exemption.expires}; then ${then} or renew the exemption.`,
        exemption,
        rotationStopped: stop ?? null,
      };
    }
    const expiredNote = exemption ? ` Its exemption expired on ${exemption.expires}.` : "";
    const nextStep = stop
      ? stoppedStep(key, rules)
      : base.verdict === "rotate"
        ? rotateStep(key, others, otherBases)
        : deleteStep(key);
    return {
      ...key,
      ageDays,
      verdict,
      reason: reason + expiredNote,
      nextStep,
      exemption,
      rotationStopped: stop ?? null,
    };
  });
}

/**
 * Judges every user's keys; the findings are ordered by user name, then creation date.
 * `rotations` holds what the tags of the users that were read say about their rotation.
 */
export function judgeKeys(
  keys: readonly AuditKey[],
  rules: AuditRules,
  rotations: ReadonlyMap<string, UserRotation> = new Map(),
): Finding[] {
  const byUser = new Map<string, AuditKey[]>();
  for (const key of keys) {
    const list = byUser.get(key.userName) ?? [];
    list.push(key);
    byUser.set(key.userName, list);
  }
  const users = [...byUser.keys()].sort(compareNames);
  return users.flatMap((user) => judgeUserKeys(byUser.get(user) ?? [], rules, rotations.get(user)));
}

/** Stable, locale-independent ordering of names. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
