/**
 * `RotatingAccessKey` (`keyrotation:iam:RotatingAccessKey`): keeps one IAM user's access keys fresh.
 *
 * Children (named from the component's name, parented to it):
 * - `<name>-schedule`: a RotationSchedule that decides, from its previous plan, IAM and the clock,
 *   what the user's two key slots hold (see schedule.ts for the lifecycle);
 * - `<name>-a`, `<name>-b`: an AccessKey per occupied slot, following that plan;
 * - `<name>-secret`: a SecretPublication, when `secretsManagerSecretId` is set.
 *
 * Order within one deploy: the schedule first; then the current key (created and verified to work);
 * then the publication to Secrets Manager; only then any change to the previous key.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccessKey } from "./providers/accessKey";
import { componentNow } from "../core/clock";
import { ROTATING_ACCESS_KEY_TOKEN } from "../core/tokens";
import { KeyStatus, otherSlot, Slot } from "../core/types";
import { ValidationError } from "../core/errors";
import { RotationSchedule } from "./providers/rotationScheduleResource";
import type { RotationScheduleArgs, ScheduleEvent } from "./providers/rotationSchedule";
import { freshEvents, Plan } from "./rotation/schedule";
import { SecretPublication } from "./providers/secretPublicationResource";
import { muteStackCaptures } from "./providers/stored";
import { DEFAULTS, resolveSettings, RotationSettings, SETTING_KEYS, userNameFailure } from "../core/settings";
import { snsTopicArnFailure } from "../core/notifications";

export { ROTATING_ACCESS_KEY_TOKEN };

/** The rotation settings (see RotationScheduleArgs for each, with its default and limits), plus delivery. */
export interface RotatingAccessKeyArgs extends RotationScheduleArgs {
  /**
   * Name or ARN of an AWS Secrets Manager secret that receives the current key as JSON
   * `{"userName","accessKeyId","secretAccessKey"}` before the previous key is deactivated.
   * Created (and tagged `keyrotation:owner`) when it does not exist; an existing secret that this
   * package did not create is refused at preview unless `adoptExistingSecret` is set. Default: not
   * published.
   */
  secretsManagerSecretId?: pulumi.Input<string>;
  /**
   * Hand an existing secret that this package did not create over to the rotation: the key is
   * written into it and it is tagged as the rotation's. Default false.
   */
  adoptExistingSecret?: pulumi.Input<boolean>;
}

/** One of the user's keys, as the component reports it (never with its secret). */
export interface ManagedKey {
  slot: Slot;
  id: string;
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
  generation: number;
  current: boolean;
}

type KeySlots = { current?: AccessKey; previous?: AccessKey; publication?: SecretPublication };

/**
 * The component's resources for the plan, as the value of the Output that its outputs apply on.
 * Every Output the SDK makes searches its value for unknowns (`containsUnknowns`) through every
 * enumerable property, which for a resource is the whole component and its outputs; as
 * non-enumerable properties the resources are not searched (measured: about 0.18 s less program
 * CPU in a 100-user preview, median of 5; docs/scale.md). `pulumi.all` and `pulumi.output` copy
 * enumerable properties only, so the value is only ever applied on.
 */
function keySlots(current?: AccessKey, previous?: AccessKey, publication?: SecretPublication): KeySlots {
  return Object.freeze(
    Object.defineProperties({} as KeySlots, {
      current: { value: current },
      previous: { value: previous },
      publication: { value: publication },
    }),
  );
}

/**
 * Checks the settings that are plain values now, so that bad settings fail at preview, before
 * any AWS call, with a message naming the setting. Settings given as outputs are checked by the
 * schedule resource's `check` instead.
 */
