/**
 * The IAM operations behind the `AccessKey` dynamic resource, in plain functions. The state stores
 * only a loader of the providers (stored.ts); the engine's provider host loads this module from the
 * installed package, and the IAM calls share its one client (sharedIamClient).
 *
 * No function here puts a secret access key into an error, a log line or a diagnostic.
 */
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { requestHandlerOptions, resolveRegion } from "../../core/aws";
import { connection } from "../../core/connection";
import { componentNow, MS_PER_HOUR } from "../../core/clock";
import { KeyInUseError, KeyRotationError, messageOf } from "../../core/errors";
import { callerAccessKeyId, KeyRecord, listUserKeys, sharedIamClient } from "../../core/iam";
import { BOUNDS, DEFAULTS, Failure, integerFailure, userNameFailure } from "../../core/settings";
import { parseTagValue, pendingTagKey, TAG_PREFIX } from "../rotation/keyRoles";
import { isKeyStatus, KeyStatus } from "../../core/types";
import { snsTopicArnFailure } from "../../core/notifications";
import { publishNotices } from "../../core/notify";
import { UNKNOWN_VALUE } from "../../core/tokens";
import { keyNotice } from "../rotation/notices";

export type { KeyStatus };

/** Inputs of one access key resource. */
export interface AccessKeyInputs {
  userName: string;
  status: KeyStatus;
  deletionGuardHours: number;
  forceDelete: boolean;
  /** Slot `a` or `b` when the key belongs to a RotatingAccessKey; empty for a standalone key. */
  slot: string;
  /** Changing it replaces the key; 0 for a standalone or adopted key. */
  generation: number;
  /** Take over this existing key instead of creating one (no secret is known for it). */
  adoptAccessKeyId: string;
  /** Delete this pre-existing key (after the last-used guard) before creating the new one. */
  replacesAccessKeyId: string;
  /** Seconds to wait for a new key to work (STS GetCallerIdentity signed with it); 0 skips it. */
  verifyTimeoutSeconds: number;
  /** Set by check: what an interrupted earlier create of this slot and generation left (see interruptedCreateNotice). */
  interrupted?: string;
  /** The SNS topic told of this key's creation, deactivation and deletion; absent (never "") when none. */
  notifySnsTopicArn?: string;
}

export interface AccessKeyOutputs extends AccessKeyInputs {
  accessKeyId: string;
  secretAccessKey: string;
  createDate: string;
}

export const ACCESS_KEY_ID_PATTERN = /^[A-Z0-9]{16,128}$/;
export { parseTagValue, TAG_PREFIX };

