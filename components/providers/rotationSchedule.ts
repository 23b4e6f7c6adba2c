/**
 * The per-user schedule resource: `keyrotation:iam:RotationSchedule` (0.1.x: `pulumi-nodejs:dynamic/keyrotation:RotationSchedule`).
 *
 * Its `check` runs at preview and at update alike. It reads the previous plan from the old
 * inputs, lists the user's keys in IAM (with the slot tags the key provider writes), reads the
 * clock, and returns the new plan as part of the checked inputs. The engine plans those as the
 * resource's outputs at preview, so the key resources that follow the plan are known, and
 * identical, at preview and at update: preview is exact.
 *
 * Its create and update (never its check, so never a preview) write the user tag
 * `keyrotation:schedule` (`rotation=30 overlap=7 max=90`, core/scheduleTag.ts), from which the
 * audit's `rotation-stopped` verdict reads the user's schedule; its delete removes it. The checked
 * inputs carry the tag's value (`scheduleTag`), so that a schedule deployed before the tag existed,
 * or whose settings change, is updated (and tagged) by the next deploy.
 */
import * as pulumi from "@pulumi/pulumi";
import * as keyOps from "./accessKeyOps";
import { DRY_RUN_INPUT } from "./rotationScheduleResource";
import { componentNow } from "../../core/clock";
import * as iam from "@aws-sdk/client-iam";
import { callerAccessKeyId, getLastUse, sharedIamClient } from "../../core/iam";
import { baseAccessKeyId } from "../../core/connection";
import { describeRole, KeyRole, observe, readTags } from "../rotation/keyRoles";
import { SLOTS } from "../../core/types";
import { UNKNOWN_VALUE, SCHEDULE_TOKEN, SCHEDULE_TYPE } from "../../core/tokens";
import { KeyRotationError, messageOf } from "../../core/errors";
import { keepEventIds, Notice, snsTopicArnFailure, unpublished } from "../../core/notifications";
import { publishNotices } from "../../core/notify";
import { planNotices, refusalNotice, slotKeyId, unmanagedNotice } from "../rotation/notices";
import { SCHEDULE_TAG_KEY, scheduleTagValue } from "../../core/scheduleTag";
import { MAX_USER_TAGS } from "../rotation/keyRoles";
import {
  KeyUse,
  nextPlan,
  ObservedKey,
  observeFromPlan,
  Plan,
  PlanEvent,
  retiredKeys,
} from "../rotation/schedule";
import {
  resolveSettings,
  RotationSettings,
  SETTING_KEYS,
  UnmanagedKeysPolicy,
  userNameFailure,
} from "../../core/settings";

export { SCHEDULE_TOKEN, SCHEDULE_TYPE };

export interface ScheduleEvent extends PlanEvent {
  /** ISO-8601: the clock reading of the deploy that decided it. */
  at: string;
}

export interface ScheduleInputs extends RotationSettings {
  userName: string;
  /** The SNS topic that receives notifications; absent (never "") when none is set. */
  notifySnsTopicArn?: string;
}

/**
 * A refusal found by the check of an update (not a preview) while notifications are on: the
 * update publishes it, then fails with `reason` (see `checkSchedule`).
 */
export interface Refusal {
  property: string;
  reason: string;
  /** ISO-8601: the check's clock reading. */
  at: string;
  notices: Notice[];
}

export interface ScheduleState extends ScheduleInputs {
  plan: Plan;
  /** The value of the user tag `keyrotation:schedule` that create and update write. */
  scheduleTag: string;
  /** What the latest change of plan did, and why. */
  events: ScheduleEvent[];
  /** What this deploy's plan announces (with `notifySnsTopicArn` only); published by create or update. */
  notifications?: Notice[];
  refusal?: Refusal;
  /** Output: the event ids already published, so that a repeated deploy does not send them again. */
  notified?: string[];
}

