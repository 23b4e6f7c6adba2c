/**
 * What the schedule tells people (core/notifications.ts), from what its check decided: pure
 * functions. The key resources announce their own changes (created, deactivated, deleted) once
 * IAM made them; the schedule announces what needs a person: a retirement that waits on a use, a
 * key that nears `maxAgeDays` while it waits, a refused deploy and keys made outside the rotation.
 */
import { addDays } from "../../core/clock";
import { eventId, NEARING_LIMIT_DAYS, Notice } from "../../core/notifications";
import { RotationSettings } from "../../core/settings";
import { ObservedKey, Plan, PlanEvent, slotAgeDays } from "./schedule";

/** The id IAM lists for the key a slot of the plan holds; undefined when it is not listed (yet). */
export function slotKeyId(plan: Plan, slot: "a" | "b", observed: readonly ObservedKey[]): string | undefined {
  const p = plan[slot];
  if (!p.present) return undefined;
  if (p.adoptedKeyId)
    return observed.some((k) => k.accessKeyId === p.adoptedKeyId) ? p.adoptedKeyId : undefined;
  return observed.find((k) => k.tag?.slot === slot && k.tag.generation === p.generation)?.accessKeyId;
}

/** `retirement.waiting`: the key, what waits, its last use (service, region) and until when. */
function waiting(e: PlanEvent, settings: RotationSettings): Notice | undefined {
  if (e.kind !== "wait" || !e.accessKeyId || !e.waitsFor || !e.use?.lastUsedDate || !e.until)
    return undefined;
  return {
    type: "retirement.waiting",
    eventId: eventId("retirement.waiting", e.accessKeyId, e.waitsFor),
    accessKeyId: e.accessKeyId,
    details: {
      waitsFor: e.waitsFor,
      lastUsedDate: e.use.lastUsedDate,
      serviceName: e.use.serviceName,
      region: e.use.region,
      until: e.until,
      deletionGuardHours: settings.deletionGuardHours,
      message: e.message,
    },
  };
}

/**
 * `age.nearing-limit`, once per key, when a wait holds back a key that is within NEARING_LIMIT_DAYS
 * of `maxAgeDays`: for a deactivation that waits, the waiting key (at the limit it is deactivated
 * while still in use); for a rotation that waits, the current key (at the limit the deploy is
 * refused, as no plan can then keep it under the limit).
 */
function nearing(
  e: PlanEvent,
  plan: Plan,
  observed: readonly ObservedKey[],
  at: Date,
  settings: RotationSettings,
): Notice | undefined {
  if (e.kind !== "wait" || !e.accessKeyId || !e.use) return undefined;
  const slot = e.waitsFor === "deactivate" ? e.slot : plan.current;
  const key = e.waitsFor === "deactivate" ? e.accessKeyId : slotKeyId(plan, plan.current, observed);
  if (!key || !plan[slot].present) return undefined;
  const age = slotAgeDays(plan[slot], at);
  const daysLeft = Math.floor(settings.maxAgeDays - age);
  if (daysLeft > NEARING_LIMIT_DAYS) return undefined;
  return {
    type: "age.nearing-limit",
    eventId: eventId("age.nearing-limit", key),
    accessKeyId: key,
    details: {
      ageDays: Math.floor(age),
      daysLeft: Math.max(0, daysLeft),
      maxAgeDays: settings.maxAgeDays,
      limitAt: addDays(new Date(plan[slot].createdAt), settings.maxAgeDays).toISOString(),
      atLimit: e.waitsFor === "deactivate" ? "deactivated" : "deploy-refused",
      waitingAccessKeyId: e.accessKeyId,
      lastUsedDate: e.use.lastUsedDate ?? null,
      serviceName: e.use.serviceName,
      region: e.use.region,
    },
  };
}

/** `unmanaged-keys.found` for keys made outside the rotation: refused (`fail`) or taken over (`retire`). */
export function unmanagedNotice(
  ids: readonly string[],
  action: "refused" | "retire",
  message: string,
): Notice {
  const sorted = [...ids].sort();
  return {
    type: "unmanaged-keys.found",
    eventId: eventId("unmanaged-keys.found", action, sorted.join(",")),
    accessKeyId: null,
    details: { accessKeyIds: sorted, action, message },
  };
}

/** `deploy.refused`: the deployer's own key (`self-key`) or the age limit (`age-limit`), with the key and the refusal's text. */
export function refusalNotice(
  reason: "self-key" | "age-limit",
  accessKeyId: string,
  message: string,
  extra: Record<string, string | number> = {},
): Notice {
  return {
    type: "deploy.refused",
    eventId: eventId("deploy.refused", reason, accessKeyId),
    accessKeyId,
    details: { reason, ...extra, message },
  };
}

/** What a successful check's plan announces: waits, keys nearing the limit, keys taken over. */
export function planNotices(
  events: readonly PlanEvent[],
  plan: Plan,
  observed: readonly ObservedKey[],
  at: Date,
  settings: RotationSettings,
): Notice[] {
  const notices: Notice[] = [];
  for (const e of events) {
    const w = waiting(e, settings);
    if (w) notices.push(w);
  }
  for (const e of events) {
    const n = nearing(e, plan, observed, at, settings);
    if (n && !notices.some((x) => x.eventId === n.eventId)) notices.push(n);
  }
  const adopted = events
    .filter((e) => e.kind === "adopt" && e.accessKeyId)
    .map((e) => e.accessKeyId as string);
  if (adopted.length > 0) {
    notices.push(
      unmanagedNotice(
        adopted,
        "retire",
        `unmanagedKeys is "retire": the key(s) made outside the rotation are taken over, deactivated and deleted on the schedule while a new key takes over`,
      ),
    );
  }
  return notices;
}

/** `key.created`, `key.deactivated`, `key.deleted`: a key resource's change, once IAM made it. */
export function keyNotice(
  type: "key.created" | "key.deactivated" | "key.deleted",
  key: { accessKeyId: string; slot: string; generation: number },
  extra: Record<string, string> = {},
): Notice {
  return {
    type,
    eventId: eventId(type, key.accessKeyId),
    accessKeyId: key.accessKeyId,
    details: { slot: key.slot, generation: key.generation, ...extra },
  };
}
