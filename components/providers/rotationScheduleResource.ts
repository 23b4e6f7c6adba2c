/**
 * The `keyrotation:iam:RotationSchedule` resource as a program registers it. Its provider (check,
 * diff, create, read, update, delete) is in rotationSchedule.ts; this module does not load it or
 * the AWS SDK, which a program that only registers resources (the provider plugin makes the AWS
 * calls) does not need.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeyRotationResource } from "./stored";
import { SCHEDULE_TYPE } from "../../core/tokens";
import type { Plan } from "../rotation/schedule";
import type { RotationScheduleArgs, ScheduleEvent } from "./rotationSchedule";

/** The raw input by which the component tells the check whether this deployment is a preview; never stored. */
export const DRY_RUN_INPUT = "dryRun";

export class RotationSchedule extends KeyRotationResource {
  declare public readonly userName: pulumi.Output<string>;
  declare public readonly plan: pulumi.Output<Plan | undefined>;
  declare public readonly events: pulumi.Output<ScheduleEvent[] | undefined>;
  declare public readonly rotationDays: pulumi.Output<number>;
  declare public readonly overlapDays: pulumi.Output<number>;
  declare public readonly maxAgeDays: pulumi.Output<number>;

  constructor(name: string, args: RotationScheduleArgs, opts?: pulumi.CustomResourceOptions) {
    // With notifications, the check learns whether this is a preview (it publishes nothing then).
    const dryRun = args.notifySnsTopicArn !== undefined ? { [DRY_RUN_INPUT]: pulumi.runtime.isDryRun() } : {};
    super(
      SCHEDULE_TYPE,
      name,
      { ...args, ...dryRun, plan: undefined, events: undefined, notified: undefined },
      opts,
    );
  }
}