function isUnknown(value: unknown): boolean {
  return value === UNKNOWN_VALUE;
}

/**
 * Why the user cannot be managed while keys made outside Pulumi exist, naming each key of the
 * user and its role, and only the fixes that can apply: `unmanagedKeys: "retire"` adopts any keys
 * on a first deploy, and later one key into a free slot.
 */
function describeUnmanaged(
  userName: string,
  unmanaged: ObservedKey[],
  observed: readonly ObservedKey[],
  plan: Plan,
  firstDeploy: boolean,
  at: Date,
): string {
  const roleOf = (k: ObservedKey): KeyRole =>
    unmanaged.includes(k)
      ? { kind: "outside" }
      : k.leftover
        ? { kind: "leftover", slot: "", generation: 0, reason: k.leftover }
        : k.tag
          ? { kind: "slot", ...k.tag }
          : { kind: "adopted" };
  const freeSlot = SLOTS.some((s) => s !== plan.current && !plan[s].present);
  const retire = firstDeploy || (unmanaged.length === 1 && freeSlot);
  const ids = unmanaged.map((k) => k.accessKeyId).join(", ");
  return (
    `IAM user "${userName}" has ${unmanaged.length} access key(s) that RotatingAccessKey did not create. The user's keys: ` +
    `${observed.map((k) => describeRole(k, roleOf(k), at)).join("; ")}. Refusing to manage the user while they exist. ` +
    (retire
      ? `Set unmanagedKeys: "retire" to have them deactivated and deleted on the schedule while a new key takes over, ` +
        `or check that ${ids} is unused (aws iam get-access-key-last-used) and delete it.`
      : `Both slots are in use, so unmanagedKeys: "retire" cannot take ${unmanaged.length === 1 ? "it" : "them"} over: ` +
        `check that ${ids} is unused (aws iam get-access-key-last-used --access-key-id <id>), then delete it ` +
        `(aws iam delete-access-key --user-name ${userName} --access-key-id <id>) and run pulumi up again.`)
  );
}

/**
 * The user's keys as IAM lists them, with their slot tags: one ListAccessKeys, and ListUserTags
 * only when the user has keys that the previous plan does not explain exactly (a rotation day,
 * drift, a key left by an interrupted deploy, keys found by a first deploy).
 */
export async function observeKeys(userName: string, plan?: Plan): Promise<ObservedKey[]> {
  const client = sharedIamClient();
  try {
    const keys = await keyOps.listKeys(client, userName);
    // No key: nothing for a tag to explain (tags of deleted keys are cleaned up by the next create).
    if (keys.length === 0) return [];
    const explained = plan ? observeFromPlan(keys, plan) : undefined;
    if (explained) return explained;
    return observe(keys, readTags(await keyOps.listUserTags(client, userName)));
  } finally {
    client.destroy();
  }
}

/** Observations that simply confirm a plan: used when the user name is unknown at preview. */
function assumePlanned(plan: Plan | undefined): ObservedKey[] {
  if (!plan) return [];
  return (["a", "b"] as const)
    .filter((s) => plan[s].present)
    .map((s) => ({
      accessKeyId: plan[s].adoptedKeyId || `PLANNED${s.toUpperCase()}${plan[s].generation}`,
      status: plan[s].status,
      createDate: plan[s].createdAt,
      ...(plan[s].adoptedKeyId ? {} : { tag: { slot: s, generation: plan[s].generation } }),
    }));
}

/** Where the schedule reads the user's keys and the time: IAM and the shared clock, unless replaced (mocks). */
export interface ScheduleSources {
  /** The user's keys with their slot tags; `plan`, the previous one, may spare the tag read. */
  observe(userName: string, plan?: Plan): Promise<ObservedKey[]>;
  clock(): Date;
  /** The access key id the deployment's own AWS calls are signed with, when it is one. */
  caller(): Promise<string | undefined>;
  /** What GetAccessKeyLastUsed reports of a key. */
  lastUse(accessKeyId: string): Promise<KeyUse>;
}

