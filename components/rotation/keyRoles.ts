/**
 * What each key on a user is, from the user's tags: pure functions, no AWS.
 *
 * The key provider writes, on the IAM user:
 * - `keyrotation:<accessKeyId>` = `slot=a generation=3` (a slot key), `managed` (a standalone key)
 *   or `adopted` (a pre-existing key taken over), once the key exists;
 * - `keyrotation:pending-<slot>` (`keyrotation:pending` for a standalone key) = `generation=3
 *   at=<ISO-8601>`, just before CreateAccessKey; cleared (set to the empty value, which means "no
 *   intent") by the same TagUser call that tags the new key.
 *
 * The schedule resource also writes `keyrotation:schedule` (core/scheduleTag.ts), which names no key.
 *
 * A key created after a pending intent and never tagged is what an interrupted create left behind
 * (a lost answer, a killed deployment): its secret never reached the engine, so nobody can hold
 * it. A key tagged for the very slot and generation being created again was also never recorded
 * in the state (the engine creates a resource only when its state has none).
 */
import { MS_PER_DAY } from "../../core/clock";
import { SCHEDULE_TAG_KEY } from "../../core/scheduleTag";
import { KeyStatus, Slot } from "../../core/types";

export const TAG_PREFIX = "keyrotation:";
const PENDING = "pending";

/** How far IAM's CreateDate may run behind the clock that stamped the intent. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * An untagged key counts as an interrupted create's only when IAM created it within this long
 * after the intent; a key someone makes by hand later is "made outside Pulumi", never deleted.
 */
export const LEFTOVER_WINDOW_MS = 10 * 60_000;

/** IAM's limit of tags per user. */
export const MAX_USER_TAGS = 50;

export type KeyRole =
  | { kind: "slot"; slot: Slot; generation: number }
  | { kind: "standalone" }
  | { kind: "adopted" }
  | { kind: "leftover"; slot: Slot | ""; generation: number; reason: string; intentAt?: string }
  | { kind: "outside" };

export interface PendingIntent {
  slot: Slot | "";
  generation: number;
  at: string;
}

/** The tag value of a key: its slot and generation, or `managed` for a standalone key. */
export function tagValue(key: { slot: string; generation: number }): string {
  return key.slot ? `slot=${key.slot} generation=${key.generation}` : "managed";
}

/** Parses the value of a `keyrotation:<id>` user tag written for a slot key. */
export function parseTagValue(value: string | undefined): { slot: Slot; generation: number } | undefined {
  const m = /^slot=([ab]) generation=(\d+)$/.exec(value ?? "");
  return m ? { slot: m[1] as Slot, generation: Number(m[2]) } : undefined;
}

/** The tag key of the pending intent of a slot (`keyrotation:pending-a`) or a standalone key. */
export function pendingTagKey(slot: string): string {
  return `${TAG_PREFIX}${PENDING}${slot ? `-${slot}` : ""}`;
}

export function pendingTagValue(intent: { generation: number; at: string }): string {
  return `generation=${intent.generation} at=${intent.at}`;
}

function parsePending(key: string, value: string): PendingIntent | undefined {
  const k = /^keyrotation:pending(?:-([ab]))?$/.exec(key);
  const v = /^generation=(\d+) at=(\S+)$/.exec(value);
  if (!k || !v || Number.isNaN(new Date(v[2]).getTime())) return undefined;
  return { slot: (k[1] ?? "") as Slot | "", generation: Number(v[1]), at: v[2] };
}

/** The user's tags of this package, split into key tags (by key id) and pending intents. */
export function readTags(tags: readonly { Key?: string; Value?: string }[]): {
  keyTags: Map<string, string>;
  pending: PendingIntent[];
  /** Every `keyrotation:pending…` tag key on the user, with an intent or cleared. */
  pendingKeys: Set<string>;
  total: number;
} {
  const keyTags = new Map<string, string>();
  const pending: PendingIntent[] = [];
  const pendingKeys = new Set<string>();
  for (const tag of tags) {
    // The schedule tag (core/scheduleTag.ts) counts towards the total but names no key.
    if (!tag.Key?.startsWith(TAG_PREFIX) || tag.Key === SCHEDULE_TAG_KEY) continue;
    const intent = parsePending(tag.Key, tag.Value ?? "");
    if (intent) pending.push(intent);
    if (tag.Key.startsWith(TAG_PREFIX + PENDING)) pendingKeys.add(tag.Key);
    else keyTags.set(tag.Key.slice(TAG_PREFIX.length), tag.Value ?? "");
  }
  return { keyTags, pending, pendingKeys, total: tags.length };
}

/** The tag that clears a slot's intent: the same key, the empty value (no intent). */
export function clearedPendingTag(slot: string): { Key: string; Value: string } {
  return { Key: pendingTagKey(slot), Value: "" };
}

export interface ListedKey {
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
}

