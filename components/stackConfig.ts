/**
 * Turns the root project's stack config into one RotatingAccessKey per user: pure functions, so
 * the rules (validation, per-user overrides, staggering) are tested without Pulumi. Two forms,
 * which may be combined: `users` (the users of the account the default provider reaches) and
 * `accounts` (per account: its id, the role to assume there and its users).
 */
import { RotatingAccessKeyArgs } from "./rotatingAccessKey";
import { ROLE_ARN_PATTERN } from "../core/connection";
import { snsTopicArnFailure } from "../core/notifications";
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
  /** `aws-key-rotation:accounts`: a list of account entries (see `AccountEntry`). */
  accounts?: unknown;
  /** `aws-key-rotation:roleName`: the role assumed in every account whose entry names none. */
  roleName?: string;
  /** `aws-key-rotation:externalId`: the external id for every account whose entry gives none. */
  externalId?: string;
  rotationDays?: number;
  overlapDays?: number;
  maxAgeDays?: number;
  deletionGuardHours?: number;
  forceDelete?: boolean;
  stagger?: boolean;
  unmanagedKeys?: string;
  verifyTimeoutSeconds?: number;
  /** `aws-key-rotation:notifySnsTopicArn`: the SNS topic of every user whose account entry or settings name none. */
  notifySnsTopicArn?: string;
}

/** What `aws-key-rotation:userSettings.<user>` may set: every rotation setting, plus delivery and notifications. */
const OVERRIDES = [
  ...SETTING_KEYS,
  "secretsManagerSecretId",
  "adoptExistingSecret",
  "notifySnsTopicArn",
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
  /** The component's resource name: the user name, or `<account id>/<user name>` in the accounts form. */
  name: string;
  userName: string;
  args: RotatingAccessKeyArgs & { userName: string };
}

/** One entry of `aws-key-rotation:accounts`, as a user writes it. */
export interface AccountEntry {
  /** The 12-digit account id (quoted in YAML, so that leading zeros stay). */
  id: string;
  /** A name for people (outputs and messages). Default: none. */
  name?: string;
  /** The role to assume there. Default: `arn:aws:iam::<id>:role/<roleName>`. */
  roleArn?: string;
  /** The role's name, when `roleArn` is not given. Default: `aws-key-rotation:roleName`. */
  roleName?: string;
  /** The external id the role's trust policy requires. Default: `aws-key-rotation:externalId`, else none. */
  externalId?: string;
  /** The IAM users of that account whose keys rotate. */
  users: string[];
  /** Per-user settings, as `aws-key-rotation:userSettings`. */
  userSettings?: Record<string, Record<string, unknown>>;
  /** The SNS topic of this account's users (a user's own setting wins). Default: `aws-key-rotation:notifySnsTopicArn`. */
  notifySnsTopicArn?: string;
}

/** What one account of the accounts form becomes: an explicit provider and the account's users. */
export interface AccountPlan {
  id: string;
  name?: string;
  roleArn: string;
  externalId?: string;
  /** The explicit provider's resource name: `account-<id>`. */
  providerName: string;
  users: UserPlan[];
}

export interface StackPlan {
  /** The `users` form: reached with the default provider. */
  users: UserPlan[];
  /** The `accounts` form, in the order listed. */
  accounts: AccountPlan[];
}

const ACCOUNT_FIELDS = [
  "id",
  "name",
  "roleArn",
  "roleName",
  "externalId",
  "users",
  "userSettings",
  "notifySnsTopicArn",
];
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** Where a problem is: `aws-key-rotation:users` or `aws-key-rotation:accounts[1].users`. */
interface Place {
  /** The setting that lists the users. */
  users: string;
  /** The setting that holds per-user settings. */
  userSettings: string;
  /** How a stack-wide setting is named for one user. */
  stackWide: (property: string, userName: string) => string;
  /** The resource name of a user's component. */
  resourceName: (userName: string) => string;
  /** The topic of users without their own (the account's, else the stack-wide one); checked where it is set. */
  notifySnsTopicArn?: string;
}