/** GetAccessKeyLastUsed; a key already gone counts as never used. */
export async function keyLastUse(accessKeyId: string): Promise<KeyUse> {
  const client = sharedIamClient();
  try {
    const use = await getLastUse(client, accessKeyId);
    return {
      ...(use.lastUsedDate ? { lastUsedDate: use.lastUsedDate } : {}),
      serviceName: use.serviceName,
      region: use.region,
    };
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) return { serviceName: "N/A", region: "N/A" };
    throw err;
  } finally {
    client.destroy();
  }
}

/**
 * Plans, then asks IAM when the keys the plan would take out of use were last used, and plans
 * again with that (a key still in use waits; see schedule.ts): at most two lookups per user, and
 * none when nothing is retired or `forceDelete` is set.
 */
async function planWithUsage(
  previous: Plan | undefined,
  observed: ObservedKey[],
  at: Date,
  settings: RotationSettings,
  sources: ScheduleSources,
  caller: string | undefined,
) {
  const usage = new Map<string, KeyUse>();
  let result = nextPlan(previous, observed, at, settings, usage);
  for (let round = 0; round < 3 && !settings.forceDelete && result.unmanaged.length === 0; round++) {
    const { deactivated, deleted } = retiredKeys(result.plan, observed);
    // The deployer's own key is in use by this very deploy: that use never makes the plan wait;
    // the plan is refused instead (selfLockout), naming the key and the fix.
    const missing = [...deactivated, ...deleted].filter((id) => !usage.has(id) && id !== caller);
    if (missing.length === 0) break;
    for (const id of missing) usage.set(id, await sources.lastUse(id));
    result = nextPlan(previous, observed, at, settings, usage);
  }
  return result;
}

/**
 * The deployment's own access key id: the key the provider's IAM calls are signed with (the
 * default credential chain or the configured profile) or, when the provider assumes a role, the
 * base key that signs the AssumeRole call (the session's temporary key belongs to no IAM user).
 */
export async function deployerKeyId(): Promise<string | undefined> {
  const base = await baseAccessKeyId();
  if (base) return base;
  const client = sharedIamClient();
  try {
    return await callerAccessKeyId(client);
  } finally {
    client.destroy();
  }
}

/**
 * Why the plan must not run: it would deactivate or delete the key the deployment itself is signed
 * with, locking out the rest of this deploy and every later one. `undefined` when it would not.
 */
export function selfLockout(
  userName: string,
  caller: string | undefined,
  plan: Plan,
  observed: readonly ObservedKey[],
): string | undefined {
  if (!caller) return undefined;
  const { deactivated, deleted } = retiredKeys(plan, observed);
  const action = deleted.includes(caller)
    ? "delete"
    : deactivated.includes(caller)
      ? "deactivate"
      : undefined;
  if (!action) return undefined;
  const cur = plan[plan.current];
  const currentKey = observed.find((k) =>
    cur.adoptedKeyId
      ? k.accessKeyId === cur.adoptedKeyId
      : k.tag?.slot === plan.current && k.tag.generation === cur.generation,
  );
  const use = currentKey
    ? `the user's current key ${currentKey.accessKeyId}`
    : "the new key the last deploy created";
  return (
    `This deploy would ${action} access key ${caller} of IAM user "${userName}", and the deployment's own AWS calls ` +
    `are signed with that key: the rest of this deploy and every later one would be locked out. Nothing was changed. ` +
    `Run the deploy with ${use} (the RotatingAccessKey's accessKeyId and secretAccessKey outputs, or its Secrets Manager ` +
    `secret when secretsManagerSecretId is set), or run it once with other credentials.`
  );
}

type Failures = { property: string; reason: string }[];
type CheckResult = { inputs: Record<string, unknown>; failures: Failures };