/** Applies defaults and checks the inputs; no AWS call. */
export function checkAccessKeyInputs(news: Record<string, unknown>): {
  inputs: AccessKeyInputs;
  failures: Failure[];
} {
  const failures: Failure[] = [];
  const userFailure = userNameFailure(news.userName);
  if (userFailure) failures.push(userFailure);
  const status = news.status ?? "Active";
  if (!isKeyStatus(status)) {
    failures.push({
      property: "status",
      reason: `status must be "Active" or "Inactive"; got ${JSON.stringify(status)}.`,
    });
  }
  const num = (name: "deletionGuardHours" | "verifyTimeoutSeconds", fallback: number) => {
    const value = news[name] ?? fallback;
    const failure = integerFailure(name, value, BOUNDS[name].min, BOUNDS[name].max);
    if (failure) failures.push(failure);
    return value as number;
  };
  const deletionGuardHours = num("deletionGuardHours", DEFAULTS.deletionGuardHours);
  const verifyTimeoutSeconds = num("verifyTimeoutSeconds", 0);
  const forceDelete = news.forceDelete ?? false;
  if (typeof forceDelete !== "boolean") {
    failures.push({
      property: "forceDelete",
      reason: `forceDelete must be true or false; got ${JSON.stringify(forceDelete)}.`,
    });
  }
  const slot = news.slot ?? "";
  if (slot !== "" && slot !== "a" && slot !== "b") {
    failures.push({
      property: "slot",
      reason: `slot must be "a", "b" or empty; got ${JSON.stringify(slot)}.`,
    });
  }
  const generation = news.generation ?? 0;
  if (typeof generation !== "number" || !Number.isInteger(generation) || generation < 0) {
    failures.push({
      property: "generation",
      reason: `generation must be a whole number from 0; got ${JSON.stringify(generation)}.`,
    });
  }
  for (const name of ["adoptAccessKeyId", "replacesAccessKeyId"] as const) {
    const value = news[name] ?? "";
    if (value !== "" && (typeof value !== "string" || !ACCESS_KEY_ID_PATTERN.test(value))) {
      failures.push({
        property: name,
        reason: `${name} must be an access key id (16-128 capital letters and digits, like AKIA...); got ${JSON.stringify(value)}.`,
      });
    }
  }
  const topic = news.notifySnsTopicArn;
  const topicFailure = topic === UNKNOWN_VALUE ? undefined : snsTopicArnFailure(topic);
  if (topicFailure) failures.push(topicFailure);
  const inputs: AccessKeyInputs = {
    ...(typeof topic === "string" && topic !== "" ? { notifySnsTopicArn: topic } : {}),
    userName: news.userName as string,
    status: status as KeyStatus,
    deletionGuardHours,
    forceDelete: forceDelete as boolean,
    slot: slot as string,
    generation: generation as number,
    adoptAccessKeyId: (news.adoptAccessKeyId ?? "") as string,
    replacesAccessKeyId: (news.replacesAccessKeyId ?? "") as string,
    verifyTimeoutSeconds,
  };
  return { inputs, failures };
}

export function userMissing(userName: string, cause: unknown): KeyRotationError {
  return new KeyRotationError(
    `IAM user "${userName}" does not exist. Create the user first, or fix the userName property.`,
    { cause },
  );
}

/** How long a listing that found no key spares the same user's key check and create their reads. */
export const KEYLESS_FRESH_MS = 5 * 60_000;

/** Users this process listed moments ago and found without any key: user name -> client and time. */
const keyless = new Map<string, { client: iam.IAMClient; at: number }>();
/** Orders listings and creates: a listing that began before a create must not mark the user keyless. */
let sequence = 0;
const createStarted = new Map<string, number>();

/**
 * Whether `client` listed the user's keys within KEYLESS_FRESH_MS and found none, and this process
 * has not created one since. The schedule's check lists every user at the start of the deploy, so
 * a user's first key needs no second listing and no tag read moments later: a user without keys
 * holds nothing an interrupted create could have left (a key) and nothing to make room for. What
 * someone else does meanwhile stays safe: a key they create makes CreateAccessKey succeed next to
 * it or fail with LimitExceeded, which lists again. Entries belong to one shared client (a changed
 * endpoint or credentials starts afresh).
 */
export function recentlyKeyless(client: iam.IAMClient, userName: string): boolean {
  const seen = keyless.get(userName);
  return seen !== undefined && seen.client === client && Date.now() - seen.at < KEYLESS_FRESH_MS;
}

/** Drops the user's "no key" observation (before this process creates a key for the user). */
export function forgetKeyless(userName?: string): void {
  if (userName === undefined) {
    keyless.clear();
    createStarted.clear();
    return;
  }
  keyless.delete(userName);
  createStarted.set(userName, ++sequence);
}

/** The user's keys, oldest first (the shared inventory), with a clear error for a missing user. */
export async function listKeys(client: iam.IAMClient, userName: string): Promise<KeyRecord[]> {
  const at = Date.now();
  const listing = ++sequence;
  let keys: KeyRecord[];
  try {
    keys = await listUserKeys(client, userName);
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) throw userMissing(userName, err);
    throw err;
  }
  if (keys.length > 0) keyless.delete(userName);
  else if (listing > (createStarted.get(userName) ?? 0)) keyless.set(userName, { client, at });
  return keys;
}

/** Every tag of the user, with a clear error for a missing user. */
export async function listUserTags(client: iam.IAMClient, userName: string): Promise<iam.Tag[]> {
  const tags: iam.Tag[] = [];
  try {
    for await (const page of iam.paginateListUserTags({ client }, { UserName: userName })) {
      tags.push(...(page.Tags ?? []));
    }
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) throw userMissing(userName, err);
    throw err;
  }
  return tags;
}