function planUserList(
  users: unknown,
  userSettings: unknown,
  config: StackConfigInput,
  place: Place,
  problems: string[],
): UserPlan[] {
  if (!Array.isArray(users) || users.some((u) => typeof u !== "string")) {
    problems.push(
      `${place.users} must be a list of IAM user names, for example: pulumi config set --path '${place.users}[0]' alice`,
    );
    return [];
  }
  const seen = new Set<string>();
  for (const u of users as string[]) {
    if (!USER_NAME_PATTERN.test(u))
      problems.push(`${place.users}: "${u}" is not a valid IAM user name (1-64 letters, digits or +=,.@_-).`);
    if (seen.has(u)) problems.push(`${place.users} lists "${u}" twice: remove the duplicate.`);
    seen.add(u);
  }
  const overrides = (userSettings ?? {}) as Record<string, Record<string, unknown>>;
  const overridesOk = typeof overrides === "object" && overrides !== null && !Array.isArray(overrides);
  if (!overridesOk) {
    problems.push(`${place.userSettings} must be an object keyed by user name.`);
  } else {
    for (const [user, settings] of Object.entries(overrides)) {
      if (!seen.has(user)) {
        problems.push(
          `${place.userSettings} has settings for "${user}", who is not in ${place.users}: add the user or remove the settings.`,
        );
      }
      for (const key of Object.keys(settings ?? {})) {
        if (!(OVERRIDES as readonly string[]).includes(key)) {
          problems.push(
            `${place.userSettings}.${user}.${key} is not a setting; use one of ${OVERRIDES.join(", ")}.`,
          );
        }
      }
    }
  }
  return (users as string[]).map((userName, index) => {
    const own = (overridesOk ? overrides[userName] : undefined) ?? {};
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
    // The user's own topic ("" for none), else the account's, else the stack-wide one.
    const topic = own.notifySnsTopicArn !== undefined ? own.notifySnsTopicArn : place.notifySnsTopicArn;
    if (own.notifySnsTopicArn !== undefined) {
      const f = snsTopicArnFailure(
        own.notifySnsTopicArn,
        `${place.userSettings}.${userName}.notifySnsTopicArn`,
      );
      if (f) problems.push(f.reason);
    }
    if (typeof topic === "string" && topic !== "") Object.assign(args, { notifySnsTopicArn: topic });
    const { failures } = resolveSettings(args);
    for (const f of failures) {
      const where =
        own[f.property] !== undefined
          ? `${place.userSettings}.${userName}.${f.property}`
          : place.stackWide(f.property, userName);
      problems.push(`${where}: ${f.reason}`);
    }
    return { name: place.resourceName(userName), userName, args };
  });
}

/** The id of an entry: a 12-digit string, or a 12-digit number (YAML without quotes). */
function accountId(value: unknown): string | undefined {
  if (typeof value === "string" && ACCOUNT_ID.test(value.trim())) return value.trim();
  if (typeof value === "number" && Number.isInteger(value) && ACCOUNT_ID.test(String(value)))
    return String(value);
  return undefined;
}