/** The settings and the user name, checked before any AWS call. */
function checkInputs(news: Record<string, unknown>): { settings: RotationSettings; failures: Failures } {
  const failures: Failures = [];
  if (!isUnknown(news.userName)) {
    const f = userNameFailure(news.userName);
    if (f) failures.push(f);
  }
  const raw: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) raw[k] = news[k];
  const { settings, failures: settingFailures } = resolveSettings(raw);
  const topic = isUnknown(news.notifySnsTopicArn) ? undefined : snsTopicArnFailure(news.notifySnsTopicArn);
  return { settings, failures: [...failures, ...settingFailures, ...(topic ? [topic] : [])] };
}

/** Runs an AWS step; its failure becomes a check failure on `property` that says what failed. */
async function step<T>(
  property: string,
  what: string,
  run: () => Promise<T>,
): Promise<{ value: T } | { failure: Failures[number] }> {
  try {
    return { value: await run() };
  } catch (err) {
    return { failure: { property, reason: `${what} failed: ${messageOf(err)}` } };
  }
}

/**
 * Why the plan must not run: keys made outside Pulumi, the age limit, or the deployer's own key
 * retired; with what a notification says of it (none for a clock behind IAM's).
 */
function refusal(
  userName: string,
  result: ReturnType<typeof nextPlan>,
  observed: ObservedKey[],
  firstDeploy: boolean,
  caller: string | undefined,
  at: Date,
): (Failures[number] & { notice?: Notice }) | undefined {
  if (result.blocked) {
    const current = slotKeyId(result.plan, result.plan.current, observed);
    const notice =
      result.blocked.property === "maxAgeDays" && current
        ? refusalNotice("age-limit", current, result.blocked.reason)
        : undefined;
    return { ...result.blocked, ...(notice ? { notice } : {}) };
  }
  if (result.unmanaged.length > 0) {
    const reason = describeUnmanaged(userName, result.unmanaged, observed, result.plan, firstDeploy, at);
    const ids = result.unmanaged.map((k) => k.accessKeyId);
    return { property: "unmanagedKeys", reason, notice: unmanagedNotice(ids, "refused", reason) };
  }
  const lockout = selfLockout(userName, caller, result.plan, observed);
  if (!lockout || !caller) return undefined;
  const action = retiredKeys(result.plan, observed).deleted.includes(caller) ? "delete" : "deactivate";
  return {
    property: "userName",
    reason: lockout,
    notice: refusalNotice("self-key", caller, lockout, { wouldRetire: action }),
  };
}

export { DRY_RUN_INPUT };

/**
 * The schedule's `check`, at preview and at update alike: checks the settings, reads the clock,
 * the user's keys and (for keys it would retire) their last use, and returns the new plan as part
 * of the inputs; or the reason it must not run.
 */