/** Waits until STS accepts the new key (new keys are eventually consistent), with backoff. */
export async function verifyKey(
  accessKeyId: string,
  secretAccessKey: string,
  userName: string,
  timeoutSeconds: number,
): Promise<void> {
  if (timeoutSeconds <= 0) return;
  const deadline = Date.now() + timeoutSeconds * 1000;
  let delay = 250;
  let lastError: unknown;
  for (;;) {
    const client = new sts.STSClient({
      region: resolveRegion(connection().region),
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
      requestHandler: requestHandlerOptions(),
    });
    // A hard deadline: the attempt is aborted when the time is up, whatever the network does.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(1, deadline - Date.now()));
    try {
      const who = await client.send(new sts.GetCallerIdentityCommand({}), { abortSignal: abort.signal });
      if (!who.Arn?.endsWith(`/${userName}`)) {
        throw new KeyRotationError(
          `New access key ${accessKeyId} signs as ${who.Arn ?? "an unknown identity"}, not as IAM user "${userName}".`,
        );
      }
      return;
    } catch (err) {
      if (err instanceof KeyRotationError) throw err;
      lastError = err;
    } finally {
      clearTimeout(timer);
      client.destroy();
    }
    if (Date.now() + delay > deadline) break;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
  throw new KeyRotationError(
    `New access key ${accessKeyId} of IAM user "${userName}" did not work within ${timeoutSeconds} s ` +
      `(STS GetCallerIdentity signed with it failed: ${messageOf(lastError)}). ` +
      `It was deleted again; check that the caller may call sts:GetCallerIdentity, or raise verifyTimeoutSeconds.`,
    { cause: lastError },
  );
}

/** Refuses to delete a key used within `guardHours`; returns quietly when it may go. */
export async function assertUnused(
  client: iam.IAMClient,
  accessKeyId: string,
  userName: string,
  guardHours: number,
): Promise<void> {
  let out: iam.GetAccessKeyLastUsedCommandOutput;
  try {
    out = await client.send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) return;
    throw err;
  }
  const used = out.AccessKeyLastUsed;
  if (!used?.LastUsedDate) return;
  const at = componentNow();
  const hoursAgo = (at.getTime() - used.LastUsedDate.getTime()) / MS_PER_HOUR;
  if (hoursAgo < guardHours) {
    throw new KeyInUseError(
      `Refusing to delete access key ${accessKeyId} of IAM user "${userName}": it was last used ` +
        `${used.LastUsedDate.toISOString()} (${hoursAgo.toFixed(1)} hours ago, within deletionGuardHours ${guardHours}) ` +
        `by service ${used.ServiceName ?? "N/A"} in region ${used.Region ?? "N/A"}. ` +
        `Move that application to the current key and deploy again after ${guardHours} hours without use, ` +
        `or set forceDelete: true to delete it anyway.`,
      accessKeyId,
      used.LastUsedDate.toISOString(),
    );
  }
}

/** Removes user tags; a user already gone counts as untagged. */
export async function untagUser(client: iam.IAMClient, userName: string, tagKeys: string[]): Promise<void> {
  if (tagKeys.length === 0) return;
  try {
    await client.send(new iam.UntagUserCommand({ UserName: userName, TagKeys: tagKeys }));
  } catch (err) {
    if (!(err instanceof iam.NoSuchEntityException)) throw err;
  }
}

