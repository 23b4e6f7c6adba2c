/**
 * The rotation schedule as pure functions: given the previous plan, what IAM holds now and the
 * clock, what each of a user's two key slots should hold. No AWS or Pulumi code here.
 *
 * Lifecycle (defaults rotationDays 30, overlapDays 7, maxAgeDays 90):
 *   day 0   K1 created in slot a, current.
 *   day 30  K2 created in slot b, current; K1 stays Active (overlap).
 *   day 37  K1 deactivated.
 *   day 60  K1 deleted, K3 created in slot a (the slot of the older key); K2 deactivated on day 67.
 */
import { addDays, daysBetween, MS_PER_HOUR } from "../../core/clock";
import { CLOCK_SKEW_MS } from "./keyRoles";
import { RotationSettings } from "../../core/settings";

import { KeyStatus, otherSlot, Slot, SLOTS } from "../../core/types";

export type { KeyStatus, Slot };
export { otherSlot, SLOTS };

/** What one slot should hold. */
export interface SlotPlan {
  /** False when the slot holds no key. */
  present: boolean;
  /** 1, 2, 3... for keys the component creates; 0 for an adopted (pre-existing) key. */
  generation: number;
  /** ISO-8601: when the key was (or is to be) created. */
  createdAt: string;
  status: KeyStatus;
  /** Set for a pre-existing key taken over with `unmanagedKeys: "retire"`; empty otherwise. */
  adoptedKeyId: string;
  /**
   * A pre-existing key that must be deleted (after the last-used guard) before this slot's key
   * can be created: only when a user with two unmanaged keys is onboarded. Empty otherwise.
   */
  replacesKeyId: string;
}

export interface Plan {
  /** The slot holding the key applications should use. */
  current: Slot;
  a: SlotPlan;
  b: SlotPlan;
  /** ISO-8601: when the current key is next rotated. */
  nextRotationDate: string;
}

/** A key as IAM lists it now, with the slot tag the key provider wrote when it created the key. */
export interface ObservedKey {
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
  /** From the user tag `keyrotation:<accessKeyId>`; absent for keys this product did not create. */
  tag?: { slot: Slot; generation: number };
  /** Why the key is one an interrupted create left behind (see keyRoles.ts); the next create deletes it. */
  leftover?: string;
}

/**
 * The user's keys as the previous plan explains them, without reading the user's tags: when IAM
 * lists exactly one key per planned slot, an adopted slot's key by its id and a created slot's key
 * by a creation date within an hour after the plan made it (each key once, never a key created
 * before the plan decided on it), every key is the slot's key and is observed with that slot's
 * tag. Undefined when anything else is listed: then the tags decide (keyRoles.ts).
 */
export function observeFromPlan(
  keys: readonly { accessKeyId: string; status: KeyStatus; createDate: string }[],
  plan: Plan,
): ObservedKey[] | undefined {
  const present = SLOTS.filter((s) => plan[s].present);
  if (keys.length !== present.length) return undefined;
  const observed: ObservedKey[] = [];
  const used = new Set<string>();
  for (const slot of present) {
    const p = plan[slot];
    const planned = new Date(p.createdAt).getTime();
    const key = keys.find((k) => {
      if (used.has(k.accessKeyId)) return false;
      if (p.adoptedKeyId) return k.accessKeyId === p.adoptedKeyId;
      const created = new Date(k.createDate).getTime();
      return created >= planned - CLOCK_SKEW_MS && created <= planned + MS_PER_HOUR;
    });
    if (!key) return undefined;
    used.add(key.accessKeyId);
    const { accessKeyId, status, createDate } = key;
    observed.push(
      p.adoptedKeyId
        ? { accessKeyId, status, createDate }
        : { accessKeyId, status, createDate, tag: { slot, generation: p.generation } },
    );
  }
  return keys.map((k) => observed.find((o) => o.accessKeyId === k.accessKeyId) as ObservedKey);
}