export async function checkSchedule(
  olds: Partial<ScheduleState>,
  news: Record<string, unknown>,
  sources: ScheduleSources = {
    observe: observeKeys,
    clock: () => componentNow(),
    caller: deployerKeyId,
    lastUse: keyLastUse,
  },
): Promise<CheckResult> {
  // Whether this is a preview: told by the component (pulumi.runtime.isDryRun()), unknown otherwise.
  const dryRun = news[DRY_RUN_INPUT];
  news = { ...news };
  delete news[DRY_RUN_INPUT];
  delete news.notifications;
  delete news.refusal;
  if (news.notifySnsTopicArn === "" || news.notifySnsTopicArn === null) delete news.notifySnsTopicArn;
  const notify = news.notifySnsTopicArn !== undefined;
  const { settings, failures } = checkInputs(news);
  if (failures.length > 0) return { inputs: news, failures };
  let at: Date;
  try {
    at = sources.clock();
  } catch (err) {
    return { inputs: news, failures: [{ property: "KEYROTATION_NOW", reason: (err as Error).message }] };
  }
  const unknownUser = isUnknown(news.userName);
  const userName = news.userName as string;
  const previous = olds.plan && olds.userName === userName ? olds.plan : undefined;
  const observed = unknownUser
    ? { value: assumePlanned(previous) }
    : await step("userName", `Listing the access keys of IAM user "${userName}"`, () =>
        sources.observe(userName, previous),
      );
  if ("failure" in observed) return { inputs: news, failures: [observed.failure] };
  const caller = unknownUser ? undefined : await sources.caller();
  const planned = await step(
    "userName",
    `Reading when the keys of IAM user "${userName}" were last used`,
    () => planWithUsage(previous, observed.value, at, settings, sources, caller),
  );
  if ("failure" in planned) return { inputs: news, failures: [planned.failure] };
  const result = planned.value;
  const refused = refusal(userName, result, observed.value, !previous, caller, at);
  if (refused) {
    const { notice, ...failure } = refused;
    // At an update with notifications on, the refusal is published by the update, which then
    // fails with the same reason; a preview (or an unknown kind of run) fails here, as always.
    if (!notify || dryRun !== false || !notice) return { inputs: news, failures: [failure] };
    const stored: Record<string, unknown> = {
      ...news,
      ...settings,
      userName: news.userName,
      events: olds.events ?? [],
      refusal: { ...failure, at: at.toISOString(), notices: [notice] },
    };
    if (previous) stored.plan = previous;
    return { inputs: stored, failures: [] };
  }
  const events: ScheduleEvent[] = result.events.map((e) => ({ ...e, at: at.toISOString() }));
  const inputs = {
    ...news,
    ...settings,
    userName: news.userName,
    plan: result.plan,
    events,
    ...(notify
      ? { notifications: planNotices(result.events, result.plan, observed.value, at, settings) }
      : {}),
    scheduleTag: scheduleTagValue(settings),
  };
  return { inputs: keepStoredEvents(olds, inputs), failures: [] };
}

/** The value with object keys in sorted order (the state's order), so that JSON compares contents. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(obj)
      .sort()
      .map((k) => [k, canonical(obj[k])]),
  );
}

/**
 * A run that decides nothing new (no event, the same user, settings and plan, no notice among the
 * stored events) keeps the stored events: `events` says what the latest change of plan did. The
 * checked inputs then equal the stored ones, as for any resource that does not change, and the
 * engine's "same" step has nothing to write. (With `[]` instead, after any deploy that changed a
 * plan, the next preview or up finds every such schedule's inputs changed, and the engine's
 * snapshot manager serializes the whole deployment once per schedule: quadratic in the number of
 * users.) The program sees the stored outputs of a "same" resource either way.
 */
function keepStoredEvents<
  T extends Record<string, unknown> & { events: ScheduleEvent[]; notifications?: Notice[] },
>(olds: Partial<ScheduleState>, inputs: T): T {
  if (inputs.events.length > 0 || olds.events === undefined) return inputs;
  const kept = {
    ...inputs,
    events: olds.events,
    ...(inputs.notifications !== undefined ? { notifications: olds.notifications ?? [] } : {}),
  };
  const { changes } = diffSchedule(
    canonical(olds) as Partial<ScheduleState>,
    canonical(kept) as ScheduleState,
  );
  return changes ? inputs : kept;
}

/** The plan and the settings; `events` only when they say the deploy waits or cleans up. */
export function diffSchedule(
  olds: Partial<ScheduleState>,
  news: ScheduleState,
): { changes: boolean; replaces: string[] } {
  const keys: (keyof ScheduleState)[] = [
    "userName",
    ...SETTING_KEYS,
    "plan",
    "scheduleTag",
    "notifySnsTopicArn",
    "refusal",
  ];
  const changed = keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
  // A deploy that waits (or cleans up after an interrupted one) leaves the plan as it was; the
  // schedule is still updated, so that its events reach the preview and the deploy's output.
  const notice = (news.events ?? []).some((e) => e.kind === "wait" || e.kind === "leftover");
  // A refusal always reaches the update, which publishes it and fails the deploy.
  return { changes: changed.length > 0 || notice || news.refusal !== undefined, replaces: [] };
}