/** DeleteAccessKey without any guard; a key already gone counts as deleted. False when it was already gone. */
export async function deleteAccessKeyQuietly(
  client: iam.IAMClient,
  userName: string,
  accessKeyId: string,
): Promise<boolean> {
  try {
    await client.send(new iam.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
    return true;
  } catch (err) {
    if (!(err instanceof iam.NoSuchEntityException)) throw err;
    return false;
  }
}

/** The deploy's clock reading for a message (the simulated one in a simulation), else the machine's. */
export function noticeTime(): string {
  try {
    return componentNow().toISOString();
  } catch {
    return new Date().toISOString();
  }
}

/** Tells the topic (if any) of a key's change; a publish that fails is a warning (core/notify.ts). */
export async function announceKey(
  topic: string | undefined,
  type: "key.created" | "key.deactivated" | "key.deleted",
  key: { userName: string; accessKeyId: string; slot?: string; generation?: number },
  extra: Record<string, string> = {},
): Promise<void> {
  if (!topic) return;
  await publishNotices(topic, key.userName, noticeTime(), [
    keyNotice(
      type,
      { accessKeyId: key.accessKeyId, slot: key.slot ?? "", generation: key.generation ?? 0 },
      extra,
    ),
  ]);
}

/**
 * Refuses to deactivate or delete the key the deployment's own calls are signed with (the
 * schedule refuses such a plan at preview already; this holds for standalone keys too).
 */
export async function assertNotSelf(
  client: iam.IAMClient,
  accessKeyId: string,
  userName: string,
  action: "deactivate" | "delete",
): Promise<void> {
  if ((await callerAccessKeyId(client)) !== accessKeyId) return;
  throw new KeyRotationError(
    `Refusing to ${action} access key ${accessKeyId} of IAM user "${userName}": the deployment's own AWS calls are ` +
      `signed with it, so the rest of this deploy and every later one would be locked out. Run the deploy with the ` +
      `user's current key, or once with other credentials.`,
  );
}

/**
 * Deletes a key after the last-used guard; a key already gone counts as deleted. Its tag goes with
 * it, and with `slot` (the key's slot, "" for a standalone key) the slot's cleared intent tag too,
 * in the same UntagUser call. A slot's create runs before or after its old key's delete, never
 * during it; standalone keys of one user share one intent tag, as they did before it was cleared
 * in place (a create running beside such a delete loses its intent, and a key it leaves would then
 * be refused as made outside Pulumi, not deleted).
 */
export async function deleteKey(
  client: iam.IAMClient,
  userName: string,
  accessKeyId: string,
  guard: { deletionGuardHours: number; forceDelete: boolean },
  slot?: string,
): Promise<boolean> {
  await assertNotSelf(client, accessKeyId, userName, "delete");
  if (!guard.forceDelete) await assertUnused(client, accessKeyId, userName, guard.deletionGuardHours);
  const deleted = await deleteAccessKeyQuietly(client, userName, accessKeyId);
  await untagUser(client, userName, [
    TAG_PREFIX + accessKeyId,
    ...(slot === undefined ? [] : [pendingTagKey(slot)]),
  ]);
  return deleted;
}

/** The key as IAM has it now; `undefined` when it (or its user) no longer exists. */
export async function readKey(
  id: string,
  props: AccessKeyOutputs,
): Promise<{ id: string; props: AccessKeyOutputs } | undefined> {
  const client = sharedIamClient();
  try {
    let keys: KeyRecord[];
    try {
      keys = await listKeys(client, props.userName);
    } catch (err) {
      if (err instanceof KeyRotationError && err.cause instanceof iam.NoSuchEntityException) return undefined;
      throw err;
    }
    const key = keys.find((k) => k.accessKeyId === id);
    if (!key) return undefined;
    return {
      id,
      props: {
        ...props,
        accessKeyId: id,
        status: key.status,
        createDate: key.createDate,
      },
    };
  } finally {
    client.destroy();
  }
}

export async function updateKey(
  id: string,
  olds: AccessKeyOutputs,
  news: AccessKeyInputs,
): Promise<AccessKeyOutputs> {
  if (olds.status !== news.status) {
    const client = sharedIamClient();
    try {
      if (news.status === "Inactive") await assertNotSelf(client, id, news.userName, "deactivate");
      await client.send(
        new iam.UpdateAccessKeyCommand({ UserName: news.userName, AccessKeyId: id, Status: news.status }),
      );
      if (news.status === "Inactive") {
        await announceKey(news.notifySnsTopicArn, "key.deactivated", { ...news, accessKeyId: id });
      }
    } catch (err) {
      if (err instanceof iam.NoSuchEntityException) {
        throw new KeyRotationError(
          `Access key ${id} of IAM user "${news.userName}" no longer exists, so its status cannot be set to ${news.status}. ` +
            `Run pulumi refresh, then pulumi up to create a replacement.`,
          { cause: err },
        );
      }
      throw err;
    } finally {
      client.destroy();
    }
  }
  return {
    ...news,
    accessKeyId: id,
    secretAccessKey: olds.secretAccessKey ?? "",
    createDate: olds.createDate ?? "",
  };
}

/** Properties whose change replaces the key; anything else is an in-place update. */
export const REPLACE_ON = ["userName", "slot", "generation", "adoptAccessKeyId"] as const;
export const UPDATE_ON = [
  "status",
  "deletionGuardHours",
  "forceDelete",
  "verifyTimeoutSeconds",
  "replacesAccessKeyId",
  "notifySnsTopicArn",
] as const;

export function diffKey(
  olds: Partial<AccessKeyOutputs>,
  news: AccessKeyInputs,
): { changes: boolean; replaces: string[] } {
  const norm = (v: unknown, fallback: unknown) => (v === undefined ? fallback : v);
  const replaces = REPLACE_ON.filter((p) => norm(olds[p], p === "generation" ? 0 : "") !== news[p]);
  const updates = UPDATE_ON.filter((p) => olds[p] !== news[p]);
  return { changes: replaces.length > 0 || updates.length > 0, replaces: [...replaces] };
}

/**
 * Guard settings that a `check` saw for the replacement of a slot key, by the key it replaces
 * (user, slot and generation identify one key of a RotatingAccessKey): a `forceDelete` or guard
 * change deployed together with a rotation applies to that replacement's delete, which otherwise
 * sees only the old state. Standalone keys always use their own settings.
 */
type GuardStash = Map<
  string,
  { deletionGuardHours: number; forceDelete: boolean; notifySnsTopicArn?: string }
>;
function guardStash(): GuardStash {
  const g = globalThis as { __keyrotationGuards?: GuardStash };
  g.__keyrotationGuards ??= new Map();
  return g.__keyrotationGuards;
}

const guardKey = (k: { userName?: string; slot?: string; generation?: number }) =>
  `${k.userName}|${k.slot}|${k.generation ?? 0}`;

export function rememberGuard(olds: Partial<AccessKeyInputs>, inputs: AccessKeyInputs): void {
  if (!olds.slot || !olds.userName) return;
  guardStash().set(guardKey(olds), {
    deletionGuardHours: inputs.deletionGuardHours,
    forceDelete: inputs.forceDelete,
    notifySnsTopicArn: inputs.notifySnsTopicArn,
  });
}

/**
 * The topic told of a key's deletion: the one its latest check saw (a topic set in the same deploy
 * as the rotation that replaces the key), else the one in its state.
 */
export function topicFor(props: AccessKeyOutputs): string | undefined {
  const fresh = props.slot ? guardStash().get(guardKey(props)) : undefined;
  return fresh ? fresh.notifySnsTopicArn : props.notifySnsTopicArn;
}

export function guardFor(props: AccessKeyOutputs): { deletionGuardHours: number; forceDelete: boolean } {
  const fresh = props.slot ? guardStash().get(guardKey(props)) : undefined;
  return {
    deletionGuardHours: fresh?.deletionGuardHours ?? props.deletionGuardHours ?? DEFAULTS.deletionGuardHours,
    forceDelete: fresh?.forceDelete ?? props.forceDelete ?? false,
  };
}

export async function removeKey(id: string, props: AccessKeyOutputs): Promise<void> {
  const client = sharedIamClient();
  try {
    const deleted = await deleteKey(client, props.userName, id, guardFor(props), props.slot ?? "");
    if (deleted) await announceKey(topicFor(props), "key.deleted", { ...props, accessKeyId: id });
  } catch (err) {
    if (err instanceof KeyRotationError && err.cause instanceof iam.NoSuchEntityException) return;
    throw err;
  } finally {
    client.destroy();
  }
}