export function validateArgs(name: string, args: RotatingAccessKeyArgs): RotationSettings | undefined {
  const raw: Record<string, unknown> = {};
  let allPlain = true;
  for (const key of SETTING_KEYS) {
    const value = args[key];
    if (pulumi.Output.isInstance(value) || value instanceof Promise) allPlain = false;
    else raw[key] = value;
  }
  const problems: string[] = [];
  if (typeof args.userName === "string" || args.userName === undefined || args.userName === null) {
    const f = userNameFailure(args.userName);
    if (f) problems.push(f.reason);
  }
  const { settings, failures } = resolveSettings(raw);
  // Cross-setting rules need every value; single-value bounds can be checked now.
  const relevant = allPlain
    ? failures
    : failures.filter((f) => raw[f.property] !== undefined && f.kind !== "cross");
  const topic = args.notifySnsTopicArn;
  const topicFailure =
    pulumi.Output.isInstance(topic) || (topic as unknown) instanceof Promise
      ? undefined
      : snsTopicArnFailure(topic);
  if (topicFailure) relevant.push({ ...topicFailure, kind: "value" });
  problems.push(...relevant.map((f) => f.reason));
  if (problems.length > 0) {
    const property = relevant[0]?.property ?? "userName";
    throw new ValidationError(
      property,
      `RotatingAccessKey "${name}" has invalid settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return allPlain ? settings : undefined;
}

export class RotatingAccessKey extends pulumi.ComponentResource {
  /** The current key's id: the one applications should use. */
  public readonly accessKeyId: pulumi.Output<string>;
  /** The current key's secret (a Pulumi secret). Empty for an adopted key, whose secret is unknown. */
  public readonly secretAccessKey: pulumi.Output<string>;
  /** The previous key's id while it exists (Active during the overlap, then Inactive); undefined otherwise. */
  public readonly previousAccessKeyId: pulumi.Output<string | undefined>;
  /** When the current key is next rotated (ISO-8601). */
  public readonly nextRotationDate: pulumi.Output<string>;
  /** Every key of the user that the component manages: slot, id, status, createDate. */
  public readonly keys: pulumi.Output<ManagedKey[]>;
  /** The schedule resource (its `plan` is the decision of this deploy). */
  public readonly schedule: RotationSchedule;
  /** The key resources, current first (for `dependsOn` in other resources). */
  public readonly keyResources: pulumi.Output<AccessKey[]>;
  /** The Secrets Manager publication, when `secretsManagerSecretId` is set. */
  public readonly publication: pulumi.Output<SecretPublication | undefined>;

  constructor(name: string, args: RotatingAccessKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    // Bad settings fail here, at preview, before anything is registered or any AWS call.
    validateArgs(name, args);
    const settings: RotationScheduleArgs = { userName: args.userName };
    for (const key of SETTING_KEYS) Object.assign(settings, { [key]: args[key] ?? DEFAULTS[key] });
    if (args.notifySnsTopicArn !== undefined) settings.notifySnsTopicArn = args.notifySnsTopicArn;
    // The settings are recorded as the component's inputs, so that policies see what was asked for.
    // Registered without stack captures for the SDK's property promises (muteStackCaptures).
    const restore = muteStackCaptures();
    try {
      super(ROTATING_ACCESS_KEY_TOKEN, name, settings, opts);
    } finally {
      restore();
    }
    // Events the schedule decides in this deployment are stamped after this reading.
    let registeredAt: Date | undefined;
    try {
      registeredAt = componentNow();
    } catch {
      registeredAt = undefined; // a stray KEYROTATION_NOW: the schedule's check names it
    }
    this.schedule = new RotationSchedule(`${name}-schedule`, settings, { parent: this });

    const slots = pulumi
      .all([this.schedule.plan, this.schedule.userName])
      .apply(([plan, userName]) => this.createKeys(name, args, plan, userName));

    this.publication = slots.apply((s) => s.publication);
    this.keyResources = slots.apply((s) =>
      [s.current, s.previous].filter((k): k is AccessKey => k !== undefined),
    );
    this.accessKeyId = slots.apply((s) => (s.current ? s.current.accessKeyId : pulumi.output("")));
    this.secretAccessKey = pulumi.secret(
      slots.apply((s) => (s.current ? s.current.secretAccessKey : pulumi.output(""))),
    );
    this.previousAccessKeyId = slots.apply((s) =>
      s.previous ? (s.previous.accessKeyId as pulumi.Output<string | undefined>) : pulumi.output(undefined),
    );
    this.nextRotationDate = this.schedule.plan.apply((p) => p?.nextRotationDate ?? "");
    // `slots` is applied on, never passed through pulumi.all or pulumi.output, which copy a
    // value's enumerable properties only and would drop its resources (keySlots).
    this.keys = slots.apply((s) => {
      const list = [s.current, s.previous].filter((k): k is AccessKey => k !== undefined);
      return this.schedule.plan.apply((plan) =>
        pulumi.all(
          list.map((k) =>
            pulumi
              .all([k.slot, k.accessKeyId, k.status, k.createDate, k.generation])
              .apply(([slot, id, status, createDate, generation]): ManagedKey => ({
                slot: slot as Slot,
                id,
                accessKeyId: id,
                status,
                createDate,
                generation,
                current: plan?.current === slot,
              })),
          ),
        ),
      );
    });

    pulumi
      .all([this.schedule.events, this.schedule.userName])
      .apply(([events, userName]) => this.report(events, userName, registeredAt));

    this.registerOutputs({
      accessKeyId: this.accessKeyId,
      secretAccessKey: this.secretAccessKey,
      previousAccessKeyId: this.previousAccessKeyId,
      nextRotationDate: this.nextRotationDate,
      keys: this.keys,
    });
  }

  private createKeys(
    name: string,
    args: RotatingAccessKeyArgs,
    plan: Plan | undefined,
    userName: string,
  ): KeySlots {
    if (!plan) return keySlots();
    const keyArgs = (slot: Slot) => ({
      userName,
      slot,
      generation: plan[slot].generation,
      status: plan[slot].status,
      adoptAccessKeyId: plan[slot].adoptedKeyId,
      replacesAccessKeyId: plan[slot].replacesKeyId,
      deletionGuardHours: args.deletionGuardHours ?? DEFAULTS.deletionGuardHours,
      forceDelete: args.forceDelete ?? DEFAULTS.forceDelete,
      verifyTimeoutSeconds: args.verifyTimeoutSeconds ?? DEFAULTS.verifyTimeoutSeconds,
      ...(args.notifySnsTopicArn !== undefined ? { notifySnsTopicArn: args.notifySnsTopicArn } : {}),
    });
    const currentSlot = plan.current;
    const current = plan[currentSlot].present
      ? new AccessKey(`${name}-${currentSlot}`, keyArgs(currentSlot), { parent: this })
      : undefined;
    const gate: pulumi.Resource[] = current ? [current] : [];
    let publication: SecretPublication | undefined;
    if (current && args.secretsManagerSecretId !== undefined) {
      publication = new SecretPublication(
        `${name}-secret`,
        {
          secretId: args.secretsManagerSecretId,
          adoptExisting: args.adoptExistingSecret ?? false,
          userName,
          accessKeyId: current.accessKeyId,
          secretAccessKey: current.secretAccessKey,
        },
        { parent: this },
      );
      gate.push(publication);
    }
    const previousSlot = otherSlot(currentSlot);
    // The previous key changes (deactivation) only after the new key exists, works and is published.
    const previous = plan[previousSlot].present
      ? new AccessKey(`${name}-${previousSlot}`, keyArgs(previousSlot), { parent: this, dependsOn: gate })
      : undefined;
    for (const key of [current, previous]) {
      key?.interrupted.apply((notice) => {
        if (notice) pulumi.log.warn(notice, this);
      });
    }
    return keySlots(current, previous, publication);
  }

  /** Logs what this deploy's plan does, as it is planned at preview and done at update. */
  private report(
    events: ScheduleEvent[] | undefined,
    userName: string,
    registeredAt: Date | undefined,
  ): void {
    if (!events || !registeredAt) return;
    let at: Date;
    try {
      at = componentNow();
    } catch {
      return;
    }
    for (const e of freshEvents(events, registeredAt, at)) {
      const text = `${userName}: ${e.message}`;
      if (e.kind === "max-age" || e.kind === "recreate" || e.kind === "slot-emptied" || e.kind === "leftover")
        pulumi.log.warn(text, this);
      else pulumi.log.info(text, this);
    }
  }
}
