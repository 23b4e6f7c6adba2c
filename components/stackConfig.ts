/**
 * Turns the root project's stack config into one RotatingAccessKey per user: pure functions, so
 * the rules (validation, per-user overrides, staggering) are tested without Pulumi.
 */
import { RotatingAccessKeyArgs } from "./rotatingAccessKey";
import {
  DEFAULTS,
  resolveSettings,
  RotationSettings,
  SETTING_KEYS,
  USER_NAME_PATTERN,
} from "../core/settings";

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

/** What `aws-key-rotation:userSettings.<user>` may set: every rotation setting, plus delivery. */
const OVERRIDES = [...SETTING_KEYS, "secretsManagerSecretId", "adoptExistingSecret"] as const;

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
    // Per-user setting, else the stack-wide one, else the component's default.
    const pick = <K extends keyof RotationSettings>(key: K, stackWide?: unknown): RotationSettings[K] =>
      (own[key] ?? stackWide ?? DEFAULTS[key]) as RotationSettings[K];
    const rotationDays = pick("rotationDays", config.rotationDays);
    const staggered = config.stagger !== false && Number.isInteger(rotationDays) && rotationDays >= 1;
    const args = {
      userName,
      rotationDays,
      overlapDays: pick("overlapDays", config.overlapDays),
      maxAgeDays: pick("maxAgeDays", config.maxAgeDays),
      deletionGuardHours: pick("deletionGuardHours", config.deletionGuardHours),
      forceDelete: pick("forceDelete", config.forceDelete),
      staggerDays: pick("staggerDays", staggered ? staggerDays(index, rotationDays) : undefined),
      unmanagedKeys: pick("unmanagedKeys", config.unmanagedKeys),
      verifyTimeoutSeconds: pick("verifyTimeoutSeconds", config.verifyTimeoutSeconds),
      ...(own.secretsManagerSecretId !== undefined
        ? { secretsManagerSecretId: own.secretsManagerSecretId as string }
        : {}),
      ...(own.adoptExistingSecret !== undefined
        ? { adoptExistingSecret: own.adoptExistingSecret as boolean }
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