export type EventKind =
  "create" | "recreate" | "deactivate" | "max-age" | "adopt" | "slot-emptied" | "leftover" | "wait";

export interface PlanEvent {
  kind: EventKind;
  slot: Slot;
  generation: number;
  message: string;
  /** The key the event is about, when IAM lists it: the waiting key of a `wait`, the adopted key of an `adopt`. */
  accessKeyId?: string;
  /** For a `wait`: what waits (the key's deletion before a rotation, or its deactivation). */
  waitsFor?: "delete" | "deactivate";
  /** For a `wait`: the key's last use, which makes it wait. */
  use?: KeyUse;
  /** For a `wait`: ISO-8601, the end of the guard window; the first deploy after it goes on. */
  until?: string;
}

/** What GetAccessKeyLastUsed reports of a key. */
export interface KeyUse {
  /** ISO-8601; absent when IAM has no record of a use. */
  lastUsedDate?: string;
  serviceName: string;
  region: string;
}

/** The last use of the keys a plan would take out of use, by key id (see `retiredKeys`). */
export type Usage = ReadonlyMap<string, KeyUse>;

export interface PlanResult {
  plan: Plan;
  events: PlanEvent[];
  /** Set when no plan can keep every key under the age limit without retiring a key still in use. */
  blocked?: { property: string; reason: string };
  /** Keys on the user that the component did not create and has not adopted. */
  unmanaged: ObservedKey[];
}

export const EMPTY_SLOT: SlotPlan = {
  present: false,
  generation: 0,
  createdAt: "",
  status: "Inactive",
  adoptedKeyId: "",
  replacesKeyId: "",
};

function iso(at: Date): string {
  return at.toISOString();
}

/** Age in days of a slot's key at `at`. */
export function slotAgeDays(slot: SlotPlan, at: Date): number {
  return daysBetween(new Date(slot.createdAt), at);
}

/**
 * When the current key is due for rotation: `rotationDays` after it was created; the first key
 * of a user is rotated `staggerDays` earlier so that users configured together spread out.
 */
export function rotationDueDate(
  current: SlotPlan,
  settings: Pick<RotationSettings, "rotationDays" | "staggerDays">,
): Date {
  const stagger = current.generation === 1 ? settings.staggerDays : 0;
  return addDays(new Date(current.createdAt), settings.rotationDays - stagger);
}

/**
 * True when a predecessor key must be deactivated at `at`: its overlap is over, or it would pass
 * `maxAgeDays` before the next daily deploy (the age limit wins over the overlap).
 */
export function deactivationReason(
  predecessor: SlotPlan,
  successor: SlotPlan,
  at: Date,
  settings: Pick<RotationSettings, "overlapDays" | "maxAgeDays">,
): "overlap" | "max-age" | undefined {
  if (!predecessor.present || predecessor.status !== "Active") return undefined;
  if (slotAgeDays(predecessor, at) > settings.maxAgeDays - 1) return "max-age";
  if (at.getTime() >= addDays(new Date(successor.createdAt), settings.overlapDays).getTime())
    return "overlap";
  return undefined;
}

function matchSlot(plan: SlotPlan, slot: Slot, keys: readonly ObservedKey[]): ObservedKey | undefined {
  if (plan.adoptedKeyId) return keys.find((k) => k.accessKeyId === plan.adoptedKeyId);
  return keys.find((k) => k.tag?.slot === slot && k.tag.generation === plan.generation);
}

function describe(slot: Slot, s: SlotPlan): string {
  return s.adoptedKeyId
    ? `pre-existing key ${s.adoptedKeyId} (slot ${slot})`
    : `key generation ${s.generation} (slot ${slot})`;
}

function days(n: number): string {
  return `${Math.floor(n)} day${Math.floor(n) === 1 ? "" : "s"}`;
}

