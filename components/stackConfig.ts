/**
 * Turns the root project's stack config into one RotatingAccessKey per user: pure functions, so
 * the rules (validation, per-user overrides, staggering) are tested without Pulumi.
 */
import { RotatingAccessKeyArgs } from "./rotatingAccessKey";
import { resolveSettings, USER_NAME_PATTERN } from "./settings";

export interface StackConfigInput {
  users?: unknown;
  userSettings?: unknown;
  rotationDays?: number;
  overlapDays?: number;
  maxAgeDays?: number;
  deletionGuardHours?: number;
  forceDelete?: boolean;
  stagger?: boolean;
  unmanagedKeys?: string;
  verifyTimeoutSeconds?: number;
}

const OVERRIDES = [
  "rotationDays",
  "overlapDays",
  "maxAgeDays",
  "deletionGuardHours",
  "forceDelete",
  "staggerDays",
  "unmanagedKeys",
  "verifyTimeoutSeconds",
  "secretsManagerSecretId",
] as const;

/**
 * The first rotation of the i-th listed user comes `staggerDays(i)` days early, spreading users
 * over the period; appending users leaves the earlier users' offsets unchanged.
 */
export function staggerDays(index: number, rotationDays: number): number {
  const step = Math.max(1, Math.round(rotationDays * 0.382));
  return (index * step) % rotationDays;
}

export interface UserPlan {
  userName: string;
  args: RotatingAccessKeyArgs & { userName: string };
}

/** Validates the config and returns one component's arguments per user; throws listing every problem. */
export function planUsers(config: StackConfigInput): UserPlan[] {
  const problems: string[] = [];
  const users = config.users ?? [];
  if (!Array.isArray(users) || users.some((u) => typeof u !== "string")) {
    throw new Error(
      `aws-key-rotation:users must be a list of IAM user names, for example: pulumi config set --path 'aws-key-rotation:users[0]' alice`,
    );
  }
  const seen = new Set<string>();
  for (const u of users as string[]) {
    if (!USER_NAME_PATTERN.test(u))
      problems.push(
        `aws-key-rotation:users: "${u}" is not a valid IAM user name (1-64 letters, digits or +=,.@_-).`,
      );
    if (seen.has(u)) problems.push(`aws-key-rotation:users lists "${u}" twice: remove the duplicate.`);
    seen.add(u);
  }
  const overrides = (config.userSettings ?? {}) as Record<string, Record<string, unknown>>;
  if (typeof overrides !== "object" || Array.isArray(overrides)) {
    problems.push(`aws-key-rotation:userSettings must be an object keyed by user name.`);
  } else {
    for (const [user, settings] of Object.entries(overrides)) {
      if (!seen.has(user)) {
        problems.push(
          `aws-key-rotation:userSettings has settings for "${user}", who is not in aws-key-rotation:users: add the user or remove the settings.`,
        );
      }
      for (const key of Object.keys(settings ?? {})) {
        if (!(OVERRIDES as readonly string[]).includes(key)) {
          problems.push(
            `aws-key-rotation:userSettings.${user}.${key} is not a setting; use one of ${OVERRIDES.join(", ")}.`,
          );
        }
      }
    }
  }
  const plans: UserPlan[] = (users as string[]).map((userName, index) => {
    const own = (overrides && typeof overrides === "object" ? overrides[userName] : undefined) ?? {};
    const rotationDays = (own.rotationDays as number | undefined) ?? config.rotationDays ?? 30;
    const args = {
      userName,
      rotationDays,
      overlapDays: (own.overlapDays as number | undefined) ?? config.overlapDays ?? 7,
      maxAgeDays: (own.maxAgeDays as number | undefined) ?? config.maxAgeDays ?? 90,
      deletionGuardHours: (own.deletionGuardHours as number | undefined) ?? config.deletionGuardHours ?? 24,
      forceDelete: (own.forceDelete as boolean | undefined) ?? config.forceDelete ?? false,
      staggerDays:
        (own.staggerDays as number | undefined) ??
        (config.stagger === false || !Number.isInteger(rotationDays) || rotationDays < 1
          ? 0
          : staggerDays(index, rotationDays)),
      unmanagedKeys: ((own.unmanagedKeys as string | undefined) ?? config.unmanagedKeys ?? "fail") as
        "fail" | "retire",
      verifyTimeoutSeconds:
        (own.verifyTimeoutSeconds as number | undefined) ?? config.verifyTimeoutSeconds ?? 60,
      ...(own.secretsManagerSecretId !== undefined
        ? { secretsManagerSecretId: own.secretsManagerSecretId as string }
        : {}),
    };
    const { failures } = resolveSettings(args);
    for (const f of failures) {
      const where =
        own[f.property] !== undefined
          ? `aws-key-rotation:userSettings.${userName}.${f.property}`
          : `aws-key-rotation:${f.property} (user ${userName})`;
      problems.push(`${where}: ${f.reason}`);
    }
    return { userName, args };
  });
  if (problems.length > 0) {
    throw new Error(`Invalid stack config:\n${[...new Set(problems)].map((p) => `  - ${p}`).join("\n")}`);
  }
  return plans;
}
