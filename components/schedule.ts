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
import { addDays, daysBetween } from "./clock";
import { RotationSettings } from "./settings";

export type Slot = "a" | "b";
export type KeyStatus = "Active" | "Inactive";

export const SLOTS: readonly Slot[] = ["a", "b"];

export function otherSlot(slot: Slot): Slot {
  return slot === "a" ? "b" : "a";
}

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
}

export type EventKind = "create" | "recreate" | "deactivate" | "max-age" | "adopt" | "slot-emptied";

export interface PlanEvent {
  kind: EventKind;
  slot: Slot;
  generation: number;
  message: string;
}

export interface PlanResult {
  plan: Plan;
  events: PlanEvent[];
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
): PlanResult {
  const events: PlanEvent[] = [];
  const now = iso(at);
  const slots: Record<Slot, SlotPlan> = { a: { ...EMPTY_SLOT }, b: { ...EMPTY_SLOT } };
  let current: Slot = "a";
  let unmanaged: ObservedKey[];
  /** Takes over a pre-existing key into `slot`, to be retired on the schedule. */
  const adopt = (slot: Slot, key: ObservedKey) => {
    slots[slot] = adoptedSlot(key);
    events.push({
      kind: "adopt",
      slot,
      generation: 0,
      message: `adopted pre-existing key ${key.accessKeyId} into slot ${slot}; it is retired on the schedule`,
    });
  };

  if (!previous) {
    let replacesKeyId = "";
    // First deploy: every key already on the user is unmanaged.
    unmanaged = [...observed].sort((x, y) => x.createDate.localeCompare(y.createDate));
    if (settings.unmanagedKeys === "retire" && unmanaged.length > 0) {
      // Adopt them: the newest becomes the predecessor of the new key; with two, the older one's
      // slot is refilled (it is deleted, after the last-used guard).
      const adopted = unmanaged.slice(-2);
      adopt("b", adopted[adopted.length - 1]);
      if (adopted.length === 2) {
        replacesKeyId = adopted[0].accessKeyId;
        events.push({
          kind: "adopt",
          slot: "a",
          generation: 0,
          message: `adopted pre-existing key ${replacesKeyId} into slot a; it is deleted now to make room for the new key`,
        });
      }
      unmanaged = [];
    } else if (unmanaged.length > 0) {
      return { plan: { current, ...slots, nextRotationDate: now }, events, unmanaged };
    }
    slots[current] = {
      present: true,
      generation: 1,
      createdAt: now,
      status: "Active",
      adoptedKeyId: "",
      replacesKeyId,
    };
    events.push({
      kind: "create",
      slot: current,
      generation: 1,
      message: `create key generation 1 in slot ${current}`,
    });
  } else {
    current = previous.current;
    const claimed = new Set<string>();
    for (const slot of SLOTS) {
      const prev = previous[slot];
      if (!prev.present) continue;
      const match = matchSlot(prev, slot, observed);
      if (match) {
        claimed.add(match.accessKeyId);
        slots[slot] = { ...prev };
      } else if (slot === current) {
        // The current key is missing (deleted outside Pulumi, or its creation failed): it is
        // created again now, and its overlap and rotation count from now.
        slots[slot] = { ...prev, createdAt: now, status: "Active", adoptedKeyId: "", replacesKeyId: "" };
        if (prev.adoptedKeyId) slots[slot].generation = 1;
        events.push({
          kind: "recreate",
          slot,
          generation: slots[slot].generation,
          message: `current ${describe(slot, prev)} is missing in IAM; it is created again`,
        });
      } else {
        events.push({
          kind: "slot-emptied",
          slot,
          generation: prev.generation,
          message: `${describe(slot, prev)} is no longer in IAM; slot ${slot} is now empty`,
        });
      }
    }
    // Keys tagged for one of our slots but of another generation are the slot's old occupant,
    // still waiting to be deleted: they are ours. Untagged keys are not.
    unmanaged = observed.filter((k) => !claimed.has(k.accessKeyId) && !k.tag);
    if (unmanaged.length > 0 && settings.unmanagedKeys === "retire") {
      const free = SLOTS.find((s) => s !== current && !slots[s].present);
      if (free && unmanaged.length === 1) {
        adopt(free, unmanaged[0]);
        unmanaged = [];
      }
    }
    if (unmanaged.length > 0) {
      return { plan: { current, ...slots, nextRotationDate: previous.nextRotationDate }, events, unmanaged };
    }
    // Rotation: a new key in the slot of the older key (never the current one).
    if (at.getTime() >= rotationDueDate(slots[current], settings).getTime()) {
      const target = otherSlot(current);
      const generation = Math.max(slots.a.generation, slots.b.generation) + 1;
      const replaced = slots[target];
      slots[target] = {
        present: true,
        generation,
        createdAt: now,
        status: "Active",
        adoptedKeyId: "",
        replacesKeyId: "",
      };
      events.push({
        kind: "create",
        slot: target,
        generation,
        message: replaced.present
          ? `rotate: delete ${describe(target, replaced)} and create key generation ${generation} in slot ${target}`
          : `rotate: create key generation ${generation} in slot ${target}`,
      });
      current = target;
    }
  }

  const predecessorSlot = otherSlot(current);
  const predecessor = slots[predecessorSlot];
  const reason = deactivationReason(predecessor, slots[current], at, settings);
  if (reason) {
    slots[predecessorSlot] = { ...predecessor, status: "Inactive" };
    const age = slotAgeDays(predecessor, at);
    events.push(
      reason === "max-age"
        ? {
            kind: "max-age",
            slot: predecessorSlot,
            generation: predecessor.generation,
            message: `deactivate ${describe(predecessorSlot, predecessor)} now, before its overlap ends: it is ${days(age)} old and maxAgeDays is ${settings.maxAgeDays} (the age limit wins over the overlap)`,
          }
        : {
            kind: "deactivate",
            slot: predecessorSlot,
            generation: predecessor.generation,
            message: `deactivate ${describe(predecessorSlot, predecessor)}: its ${settings.overlapDays}-day overlap is over`,
          },
    );
  }
  const plan: Plan = {
    current,
    a: slots.a,
    b: slots.b,
    nextRotationDate: iso(rotationDueDate(slots[current], settings)),
  };
  return { plan, events, unmanaged: [] };
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