/** A plan being worked out: the slots, the current slot, what was decided and keys left over. */
interface Draft {
  current: Slot;
  slots: Record<Slot, SlotPlan>;
  events: PlanEvent[];
  /** Keys on the user that the component did not create and has not adopted. */
  unmanaged: ObservedKey[];
  blocked?: { property: string; reason: string };
}

/** What the rotation steps consult besides the draft: IAM's keys and their last use. */
interface Facts {
  observed: readonly ObservedKey[];
  usage: Usage;
}

/** The id of the key a slot holds, as IAM lists it; undefined when it is not listed (yet). */
function keyIdOf(slotPlan: SlotPlan, slot: Slot, observed: readonly ObservedKey[]): string | undefined {
  return matchSlot(slotPlan, slot, observed)?.accessKeyId;
}

/** Until when a key used at `use` counts as in use (the guard window); undefined when it does not. */
function inUseUntil(use: KeyUse | undefined, at: Date, guardHours: number): Date | undefined {
  if (!use?.lastUsedDate) return undefined;
  const until = new Date(new Date(use.lastUsedDate).getTime() + guardHours * MS_PER_HOUR);
  return until.getTime() > at.getTime() ? until : undefined;
}

function usedText(id: string, use: KeyUse): string {
  return `${id} was used ${use.lastUsedDate} by service ${use.serviceName} in region ${use.region}`;
}

/** A new key of `generation`, created at `at`, Active. */
function freshSlot(generation: number, at: Date, replacesKeyId = ""): SlotPlan {
  return { present: true, generation, createdAt: iso(at), status: "Active", adoptedKeyId: "", replacesKeyId };
}

/** Takes over a pre-existing key into `slot`, to be retired on the schedule. */
function adopt(draft: Draft, slot: Slot, key: ObservedKey): void {
  draft.slots[slot] = adoptedSlot(key);
  draft.events.push({
    kind: "adopt",
    slot,
    generation: 0,
    accessKeyId: key.accessKeyId,
    message: `adopted pre-existing key ${key.accessKeyId} into slot ${slot}; it is retired on the schedule`,
  });
}

/**
 * First deploy: every key already on the user is unmanaged. With `unmanagedKeys: "retire"` the
 * newest becomes the predecessor of the new key, and with two the older one's slot is refilled
 * (it is deleted first, after the last-used guard). Otherwise they stay unmanaged and no key is planned.
 */
function onboard(observed: readonly ObservedKey[], at: Date, settings: RotationSettings): Draft {
  const draft: Draft = {
    current: "a",
    slots: { a: { ...EMPTY_SLOT }, b: { ...EMPTY_SLOT } },
    events: [],
    unmanaged: [],
  };
  const existing = observed
    .filter((k) => !k.leftover)
    .sort((x, y) => x.createDate.localeCompare(y.createDate));
  if (existing.length > 0 && settings.unmanagedKeys !== "retire") {
    draft.unmanaged = existing;
    return draft;
  }
  let replacesKeyId = "";
  if (existing.length > 0) {
    const adopted = existing.slice(-2);
    adopt(draft, "b", adopted[adopted.length - 1]);
    if (adopted.length === 2) {
      replacesKeyId = adopted[0].accessKeyId;
      draft.events.push({
        kind: "adopt",
        slot: "a",
        generation: 0,
        accessKeyId: replacesKeyId,
        message: `adopted pre-existing key ${replacesKeyId} into slot a; it is deleted now to make room for the new key`,
      });
    }
  }
  draft.slots.a = freshSlot(1, at, replacesKeyId);
  draft.events.push({
    kind: "create",
    slot: "a",
    generation: 1,
    message: `create key generation 1 in slot a`,
  });
  return draft;
}

/**
 * A later deploy: each slot keeps its key while IAM still lists it. A missing current key is
 * created again (its overlap and rotation count from now); a missing previous key empties its
 * slot. Keys tagged for one of our slots but of another generation are the slot's old occupant,
 * still waiting to be deleted: they are ours. Untagged keys are not; with `unmanagedKeys:
 * "retire"` a single one is adopted into the free slot.
 */