/** The clock reading of a publish: the deploy's (simulated in a simulation), else the machine's. */
function publishTime(): string {
  try {
    return componentNow().toISOString();
  } catch {
    return new Date().toISOString();
  }
}

/**
 * An update that fails on purpose and still records state: the provider SDK reports an error with
 * an `id` as a partial failure, and the engine stores `properties` as the resource's outputs.
 */
export class RefusedDeployError extends KeyRotationError {
  readonly reasons: string[];
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Record<string, unknown>,
  ) {
    super(message);
    this.name = "RefusedDeployError";
    this.reasons = [message];
  }
}

/** JSON values only (the engine's struct has no undefined). */
function plainJson(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/**
 * The schedule's create and update: publishes what the plan announces (or the refusal) that was
 * not published before, and records the ids sent. A refused deploy then fails with the refusal's
 * reason, keeping the plan as it was. Ids of refusals are forgotten once a deploy succeeds, so that
 * the same refusal later is announced again.
 */
export async function applySchedule(
  id: string,
  olds: Partial<ScheduleState> | undefined,
  news: ScheduleState,
): Promise<ScheduleState> {
  const published = olds?.notified;
  const topic = news.notifySnsTopicArn;
  if (news.refusal) {
    const sent = await publishNotices(
      topic,
      news.userName,
      news.refusal.at,
      unpublished(news.refusal.notices, published),
    );
    throw new RefusedDeployError(
      news.refusal.reason,
      id,
      plainJson({ ...news, notified: keepEventIds(published, sent) }),
    );
  }
  // Refusals are over once a deploy succeeds: the same refusal later is announced again.
  const kept = (published ?? []).filter(
    (e) => !e.startsWith("deploy.refused/") && !e.startsWith("unmanaged-keys.found/refused/"),
  );
  const sent = await publishNotices(
    topic,
    news.userName,
    publishTime(),
    unpublished(news.notifications ?? [], kept),
  );
  const notified = keepEventIds(kept, sent);
  return topic !== undefined || published !== undefined ? { ...news, notified } : news;
}

/** What refusing at IAM's tag limit says when the schedule tag cannot be written. */
function scheduleTagLimitError(userName: string, total: number, cause: unknown): KeyRotationError {
  return new KeyRotationError(
    `IAM user "${userName}" has ${total} tags, and IAM allows ${MAX_USER_TAGS}; the rotation needs one free for ` +
      `${SCHEDULE_TAG_KEY}, the schedule that the audit reads to tell when the rotation has stopped (it uses at ` +
      `most five of the user's tags in all). Remove tags that other tools set on the user (aws iam list-user-tags ` +
      `--user-name ${userName}), then run pulumi up again.`,
    { cause },
  );
}

/**
 * Writes `keyrotation:schedule` on the user (TagUser overwrites an older value). At IAM's tag limit
 * it refuses with the user's tag count and the fix; a missing user is named as such.
 */
export async function writeScheduleTag(userName: string, value: string): Promise<void> {
  const client = sharedIamClient();
  try {
    await client.send(
      new iam.TagUserCommand({ UserName: userName, Tags: [{ Key: SCHEDULE_TAG_KEY, Value: value }] }),
    );
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) throw keyOps.userMissing(userName, err);
    if (!(err instanceof iam.LimitExceededException)) throw err;
    const tags = await keyOps.listUserTags(client, userName);
    throw scheduleTagLimitError(userName, tags.length, err);
  } finally {
    client.destroy();
  }
}

