/**
 * The ready project's program, as a function: the repository root's index.ts runs it under
 * `pulumi up`, and the `run` command runs it as an Automation API inline program. It reads the
 * `aws-key-rotation:*` stack config and makes one RotatingAccessKey per user; in the `accounts`
 * form, one explicit keyrotation Provider per account, assuming that account's role.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "./provider";
import { RotatingAccessKey } from "./rotatingAccessKey";
import { planStack, StackConfigInput, StackPlan } from "./stackConfig";

/** Reads the `aws-key-rotation:*` stack config (typed; validation is `planStack`'s). */
export function readStackConfig(config = new pulumi.Config("aws-key-rotation")): StackConfigInput {
  return {
    users: config.getObject<unknown>("users"),
    userSettings: config.getObject<unknown>("userSettings"),
    accounts: config.getObject<unknown>("accounts"),
    roleName: config.get("roleName"),
    externalId: config.get("externalId"),
    rotationDays: config.getNumber("rotationDays"),
    overlapDays: config.getNumber("overlapDays"),
    maxAgeDays: config.getNumber("maxAgeDays"),
    deletionGuardHours: config.getNumber("deletionGuardHours"),
    forceDelete: config.getBoolean("forceDelete"),
    stagger: config.getBoolean("stagger"),
    unmanagedKeys: config.get("unmanagedKeys"),
    verifyTimeoutSeconds: config.getNumber("verifyTimeoutSeconds"),
    notifySnsTopicArn: config.get("notifySnsTopicArn"),
  };
}

/** The stack outputs: per user (`alice`) or per account and user (`111111111111/alice`). */
export interface ReadyProjectOutputs {
  /** Current key id. */
  accessKeyIds: pulumi.Output<Record<string, string>>;
  /** Current secret access key (a secret). */
  secretAccessKeys: pulumi.Output<Record<string, string>>;
  /** Previous key id, while it exists. */
  previousAccessKeyIds: pulumi.Output<Record<string, string | undefined>>;
  /** Next rotation date (ISO-8601). */
  nextRotationDates: pulumi.Output<Record<string, string>>;
  /** Every managed key: slot, id, status, createDate. */
  keys: pulumi.Output<Record<string, unknown>>;
  /** The accounts form: per account id, its name, the role assumed and its users. Absent without it. */
  accounts?: pulumi.Output<Record<string, { name?: string; roleArn: string; users: string[] }>>;
}

/** Declares the resources of a validated plan. */
export function declareRotations(plan: StackPlan): ReadyProjectOutputs {
  const rotations: { name: string; key: RotatingAccessKey }[] = plan.users.map(({ name, args }) => ({
    name,
    key: new RotatingAccessKey(name, args),
  }));
  for (const account of plan.accounts) {
    const provider = new Provider(account.providerName, {
      assumeRole: {
        roleArn: account.roleArn,
        ...(account.externalId ? { externalId: account.externalId } : {}),
      },
    });
    for (const { name, args } of account.users) {
      rotations.push({ name, key: new RotatingAccessKey(name, args, { provider }) });
    }
  }
  const byName = <T>(pick: (k: RotatingAccessKey) => pulumi.Output<T>) =>
    pulumi.all(Object.fromEntries(rotations.map((r) => [r.name, pick(r.key)]))) as pulumi.Output<
      Record<string, T>
    >;
  return {
    accessKeyIds: byName((k) => k.accessKeyId),
    secretAccessKeys: pulumi.secret(byName((k) => k.secretAccessKey)),
    previousAccessKeyIds: byName((k) => k.previousAccessKeyId),
    nextRotationDates: byName((k) => k.nextRotationDate),
    keys: byName((k) => k.keys as pulumi.Output<unknown>),
    ...(plan.accounts.length > 0
      ? {
          accounts: pulumi.output(
            Object.fromEntries(
              plan.accounts.map((a) => [
                a.id,
                {
                  ...(a.name ? { name: a.name } : {}),
                  roleArn: a.roleArn,
                  users: a.users.map((u) => u.userName),
                },
              ]),
            ),
          ),
        }
      : {}),
  };
}

/** The whole program: stack config in, resources declared, outputs returned. */
export function readyProgram(config?: pulumi.Config): ReadyProjectOutputs {
  return declareRotations(planStack(readStackConfig(config)));
}