function planAccount(
  entry: unknown,
  index: number,
  config: StackConfigInput,
  seenIds: Map<string, number>,
  problems: string[],
): AccountPlan | undefined {
  const at = `aws-key-rotation:accounts[${index}]`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    problems.push(
      `${at} must be an object with id, roleArn or roleName, and users; for example: pulumi config set --path '${at}.id' '"111111111111"'`,
    );
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) {
    if (!ACCOUNT_FIELDS.includes(key))
      problems.push(`${at}.${key} is not a field of an account; use ${ACCOUNT_FIELDS.join(", ")}.`);
  }
  const id = accountId(e.id);
  if (id === undefined) {
    problems.push(
      `${at}.id ${e.id === undefined ? "is missing" : `${JSON.stringify(e.id)} is not a 12-digit AWS account id`}: set it to the account's id as a quoted string, for example id: "012345678901".`,
    );
  } else if (seenIds.has(id)) {
    problems.push(
      `${at} (account ${id}) repeats aws-key-rotation:accounts[${seenIds.get(id)}]: list each account once, with all its users.`,
    );
  } else seenIds.set(id, index);
  const label = id ? `${at} (account ${id})` : at;
  const text = (field: string): string | undefined => {
    const v = e[field];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") {
      problems.push(`${label}.${field} must be a string; got ${typeof v}.`);
      return undefined;
    }
    return v.trim();
  };
  const name = text("name");
  const externalId = text("externalId") ?? (config.externalId || undefined);
  let roleArn = text("roleArn");
  const roleName = text("roleName") ?? (config.roleName || undefined);
  if (roleArn !== undefined) {
    if (!ROLE_ARN_PATTERN.test(roleArn)) {
      problems.push(
        `${label}.roleArn "${roleArn}" is not an IAM role ARN: set it to arn:aws:iam::${id ?? "<account id>"}:role/<name>, or give roleName.`,
      );
      roleArn = undefined;
    } else if (id !== undefined && roleArn.split(":")[4] !== id) {
      problems.push(
        `${label}.roleArn "${roleArn}" is a role in account ${roleArn.split(":")[4]}, not ${id}: use the role of account ${id}.`,
      );
      roleArn = undefined;
    }
  } else if (roleName !== undefined) {
    if (!ROLE_NAME.test(roleName)) {
      problems.push(
        `${e.roleName !== undefined ? `${label}.roleName` : "aws-key-rotation:roleName"} "${roleName}" is not an IAM role name (1-64 letters, digits or +=,.@_-).`,
      );
    } else if (id !== undefined) roleArn = `arn:aws:iam::${id}:role/${roleName}`;
  } else {
    problems.push(
      `${label} names no role to assume: set ${at}.roleArn, ${at}.roleName, or aws-key-rotation:roleName for every account.`,
    );
  }
  const accountTopic = e.notifySnsTopicArn;
  const accountTopicFailure = snsTopicArnFailure(accountTopic, `${label}.notifySnsTopicArn`);
  if (accountTopicFailure) problems.push(accountTopicFailure.reason);
  if (e.users === undefined || (Array.isArray(e.users) && e.users.length === 0)) {
    problems.push(`${label}.users lists no users: add the account's IAM users, or remove the entry.`);
  }
  const users = planUserList(
    e.users ?? [],
    e.userSettings,
    config,
    {
      users: `${at}.users`,
      userSettings: `${at}.userSettings`,
      stackWide: (property, userName) => `aws-key-rotation:${property} (user ${userName} in ${label})`,
      resourceName: (userName) => `${id ?? index}/${userName}`,
      notifySnsTopicArn: accountTopic !== undefined ? (accountTopic as string) : config.notifySnsTopicArn,
    },
    problems,
  );
  if (id === undefined || roleArn === undefined) return undefined;
  return {
    id,
    ...(name ? { name } : {}),
    roleArn,
    ...(externalId ? { externalId } : {}),
    providerName: `account-${id}`,
    users,
  };
}

/** Validates the config and returns both forms' plans; throws listing every problem. */
export function planStack(config: StackConfigInput): StackPlan {
  const problems: string[] = [];
  const topicFailure = snsTopicArnFailure(config.notifySnsTopicArn, "aws-key-rotation:notifySnsTopicArn");
  if (topicFailure) problems.push(topicFailure.reason);
  const users =
    config.users === undefined && config.userSettings === undefined
      ? []
      : planUserList(
          config.users ?? [],
          config.userSettings,
          config,
          {
            users: "aws-key-rotation:users",
            userSettings: "aws-key-rotation:userSettings",
            stackWide: (property, userName) => `aws-key-rotation:${property} (user ${userName})`,
            resourceName: (userName) => userName,
            notifySnsTopicArn: config.notifySnsTopicArn,
          },
          problems,
        );
  const accounts: AccountPlan[] = [];
  if (config.accounts !== undefined) {
    if (!Array.isArray(config.accounts)) {
      problems.push(
        `aws-key-rotation:accounts must be a list of accounts, for example: pulumi config set --path 'aws-key-rotation:accounts[0].id' '"111111111111"'`,
      );
    } else {
      const seenIds = new Map<string, number>();
      config.accounts.forEach((entry, index) => {
        const plan = planAccount(entry, index, config, seenIds, problems);
        if (plan) accounts.push(plan);
      });
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid stack config:\n${[...new Set(problems)].map((p) => `  - ${p}`).join("\n")}`);
  }
  return { users, accounts };
}

/** The `users` form alone (every user of both forms, when `accounts` is also set). */
export function planUsers(config: StackConfigInput): UserPlan[] {
  const plan = planStack(config);
  return [...plan.users, ...plan.accounts.flatMap((a) => a.users)];
}
