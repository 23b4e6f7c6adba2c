/**
 * One IAM access key: `keyrotation:iam:AccessKey`, served by the provider plugin (0.1.x deployed it as
 * the dynamic resource `pulumi-nodejs:dynamic/keyrotation:AccessKey`).
 *
 * Outputs: `userName`, `accessKeyId` (also the resource id), `secretAccessKey` (a secret: listed in
 * `additionalSecretOutputs`), `status` (`Active`/`Inactive`) and `createDate` (IAM's, ISO-8601).
 *
 * - check rejects bad input before any AWS call, naming the property and the fix.
 * - create refuses politely when the user already has two keys, and is transactional: if anything
 *   after CreateAccessKey fails, the new key is deleted again.
 * - read (refresh) notices a key deleted or (de)activated outside Pulumi.
 * - a status change is an in-place UpdateAccessKey; a user change replaces the key.
 * - delete is refused while GetAccessKeyLastUsed shows a use within `deletionGuardHours`, unless
 *   `forceDelete`; a key already gone counts as deleted.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeyRotationResource } from "./stored";
import { KeyStatus } from "../../core/types";
import { ACCESS_KEY_TOKEN, ACCESS_KEY_TYPE } from "../../core/tokens";
import type * as ops from "./accessKeyOps";
import type * as creation from "./keyCreation";

export type { AccessKeyInputs, AccessKeyOutputs } from "./accessKeyOps";
export type { KeyStatus };

export { ACCESS_KEY_TOKEN, ACCESS_KEY_TYPE };

// The provider's code (and with it the AWS SDK) is loaded at its first call, not with this module:
// a program imports this module for the AccessKey class only, and registering it needs neither.
const keyOps = () => require("./accessKeyOps") as typeof ops;
const keyCreation = () => require("./keyCreation") as typeof creation;

/** The provider, which the engine's host loads through `hosted.ts` (the state stores only a loader). */
export const accessKeyProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<ops.AccessKeyInputs>, news: Record<string, unknown>) {
    const { inputs, failures } = keyOps().checkAccessKeyInputs(news);
    if (failures.length > 0) return { inputs, failures };
    keyOps().rememberGuard(olds, inputs);
    return {
      inputs: { ...inputs, interrupted: await keyCreation().interruptedCreateNotice(olds, inputs) },
      failures,
    };
  },
  async diff(_id: string, olds: ops.AccessKeyOutputs, news: ops.AccessKeyInputs) {
    const { changes, replaces } = keyOps().diffKey(olds, news);
    // IAM allows two keys per user, so a replacement deletes the old key first.
    return { changes, replaces, deleteBeforeReplace: true };
  },
  async create(inputs: ops.AccessKeyInputs) {
    return keyCreation().createKey(inputs);
  },
  async read(id: string, props: ops.AccessKeyOutputs) {
    const found = await keyOps().readKey(id, props);
    return found ? { id: found.id, props: found.props } : {};
  },
  async update(id: string, olds: ops.AccessKeyOutputs, news: ops.AccessKeyInputs) {
    return { outs: await keyOps().updateKey(id, olds, news) };
  },
  async delete(id: string, props: ops.AccessKeyOutputs) {
    await keyOps().removeKey(id, props);
  },
};

export interface AccessKeyArgs {
  /** The IAM user that owns the key (1-64 characters of letters, digits and `+=,.@_-`). Changing it replaces the key. */
  userName: pulumi.Input<string>;
  /** `Active` (default) or `Inactive`. Changing it is an in-place UpdateAccessKey. */
  status?: pulumi.Input<KeyStatus>;
  /** Refuse to delete the key when it was used within this many hours. Default 24, 0 to 8760. */
  deletionGuardHours?: pulumi.Input<number>;
  /** Delete even when the key was used within `deletionGuardHours`. Default false. */
  forceDelete?: pulumi.Input<boolean>;
  /** Slot `a`/`b` of a RotatingAccessKey; empty for a standalone key. Changing it replaces the key. */
  slot?: pulumi.Input<string>;
  /** Generation number; changing it replaces the key (rotation). Default 0. */
  generation?: pulumi.Input<number>;
  /** Take over this existing key of the user instead of creating one (its secret stays unknown: ""). */
  adoptAccessKeyId?: pulumi.Input<string>;
  /** Delete this pre-existing key (after the last-used guard) before creating the new one. */
  replacesAccessKeyId?: pulumi.Input<string>;
  /** Seconds to wait until the new key works (STS GetCallerIdentity); 0 (default) skips the check, max 900. */
  verifyTimeoutSeconds?: pulumi.Input<number>;
  /**
   * ARN of an SNS topic told when the key is created, deactivated and deleted (one JSON message
   * each; docs/notifications.md). Default: none.
   */
  notifySnsTopicArn?: pulumi.Input<string>;
}

export class AccessKey extends KeyRotationResource {
  declare public readonly userName: pulumi.Output<string>;
  declare public readonly accessKeyId: pulumi.Output<string>;
  declare public readonly secretAccessKey: pulumi.Output<string>;
  declare public readonly status: pulumi.Output<KeyStatus>;
  declare public readonly createDate: pulumi.Output<string>;
  declare public readonly slot: pulumi.Output<string>;
  declare public readonly generation: pulumi.Output<number>;
  /**
   * Set at check when this key is about to be created and an earlier, interrupted create of the same
   * slot and generation left a key (or an intent) on the user: what the create will clean up. "" otherwise.
   */
  declare public readonly interrupted: pulumi.Output<string | undefined>;

  constructor(name: string, args: AccessKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      ACCESS_KEY_TYPE,
      name,
      {
        ...args,
        accessKeyId: undefined,
        secretAccessKey: undefined,
        createDate: undefined,
        interrupted: undefined,
        status: args.status ?? "Active",
        slot: args.slot ?? "",
        generation: args.generation ?? 0,
      },
      pulumi.mergeOptions(opts, {
        additionalSecretOutputs: ["secretAccessKey"],
        deleteBeforeReplace: true,
      }),
    );
  }
}
