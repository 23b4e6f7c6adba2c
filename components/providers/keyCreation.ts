/**
 * Creating (or adopting) one access key, safe under faults:
 *
 * 1. look at the user: keys, this package's tags, and the role of each key (keyRoles.ts); a user
 *    this process listed moments ago without any key is not read again (recentlyKeyless);
 * 2. make room: delete what an interrupted create left behind (a key whose secret never reached
 *    the engine), the key this one replaces (after the last-used guard), and tags of keys that no
 *    longer exist; wait until IAM stops listing deleted keys; refuse at the two-key or tag limit
 *    with a message that says which key is which;
 * 3. record the intent on the user (`keyrotation:pending-<slot>`), then CreateAccessKey with no
 *    automatic retry: after a lost answer, IAM is asked what happened, a key the lost answer
 *    created is deleted (its secret is gone), and only then is the create tried again;
 * 4. tag the key with its slot and clear the intent (one TagUser call), then set it Inactive or
 *    wait until it works; any failure here deletes the new key again.
 */
import * as iam from "@aws-sdk/client-iam";
import { componentNow } from "../../core/clock";
import { UNKNOWN_VALUE } from "../../core/tokens";
import { KeyQuotaError, KeyRotationError, messageOf } from "../../core/errors";
import { createIamClient, getLastUse, KeyRecord, sharedIamClient } from "../../core/iam";
import {
  CLOCK_SKEW_MS,
  describeRole,
  keyRoles,
  KeyRole,
  LEFTOVER_WINDOW_MS,
  MAX_USER_TAGS,
  clearedPendingTag,
  pendingTagKey,
  pendingTagValue,
  readTags,
  staleKeyTags,
  TAG_PREFIX,
  tagValue,
} from "../rotation/keyRoles";
import {
  AccessKeyInputs,
  AccessKeyOutputs,
  announceKey,
  deleteAccessKeyQuietly,
  deleteKey,
  forgetKeyless,
  listKeys,
  listUserTags,
  recentlyKeyless,
  untagUser,
  userMissing,
  verifyKey,
} from "./accessKeyOps";

type CreateResult = { id: string; outs: AccessKeyOutputs };

/** CreateAccessKey attempts in all; each after making sure the previous one left no key. */
const CREATE_ATTEMPTS = 3;
/** How long to wait for IAM to stop listing a deleted key (eventual consistency). */
const DELETE_SETTLE_MS = 30_000;