function carryOver(
  previous: Plan,
  observed: readonly ObservedKey[],
  at: Date,
  settings: RotationSettings,
): Draft {
  const draft: Draft = {
    current: previous.current,
    slots: { a: { ...EMPTY_SLOT }, b: { ...EMPTY_SLOT } },
    events: [],
    unmanaged: [],
  };
  const claimed = new Set<string>();
  for (const slot of SLOTS) {
    const prev = previous[slot];
    if (!prev.present) continue;
    const match = matchSlot(prev, slot, observed);
    if (match) {
      claimed.add(match.accessKeyId);
      draft.slots[slot] = { ...prev };
      // Ages come from IAM's CreateDate: a plan made with another clock (a stray clock override)
      // cannot make a key look younger than IAM says it is.
      if (Math.abs(new Date(prev.createdAt).getTime() - new Date(match.createDate).getTime()) > MS_PER_HOUR) {
        draft.slots[slot].createdAt = match.createDate;
      }
    } else if (slot === draft.current) {
      draft.slots[slot] = freshSlot(prev.adoptedKeyId ? 1 : prev.generation, at);
      draft.events.push({
        kind: "recreate",
        slot,
        generation: draft.slots[slot].generation,
        message: `current ${describe(slot, prev)} is missing in IAM; it is created again`,
      });
    } else {
      draft.events.push({
        kind: "slot-emptied",
        slot,
        generation: prev.generation,
        message: `${describe(slot, prev)} is no longer in IAM; slot ${slot} is now empty`,
      });
    }
  }
  draft.unmanaged = observed.filter((k) => !claimed.has(k.accessKeyId) && !k.tag && !k.leftover);
  const free = SLOTS.find((s) => s !== draft.current && !draft.slots[s].present);
  if (settings.unmanagedKeys === "retire" && draft.unmanaged.length === 1 && free) {
    adopt(draft, free, draft.unmanaged[0]);
    draft.unmanaged = [];
  }
  return draft;
}

/**
 * Rotation when the current key is due: a new key in the slot of the older key (never the current
 * one). The older key is deleted first, so the rotation waits while it was used within
 * `deletionGuardHours` (the seed's "confirm nothing uses it, then delete"), unless the current key
 * would pass `maxAgeDays` by waiting: then no plan can meet both, and the deploy is blocked.
 */
function rotateIfDue(draft: Draft, at: Date, settings: RotationSettings, facts: Facts): void {
  if (at.getTime() < rotationDueDate(draft.slots[draft.current], settings).getTime()) return;
  const target = otherSlot(draft.current);
  const replaced = draft.slots[target];
  const replacedId = replaced.present ? keyIdOf(replaced, target, facts.observed) : undefined;
  const use = replacedId ? facts.usage.get(replacedId) : undefined;
  const busyUntil = settings.forceDelete ? undefined : inUseUntil(use, at, settings.deletionGuardHours);
  if (replacedId && use && busyUntil) {
    const current = draft.slots[draft.current];
    if (slotAgeDays(current, at) > settings.maxAgeDays - 1) {
      draft.blocked = {
        property: "maxAgeDays",
        reason:
          `The current key (${describe(draft.current, current)}) is ${days(slotAgeDays(current, at))} old and must be ` +
          `rotated now to stay under maxAgeDays ${settings.maxAgeDays}, but its new key needs the slot of ` +
          `${describe(target, replaced)}, and ${usedText(replacedId, use)}, within deletionGuardHours ` +
          `${settings.deletionGuardHours}. Move that application to the current key and deploy after ` +
          `${busyUntil.toISOString()}, or set forceDelete: true to delete ${replacedId} anyway.`,
      };
      return;
    }
    draft.events.push({
      kind: "wait",
      slot: target,
      generation: replaced.generation,
      accessKeyId: replacedId,
      waitsFor: "delete",
      use,
      until: busyUntil.toISOString(),
      message:
        `rotation waits: ${usedText(replacedId, use)}, within deletionGuardHours ${settings.deletionGuardHours}; ` +
        `${replacedId} is deleted and a new key created in slot ${target} by the first deploy after ${busyUntil.toISOString()} ` +
        `(the current key stays within maxAgeDays ${settings.maxAgeDays} until then)`,
    });
    return;
  }
  const generation = Math.max(draft.slots.a.generation, draft.slots.b.generation) + 1;
  draft.slots[target] = freshSlot(generation, at);
  draft.events.push({
    kind: "create",
    slot: target,
    generation,
    message: replaced.present
      ? `rotate: delete ${describe(target, replaced)} and create key generation ${generation} in slot ${target}`
      : `rotate: create key generation ${generation} in slot ${target}`,
  });
  draft.current = target;
}