/** Removes `keyrotation:schedule` from the user; a user already gone has nothing to remove. */
export async function removeScheduleTag(userName: string): Promise<void> {
  const client = sharedIamClient();
  try {
    await keyOps.untagUser(client, userName, [SCHEDULE_TAG_KEY]);
  } finally {
    client.destroy();
  }
}

/** The tag value of a state: the stored one, or (for a state without it) the one its settings give. */
function tagOf(state: Partial<ScheduleState>): string {
  return (
    state.scheduleTag ??
    scheduleTagValue({
      rotationDays: state.rotationDays as number,
      overlapDays: state.overlapDays as number,
      maxAgeDays: state.maxAgeDays as number,
    })
  );
}

export const scheduleProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<ScheduleState>, news: Record<string, unknown>) {
    return checkSchedule(olds, news);
  },
  async diff(_id: string, olds: Partial<ScheduleState>, news: ScheduleState) {
    return diffSchedule(olds, news);
  },
  async create(inputs: ScheduleState) {
    const id = `schedule-${inputs.userName}`;
    await writeScheduleTag(inputs.userName, tagOf(inputs));
    return { id, outs: await applySchedule(id, undefined, { ...inputs, scheduleTag: tagOf(inputs) }) };
  },
  async update(id: string, olds: ScheduleState, news: ScheduleState) {
    if (olds.userName && olds.userName !== news.userName) await removeScheduleTag(olds.userName);
    await writeScheduleTag(news.userName, tagOf(news));
    return { outs: await applySchedule(id, olds, { ...news, scheduleTag: tagOf(news) }) };
  },
  async delete(_id: string, props: ScheduleState) {
    if (props.userName) await removeScheduleTag(props.userName);
  },
};

/** The rotation settings of one user (the RotatingAccessKey arguments without delivery options). */
export interface RotationScheduleArgs {
  /** The IAM user whose keys are rotated. The user must exist. */
  userName: pulumi.Input<string>;
  /** Days between new keys. Default 30; 1 to 365; `rotationDays + overlapDays` must be below `maxAgeDays`. */
  rotationDays?: pulumi.Input<number>;
  /** Days the previous key stays Active after a new key is created. Default 7; 0 to `rotationDays - 1`. */
  overlapDays?: pulumi.Input<number>;
  /** No key stays Active past this age, even during the overlap. Default 90; 2 to 3650. */
  maxAgeDays?: pulumi.Input<number>;
  /**
   * The last-used guard: a key used within this many hours is neither deactivated (unless the age
   * limit requires it) nor deleted; the schedule waits instead. Default 24; 0 to 8760.
   */
  deletionGuardHours?: pulumi.Input<number>;
  /** Deactivate and delete on schedule even when a key was used within `deletionGuardHours`. Default false. */
  forceDelete?: pulumi.Input<boolean>;
  /**
   * Rotate the user's first key this many days early, so that users configured together do not
   * all rotate on the same day. Default 0; 0 to `rotationDays - 1`.
   */
  staggerDays?: pulumi.Input<number>;
  /**
   * Keys on the user that the component did not create: `"fail"` (default) stops the deploy and
   * lists them; `"retire"` adopts them, creates a new current key at once, then deactivates and
   * deletes them on the schedule.
   */
  unmanagedKeys?: pulumi.Input<UnmanagedKeysPolicy>;
  /** Seconds to wait until a new key works (STS GetCallerIdentity signed with it). Default 60; 0 skips; max 900. */
  verifyTimeoutSeconds?: pulumi.Input<number>;
  /**
   * ARN of an SNS topic (`arn:aws:sns:<region>:<12-digit account>:<name>`) that receives one JSON
   * message per event that needs a person or records a change (docs/notifications.md). Published
   * by `pulumi up`, never by a preview; the deployer needs `sns:Publish` on it. Default: none.
   */
  notifySnsTopicArn?: pulumi.Input<string>;
}

// The resource class is in its own module, without the AWS SDK, for programs that only register it.
export { RotationSchedule } from "./rotationScheduleResource";