interface UserView {
  keys: KeyRecord[];
  roles: Map<string, KeyRole>;
  tags: ReturnType<typeof readTags>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The user's keys, this package's tags and each key's role, for a create of `creating`. */
async function viewUser(
  client: iam.IAMClient,
  userName: string,
  creating?: { slot: string; generation: number },
): Promise<UserView> {
  const [keys, raw] = await Promise.all([listKeys(client, userName), listUserTags(client, userName)]);
  const tags = readTags(raw);
  return { keys, tags, roles: keyRoles(keys, tags, creating) };
}

function describeView(view: UserView, at: Date): string {
  return view.keys.map((k) => describeRole(k, view.roles.get(k.accessKeyId), at)).join("; ");
}

/** Waits (bounded, with backoff) until IAM no longer lists the deleted keys. */
async function waitUntilGone(client: iam.IAMClient, userName: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const deadline = Date.now() + DELETE_SETTLE_MS;
  let delay = 250;
  for (;;) {
    const listed = (await listKeys(client, userName)).filter((k) => ids.includes(k.accessKeyId));
    if (listed.length === 0) return;
    if (Date.now() + delay > deadline) {
      throw new KeyRotationError(
        `IAM still lists deleted access key(s) ${listed.map((k) => k.accessKeyId).join(", ")} of IAM user "${userName}" ` +
          `after ${DELETE_SETTLE_MS / 1000} s. Run pulumi up again in a minute.`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
  }
}

/**
 * How a key whose secret should have reached nobody was used: "gone" (no longer exists), "unused"
 * (never, or only by STS: the verification), or the use, which means something holds its secret.
 */
async function useOfLeftover(
  client: iam.IAMClient,
  accessKeyId: string,
): Promise<"gone" | "unused" | Awaited<ReturnType<typeof getLastUse>>> {
  try {
    const use = await getLastUse(client, accessKeyId);
    return use.lastUsedDate && use.serviceName !== "sts" ? use : "unused";
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) return "gone";
    throw err;
  }
}

/**
 * Deletes the keys an interrupted create of this slot left behind. Their secrets never reached
 * the engine, so nobody can hold them; a use by anything but STS (the verification) says
 * otherwise, and then the key is kept and the deploy stops with the facts.
 */
async function removeLeftovers(
  client: iam.IAMClient,
  inputs: AccessKeyInputs,
  view: UserView,
): Promise<string[]> {
  const removed: string[] = [];
  for (const key of view.keys) {
    const role = view.roles.get(key.accessKeyId);
    if (role?.kind !== "leftover") continue;
    // Another slot's leftover only once no create of it can still be running.
    const settled =
      role.intentAt !== undefined &&
      componentNow().getTime() - new Date(role.intentAt).getTime() > LEFTOVER_WINDOW_MS;
    if (role.slot !== inputs.slot && !settled) continue;
    const use = await useOfLeftover(client, key.accessKeyId);
    if (use === "gone") continue;
    if (use !== "unused") {
      throw new KeyRotationError(
        `Access key ${key.accessKeyId} of IAM user "${inputs.userName}" looks left behind by an interrupted deploy ` +
          `(${role.reason}), but it was used ${use.lastUsedDate} by service ${use.serviceName} in region ${use.region}, ` +
          `so something holds its secret. It is not deleted. Find who uses it; once it is unused, delete it ` +
          `(aws iam delete-access-key --user-name ${inputs.userName} --access-key-id ${key.accessKeyId}) and run pulumi up again.`,
      );
    }
    await deleteAccessKeyQuietly(client, inputs.userName, key.accessKeyId);
    await untagUser(client, inputs.userName, [TAG_PREFIX + key.accessKeyId]);
    removed.push(key.accessKeyId);
  }
  return removed;
}

function quotaError(userName: string, view: UserView, cause?: unknown): KeyQuotaError {
  const at = componentNow();
  const outside = view.keys.filter((k) => view.roles.get(k.accessKeyId)?.kind === "outside");
  const fix =
    outside.length > 0
      ? `Key(s) made outside Pulumi fill the slot it needs: check that ${outside.map((k) => k.accessKeyId).join(", ")} ` +
        `is unused (aws iam get-access-key-last-used), delete it (aws iam delete-access-key --user-name ${userName} --access-key-id <id>), ` +
        `then run pulumi up again.`
      : `Both keys are managed by Pulumi; run pulumi refresh so the state matches IAM, then pulumi up.`;
  return new KeyQuotaError(
    `IAM user "${userName}" already has ${view.keys.length} access keys, the most IAM allows: ${describeView(view, at)}. ${fix}`,
    view.keys.map((k) => k.accessKeyId),
    { cause },
  );
}

/**
 * IAM may list a key for a few seconds after it was deleted (the delete step of a replacement
 * runs just before this create): while the user seems full and one of the keys is untagged (the
 * delete removed its tag), lists again with backoff, up to DELETE_SETTLE_MS.
 */
async function settle(client: iam.IAMClient, inputs: AccessKeyInputs, view: UserView): Promise<UserView> {
  const deadline = Date.now() + DELETE_SETTLE_MS;
  let delay = 250;
  let now = view;
  while (now.keys.length >= 2 && now.keys.some((k) => now.roles.get(k.accessKeyId)?.kind === "outside")) {
    if (Date.now() + delay > deadline) break;
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
    now = await viewUser(client, inputs.userName, inputs);
  }
  return now;
}

/**
 * At check, for a slot key about to be created (a new resource, or a replacement of another
 * generation): what an earlier, interrupted attempt at this same slot and generation left on the
 * user, for the preview to report. A key tagged for them is held by no state (the engine records a
 * key only after its create returns); a pending intent means a key may exist that was never
 * tagged. The create deletes both before making its own key (removeLeftovers). "" when there is
 * nothing, or when IAM cannot be read now (the create looks again).
 */
export async function interruptedCreateNotice(
  olds: Partial<AccessKeyInputs>,
  inputs: AccessKeyInputs,
): Promise<string> {
  const creating =
    inputs.slot !== "" &&
    inputs.userName !== UNKNOWN_VALUE &&
    inputs.adoptAccessKeyId === "" &&
    (olds.userName !== inputs.userName ||
      olds.slot !== inputs.slot ||
      (olds.generation ?? 0) !== inputs.generation);
  if (!creating) return "";
  const client = sharedIamClient();
  // The schedule's check just listed the user without keys: nothing can be left over.
  if (recentlyKeyless(client, inputs.userName)) return "";
  try {
    const tags = readTags(await listUserTags(client, inputs.userName));
    const wanted = tagValue(inputs);
    const tagged = [...tags.keyTags].filter(([, value]) => value === wanted).map(([id]) => id);
    const intent = tags.pending.find((p) => p.slot === inputs.slot && p.generation === inputs.generation);
    const what = `slot ${inputs.slot} generation ${inputs.generation}`;
    if (tagged.length > 0)
      return (
        `access key ${tagged.join(", ")} of IAM user "${inputs.userName}" is tagged for ${what}, which no state holds: ` +
        `an earlier deploy was interrupted after creating it, so its secret never reached the state. ` +
        `This deploy deletes it (unless something other than the verification used it) before creating ${what} again.`
      );
    if (intent)
      return (
        `an earlier deploy recorded at ${intent.at} that it was creating ${what} for IAM user "${inputs.userName}" ` +
        `and was interrupted; this deploy deletes an untagged key that attempt created, if IAM lists one, before creating ${what} again.`
      );
    return "";
  } catch {
    return "";
  } finally {
    client.destroy();
  }
}

/** The user's view when this process listed the user moments ago and found no key (no IAM call). */
const KEYLESS_VIEW: UserView = {
  keys: [],
  roles: new Map(),
  tags: { keyTags: new Map(), pending: [], pendingKeys: new Set(), total: 0 },
};

/** What refusing at the tag limit says; `needed` counts the slot tag and, if absent, the intent tag. */
function tagLimitError(userName: string, total: number, needed: number, cause?: unknown): KeyRotationError {
  return new KeyRotationError(
    `IAM user "${userName}" has ${total} tags, and IAM allows ${MAX_USER_TAGS}; a new key needs ` +
      `${needed} free (its slot tag and, while it is created, the intent tag). Remove tags that other ` +
      `tools set on the user (aws iam list-user-tags --user-name ${userName}), then run pulumi up again.`,
    { cause },
  );
}

/** Free tags a create of `slot` needs: the slot tag, and the intent tag unless the user has it (set or cleared). */
function tagsNeeded(tags: UserView["tags"], slot: string): number {
  return tags.pendingKeys.has(pendingTagKey(slot)) ? 1 : 2;
}

/** IAM answered a TagUser with LimitExceeded: the refusal makeRoom gives, with the user's tag count. */
async function refuseAtTagLimit(
  client: iam.IAMClient,
  inputs: AccessKeyInputs,
  cause: unknown,
): Promise<never> {
  const tags = readTags(await listUserTags(client, inputs.userName));
  throw tagLimitError(inputs.userName, tags.total, tagsNeeded(tags, inputs.slot), cause);
}

/** Deletes leftovers, the replaced key and stale tags; refuses at the key or tag limit. */
async function makeRoom(client: iam.IAMClient, inputs: AccessKeyInputs): Promise<UserView> {
  if (!inputs.replacesAccessKeyId && recentlyKeyless(client, inputs.userName)) return KEYLESS_VIEW;
  const view = await viewUser(client, inputs.userName, inputs);
  const deleted = await removeLeftovers(client, inputs, view);
  if (inputs.replacesAccessKeyId && view.keys.some((k) => k.accessKeyId === inputs.replacesAccessKeyId)) {
    if (await deleteKey(client, inputs.userName, inputs.replacesAccessKeyId, inputs)) {
      await announceKey(inputs.notifySnsTopicArn, "key.deleted", {
        userName: inputs.userName,
        accessKeyId: inputs.replacesAccessKeyId,
        slot: inputs.slot,
        generation: 0,
      });
    }
    deleted.push(inputs.replacesAccessKeyId);
  }
  await waitUntilGone(client, inputs.userName, deleted);
  const stale = staleKeyTags(
    view.keys.filter((k) => !deleted.includes(k.accessKeyId)),
    view.tags.keyTags,
  ).filter((t) => !deleted.some((id) => t === TAG_PREFIX + id));
  await untagUser(client, inputs.userName, stale);
  let now = deleted.length > 0 ? await viewUser(client, inputs.userName, inputs) : view;
  if (now.keys.length >= 2) now = await settle(client, inputs, now);
  if (now.keys.length >= 2) throw quotaError(inputs.userName, now);
  const needed = tagsNeeded(now.tags, inputs.slot);
  if (MAX_USER_TAGS - now.tags.total < needed) throw tagLimitError(inputs.userName, now.tags.total, needed);
  return now;
}

/** Takes over an existing key of the user (`adoptAccessKeyId`): sets its status and tags it as adopted. */
async function adoptKey(client: iam.IAMClient, inputs: AccessKeyInputs): Promise<CreateResult> {
  const existing = (await listKeys(client, inputs.userName)).find(
    (k) => k.accessKeyId === inputs.adoptAccessKeyId,
  );
  if (!existing) {
    throw new KeyRotationError(
      `Access key ${inputs.adoptAccessKeyId} to adopt is not a key of IAM user "${inputs.userName}". ` +
        `Refresh the stack (pulumi refresh) so the schedule sees the user's keys as they are.`,
    );
  }
  if (existing.status !== inputs.status) {
    await client.send(
      new iam.UpdateAccessKeyCommand({
        UserName: inputs.userName,
        AccessKeyId: existing.accessKeyId,
        Status: inputs.status,
      }),
    );
  }
  await client.send(
    new iam.TagUserCommand({
      UserName: inputs.userName,
      Tags: [{ Key: TAG_PREFIX + existing.accessKeyId, Value: "adopted" }],
    }),
  );
  const outs = {
    ...inputs,
    accessKeyId: existing.accessKeyId,
    secretAccessKey: "",
    createDate: existing.createDate,
  };
  return { id: existing.accessKeyId, outs };
}

/**
 * CreateAccessKey without blind retries: after a failure that may have taken effect (a lost
 * answer, a timeout, a 5xx), IAM is listed; a key created since the intent and unknown before is
 * the lost answer's key, whose secret nobody has, and is deleted before the next attempt.
 */
async function createInIam(
  client: iam.IAMClient,
  inputs: AccessKeyInputs,
  before: readonly KeyRecord[],
  intentAt: Date,
): Promise<iam.AccessKey> {
  const once = createIamClient({ maxAttempts: 1 });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await once.send(new iam.CreateAccessKeyCommand({ UserName: inputs.userName }));
        if (!out.AccessKey?.AccessKeyId || !out.AccessKey.SecretAccessKey) {
          throw new KeyRotationError(`IAM returned no access key for user "${inputs.userName}".`);
        }
        return out.AccessKey;
      } catch (err) {
        if (err instanceof iam.LimitExceededException) {
          throw quotaError(inputs.userName, await viewUser(client, inputs.userName, inputs), err);
        }
        if (err instanceof iam.NoSuchEntityException) throw userMissing(inputs.userName, err);
        if (err instanceof KeyRotationError) throw err;
        const known = new Set(before.map((k) => k.accessKeyId));
        const unknown = (await listKeys(client, inputs.userName)).filter(
          (k) =>
            !known.has(k.accessKeyId) &&
            new Date(k.createDate).getTime() >= intentAt.getTime() - CLOCK_SKEW_MS,
        );
        const lost: string[] = [];
        for (const key of unknown) {
          // The user may have been listed minutes ago (recentlyKeyless), so a key made by hand
          // since then is unknown here too: one that anything used is not the lost answer's.
          if ((await useOfLeftover(client, key.accessKeyId)) !== "unused") continue;
          await deleteAccessKeyQuietly(client, inputs.userName, key.accessKeyId);
          lost.push(key.accessKeyId);
        }
        await waitUntilGone(client, inputs.userName, lost);
        if (attempt >= CREATE_ATTEMPTS) {
          throw new KeyRotationError(
            `Creating an access key for IAM user "${inputs.userName}" failed ${attempt} times (last: ${messageOf(err)}). ` +
              `No key was left behind${lost.length > 0 ? ` (deleted ${lost.join(", ")}, whose answer was lost)` : ""}. ` +
              `Run pulumi up again once IAM answers.`,
            { cause: err },
          );
        }
        await sleep(500 * 2 ** attempt);
      }
    }
  } finally {
    once.destroy();
  }
}