/**
 * Deactivates the predecessor once its overlap is over, but not while it was used within
 * `deletionGuardHours` (an application still uses it); the age limit deactivates it anyway, with a
 * warning that names who still uses it.
 */
function retirePredecessor(draft: Draft, at: Date, settings: RotationSettings, facts: Facts): void {
  const slot = otherSlot(draft.current);
  const predecessor = draft.slots[slot];
  const reason = deactivationReason(predecessor, draft.slots[draft.current], at, settings);
  if (!reason) return;
  const what = describe(slot, predecessor);
  const id = keyIdOf(predecessor, slot, facts.observed);
  const use = id ? facts.usage.get(id) : undefined;
  const busyUntil = settings.forceDelete ? undefined : inUseUntil(use, at, settings.deletionGuardHours);
  if (id && use && busyUntil && reason === "overlap") {
    draft.events.push({
      kind: "wait",
      slot,
      generation: predecessor.generation,
      accessKeyId: id,
      waitsFor: "deactivate",
      use,
      until: busyUntil.toISOString(),
      message:
        `deactivation waits: ${usedText(id, use)}, within deletionGuardHours ${settings.deletionGuardHours}; ` +
        `it is deactivated by the first deploy after ${busyUntil.toISOString()} without a use (move that application to the current key)`,
    });
    return;
  }
  draft.slots[slot] = { ...predecessor, status: "Inactive" };
  const stillUsed =
    id && use && busyUntil ? `; ${usedText(id, use)}: move that application to the current key` : "";
  draft.events.push({
    kind: reason === "max-age" ? "max-age" : "deactivate",
    slot,
    generation: predecessor.generation,
    message:
      reason === "max-age"
        ? `deactivate ${what} now, before its overlap ends: it is ${days(slotAgeDays(predecessor, at))} old and maxAgeDays is ${settings.maxAgeDays} (the age limit wins over the overlap)${stillUsed}`
        : `deactivate ${what}: its ${settings.overlapDays}-day overlap is over`,
  });
}

/** Refuses to plan when IAM reports a key created after the clock reading (a clock behind IAM's). */
function futureKey(observed: readonly ObservedKey[], at: Date): PlanResult["blocked"] {
  const future = observed.find((k) => new Date(k.createDate).getTime() > at.getTime() + CLOCK_SKEW_MS);
  if (!future) return undefined;
  return {
    property: "KEYROTATION_NOW",
    reason:
      `IAM reports access key ${future.accessKeyId} created ${future.createDate}, after this deploy's clock reading ` +
      `${iso(at)}: the schedule will not plan with a clock behind IAM's. Check the machine's clock and ` +
      `KEYROTATION_NOW, then deploy again.`,
  };
}

/**
 * The plan at `at`, from the previous plan (undefined on the first deploy), the user's keys as
 * IAM lists them and the settings. Deterministic: the same inputs give the same plan, at
 * preview and at update.
 */