/** Orders keys by creation date, then id (so that equal dates still give one answer). */
function byAge(a: ListedKey, b: ListedKey): number {
  const d = new Date(a.createDate).getTime() - new Date(b.createDate).getTime();
  return d !== 0 ? d : a.accessKeyId < b.accessKeyId ? -1 : a.accessKeyId > b.accessKeyId ? 1 : 0;
}

/**
 * The role of each key. `creating` (the slot and generation a create is about to make) marks a
 * key already tagged for them as left over by an earlier, unrecorded attempt.
 */
export function keyRoles(
  keys: readonly ListedKey[],
  tags: { keyTags: Map<string, string>; pending: readonly PendingIntent[] },
  creating?: { slot: string; generation: number },
): Map<string, KeyRole> {
  const roles = new Map<string, KeyRole>();
  // Two keys tagged for one slot and generation: the state can only hold the newest (every create
  // of them first deletes the keys already tagged so), so the older ones were left by interrupted creates.
  const newest = new Map<string, ListedKey>();
  for (const key of keys) {
    const value = tags.keyTags.get(key.accessKeyId);
    if (!value || !parseTagValue(value)) continue;
    const seen = newest.get(value);
    if (!seen || byAge(key, seen) > 0) newest.set(value, key);
  }
  for (const key of keys) {
    const value = tags.keyTags.get(key.accessKeyId);
    const slotTag = parseTagValue(value);
    if (slotTag) {
      const same = creating && creating.slot === slotTag.slot && creating.generation === slotTag.generation;
      const twinOf = newest.get(value ?? "");
      const reason = same
        ? `tagged for slot ${slotTag.slot} generation ${slotTag.generation}, which is being created again: an earlier attempt was interrupted before the state recorded it`
        : twinOf && twinOf !== key
          ? `tagged for slot ${slotTag.slot} generation ${slotTag.generation} like the newer key ${twinOf.accessKeyId}, which the state holds: an earlier attempt was interrupted before the state recorded it`
          : undefined;
      roles.set(
        key.accessKeyId,
        reason ? { kind: "leftover", ...slotTag, reason } : { kind: "slot", ...slotTag },
      );
      continue;
    }
    if (value === "managed") {
      roles.set(key.accessKeyId, { kind: "standalone" });
      continue;
    }
    if (value === "adopted") {
      roles.set(key.accessKeyId, { kind: "adopted" });
      continue;
    }
    const created = new Date(key.createDate).getTime();
    const intent = tags.pending.find((p) => {
      const at = new Date(p.at).getTime();
      return created >= at - CLOCK_SKEW_MS && created <= at + LEFTOVER_WINDOW_MS;
    });
    roles.set(
      key.accessKeyId,
      intent
        ? {
            kind: "leftover",
            slot: intent.slot,
            generation: intent.generation,
            intentAt: intent.at,
            reason: `created ${key.createDate}, after the intent to create ${intent.slot ? `slot ${intent.slot} ` : ""}generation ${intent.generation} recorded at ${intent.at}, and never tagged: a create was interrupted before the state recorded it`,
          }
        : { kind: "outside" },
    );
  }
  return roles;
}

/** Tags of keys the user no longer has (deleted outside Pulumi): to be removed. */
export function staleKeyTags(keys: readonly ListedKey[], keyTags: Map<string, string>): string[] {
  const ids = new Set(keys.map((k) => k.accessKeyId));
  return [...keyTags.keys()].filter((id) => !ids.has(id)).map((id) => TAG_PREFIX + id);
}

/** How a key is named in error messages: its id, role, status, creation date and age. */
export function describeRole(key: ListedKey, role: KeyRole | undefined, at: Date): string {
  const ageDays = Math.max(0, Math.floor((at.getTime() - new Date(key.createDate).getTime()) / MS_PER_DAY));
  const what =
    role?.kind === "slot"
      ? `managed key, slot ${role.slot} generation ${role.generation}`
      : role?.kind === "standalone"
        ? "managed standalone key"
        : role?.kind === "adopted"
          ? "pre-existing key adopted by RotatingAccessKey"
          : role?.kind === "leftover"
            ? "left by an interrupted deploy"
            : "made outside Pulumi";
  return `${key.accessKeyId} (${what}; ${key.status}, created ${key.createDate}, ${ageDays} day${ageDays === 1 ? "" : "s"} old)`;
}

/**
 * The user's keys as the schedule sees them: slot keys with their slot tag, and keys left by an
 * interrupted create marked as such (they are deleted by the next create, never adopted).
 */
export function observe(
  keys: readonly ListedKey[],
  tags: { keyTags: Map<string, string>; pending: readonly PendingIntent[] },
): {
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
  tag?: { slot: Slot; generation: number };
  leftover?: string;
}[] {
  const roles = keyRoles(keys, tags);
  return keys.map((k) => {
    const role = roles.get(k.accessKeyId);
    const base = { accessKeyId: k.accessKeyId, status: k.status, createDate: k.createDate };
    if (role?.kind === "slot") return { ...base, tag: { slot: role.slot, generation: role.generation } };
    if (role?.kind === "leftover") return { ...base, leftover: role.reason };
    return base;
  });
}