/** Tags the new key with its slot and clears the intent in one call, then sets it Inactive or waits until it works. */
async function finishNewKey(
  client: iam.IAMClient,
  inputs: AccessKeyInputs,
  accessKeyId: string,
  secretAccessKey: string,
): Promise<void> {
  try {
    await client.send(
      new iam.TagUserCommand({
        UserName: inputs.userName,
        Tags: [{ Key: TAG_PREFIX + accessKeyId, Value: tagValue(inputs) }, clearedPendingTag(inputs.slot)],
      }),
    );
  } catch (err) {
    if (!(err instanceof iam.LimitExceededException)) throw err;
    await refuseAtTagLimit(client, inputs, err);
  }
  if (inputs.status === "Inactive") {
    await client.send(
      new iam.UpdateAccessKeyCommand({
        UserName: inputs.userName,
        AccessKeyId: accessKeyId,
        Status: "Inactive",
      }),
    );
  } else {
    await verifyKey(accessKeyId, secretAccessKey, inputs.userName, inputs.verifyTimeoutSeconds);
  }
}

/** Deletes a key whose creation failed half-way, so no orphan is left; `failure` is rethrown. */
async function rollBack(
  client: iam.IAMClient,
  inputs: AccessKeyInputs,
  accessKeyId: string,
  failure: unknown,
): Promise<never> {
  try {
    await deleteAccessKeyQuietly(client, inputs.userName, accessKeyId);
    await untagUser(client, inputs.userName, [TAG_PREFIX + accessKeyId, pendingTagKey(inputs.slot)]);
  } catch (cleanup) {
    throw new KeyRotationError(
      `Creating access key ${accessKeyId} for IAM user "${inputs.userName}" failed (${messageOf(failure)}), and deleting it ` +
        `again failed too (${messageOf(cleanup)}). The next pulumi up recognises it as left by an interrupted ` +
        `deploy and deletes it; nothing needs deleting by hand.`,
      { cause: failure },
    );
  }
  throw failure;
}