export function nextPlan(
  previous: Plan | undefined,
  observed: readonly ObservedKey[],
  at: Date,
  settings: RotationSettings,
  usage: Usage = new Map(),
): PlanResult {
  const facts: Facts = { observed, usage };
  const blocked = futureKey(observed, at);
  if (blocked) {
    const empty = {
      current: "a" as Slot,
      a: { ...EMPTY_SLOT },
      b: { ...EMPTY_SLOT },
      nextRotationDate: iso(at),
    };
    return { plan: previous ?? empty, events: [], unmanaged: [], blocked };
  }
  const draft = previous ? carryOver(previous, observed, at, settings) : onboard(observed, at, settings);
  for (const key of observed.filter((k) => k.leftover)) {
    draft.events.push({
      kind: "leftover",
      slot: draft.current,
      generation: 0,
      message: `access key ${key.accessKeyId} was left by an interrupted deploy (${key.leftover}); the next key creation deletes it`,
    });
  }
  const plan = (nextRotationDate: string): Plan => ({
    current: draft.current,
    a: draft.slots.a,
    b: draft.slots.b,
    nextRotationDate,
  });
  if (draft.unmanaged.length > 0) {
    return {
      plan: plan(previous ? previous.nextRotationDate : iso(at)),
      events: draft.events,
      unmanaged: draft.unmanaged,
    };
  }
  if (previous) rotateIfDue(draft, at, settings, facts);
  if (draft.blocked) {
    return {
      plan: plan(previous ? previous.nextRotationDate : iso(at)),
      events: draft.events,
      unmanaged: [],
      blocked: draft.blocked,
    };
  }
  retirePredecessor(draft, at, settings, facts);
  return {
    plan: plan(iso(rotationDueDate(draft.slots[draft.current], settings))),
    events: draft.events,
    unmanaged: [],
  };
}

/** A slot holding a pre-existing key taken over with `unmanagedKeys: "retire"`. */
function adoptedSlot(key: ObservedKey): SlotPlan {
  return {
    present: true,
    generation: 0,
    createdAt: key.createDate,
    status: key.status,
    adoptedKeyId: key.accessKeyId,
    replacesKeyId: "",
  };
}

/**
 * The keys a plan takes out of use, by id, as IAM lists them now: keys it deactivates (Active in
 * IAM, Inactive in the plan) and keys it deletes (listed, but in no slot of the plan: replaced by
 * a rotation, deleted to make room, or the old occupant of a refilled slot). Keys an interrupted
 * create left behind are not counted: nobody holds their secret.
 */
export function retiredKeys(
  plan: Plan,
  observed: readonly ObservedKey[],
): { deactivated: string[]; deleted: string[] } {
  const deactivated: string[] = [];
  const deleted: string[] = [];
  for (const key of observed) {
    if (key.leftover) continue;
    const slot = SLOTS.find((s) => {
      const p = plan[s];
      if (!p.present) return false;
      if (p.adoptedKeyId) return p.adoptedKeyId === key.accessKeyId;
      return key.tag?.slot === s && key.tag.generation === p.generation;
    });
    if (!slot) deleted.push(key.accessKeyId);
    else if (key.status === "Active" && plan[slot].status === "Inactive") deactivated.push(key.accessKeyId);
  }
  return { deactivated, deleted };
}

/**
 * The events this deployment decided. A schedule that decides nothing new keeps its stored events
 * (so that its inputs stay as stored), and the program sees them again; those were stamped before
 * the component was registered (`registeredAt`), while this deployment's check stamps its events
 * after it. Events stamped later than `now` or more than an hour before it are never fresh. With a
 * simulated clock that does not move (`KEYROTATION_NOW`), both readings are equal and every event
 * stamped at that instant counts as fresh.
 */
export function freshEvents<E extends { at: string }>(
  events: readonly E[],
  registeredAt: Date,
  now: Date,
): E[] {
  return events.filter((e) => {
    const t = new Date(e.at).getTime();
    return t >= registeredAt.getTime() && t <= now.getTime() && now.getTime() - t < MS_PER_HOUR;
  });
}