/**
 * Writes the intent before CreateAccessKey. At IAM's tag limit (possible only when makeRoom did not
 * read the tags, for a user just listed without keys) it refuses as makeRoom would, with the count.
 */
async function recordIntent(client: iam.IAMClient, inputs: AccessKeyInputs, at: Date): Promise<void> {
  try {
    await client.send(
      new iam.TagUserCommand({
        UserName: inputs.userName,
        Tags: [
          {
            Key: pendingTagKey(inputs.slot),
            Value: pendingTagValue({ generation: inputs.generation, at: at.toISOString() }),
          },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof iam.LimitExceededException)) throw err;
    await refuseAtTagLimit(client, inputs, err);
  }
}

/** Creates (or adopts) the key; idempotent across crashes and lost answers (see the file's comment). */
export async function createKey(inputs: AccessKeyInputs): Promise<CreateResult> {
  const client = sharedIamClient();
  try {
    if (inputs.adoptAccessKeyId) return await adoptKey(client, inputs);
    const view = await makeRoom(client, inputs);
    const intentAt = componentNow();
    forgetKeyless(inputs.userName);
    await recordIntent(client, inputs, intentAt);
    const created = await createInIam(client, inputs, view.keys, intentAt);
    const accessKeyId = created.AccessKeyId as string;
    const secretAccessKey = created.SecretAccessKey as string;
    try {
      await finishNewKey(client, inputs, accessKeyId, secretAccessKey);
    } catch (err) {
      await rollBack(client, inputs, accessKeyId, err);
    }
    const createDate = (created.CreateDate ?? componentNow()).toISOString();
    await announceKey(
      inputs.notifySnsTopicArn,
      "key.created",
      { ...inputs, accessKeyId },
      { status: inputs.status, createDate },
    );
    return { id: accessKeyId, outs: { ...inputs, accessKeyId, secretAccessKey, createDate } };
  } finally {
    client.destroy();
  }
}
