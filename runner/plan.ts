/**
 * The runner's plan: pure functions that turn one stack config (the `config:` map of a
 * `Pulumi.<stack>.yaml`) into many small stacks, each with the config of its share of the users.
 *
 * Rules:
 * - Every setting is validated first, exactly as the ready project does (`planStack`), so a bad
 *   entry fails before any stack is touched, naming it.
 * - Each scope (the `users` form, and each account of the `accounts` form) has its own stacks:
 *   `<prefix>-<scope>-<n>`, scope `default` or the account id, n from 1.
 * - A user stays in the stack whose state already holds it (read from the stacks themselves, so
 *   the assignment survives a lost workspace and a failed deploy); new users fill the scope's
 *   stacks in order up to `maxUsersPerStack`, then new stacks. Adding users never moves one.
 * - Stagger offsets are those of the user's place in its scope's list in the config file, the
 *   same as one stack of the whole list gets, so sharding (or taking over a stack deployed by
 *   hand) changes no schedule.
 */
import { planStack, staggerDays, StackConfigInput } from "../components/stackConfig";
import { DEFAULTS } from "../core/settings";

/** The project namespace of the ready project's settings. */
export const NAMESPACE = "aws-key-rotation";
/** The scope of the `users` form. */
export const DEFAULT_SCOPE = "default";

/** Thrown for a bad config file or bad flags: the message names the key or flag and the fix. */
export class RunnerUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunnerUsageError";
  }
}

/** The settings of a `config:` map, split by namespace. */
export interface RunnerConfig {
  /** `aws-key-rotation:<key>` values, by key. */
  settings: Record<string, unknown>;
  /** Every other key (`keyrotation:region`, ...), passed to every stack as it is. */
  passThrough: Record<string, unknown>;
}

/**
 * Reads the parsed YAML of a config file: `{ config: { "aws-key-rotation:users": [...], ... } }`
 * (a `Pulumi.<stack>.yaml`). Encrypted values cannot be read here; a `secure:` value is refused.
 */
export function readRunnerConfig(parsed: unknown, file: string): RunnerConfig {
  const root = parsed as { config?: unknown } | null;
  if (!root || typeof root !== "object" || Array.isArray(root) || root.config === undefined) {
    throw new RunnerUsageError(
      `--config ${file} has no config: map. Give it the config: map of a Pulumi.<stack>.yaml, for example:\n` +
        `config:\n  aws-key-rotation:users: [alice, bob]`,
    );
  }
  const config = root.config;
  if (!config || typeof config !== "object" || Array.isArray(config)) {
    throw new RunnerUsageError(`--config ${file}: config: must be a map of keys to values.`);
  }
  const settings: Record<string, unknown> = {};
  const passThrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      throw new RunnerUsageError(
        `--config ${file}: ${key} is encrypted (secure:), and only its stack can decrypt it. Give the value in plain text, or set it in the environment the runner runs in (for AWS credentials).`,
      );
    }
    const colon = key.indexOf(":");
    if (colon <= 0) {
      throw new RunnerUsageError(
        `--config ${file}: ${key} has no namespace; write ${NAMESPACE}:${key} for a setting of the ready project.`,
      );
    }
    if (key.slice(0, colon) === NAMESPACE) settings[key.slice(colon + 1)] = value;
    else passThrough[key] = value;
  }
  return { settings, passThrough };
}

/** The ready project's typed input from the settings (as `pulumi.Config` would read them). */
export function stackConfigInput(settings: Record<string, unknown>): StackConfigInput {
  const num = (k: string) => (settings[k] === undefined ? undefined : Number(settings[k]));
  const bool = (k: string) =>
    settings[k] === undefined ? undefined : settings[k] === true || settings[k] === "true";
  const str = (k: string) => (settings[k] === undefined ? undefined : String(settings[k]));
  return {
    users: settings.users,
    userSettings: settings.userSettings,
    accounts: settings.accounts,
    roleName: str("roleName"),
    externalId: str("externalId"),
    rotationDays: num("rotationDays"),
    overlapDays: num("overlapDays"),
    maxAgeDays: num("maxAgeDays"),
    deletionGuardHours: num("deletionGuardHours"),
    forceDelete: bool("forceDelete"),
    stagger: bool("stagger"),
    unmanagedKeys: str("unmanagedKeys"),
    verifyTimeoutSeconds: num("verifyTimeoutSeconds"),
    notifySnsTopicArn: str("notifySnsTopicArn"),
  };
}

/** One scope's users, in config order, with the per-user settings the config gives them. */
interface Scope {
  scope: string;
  /** The component names (`alice`, `111111111111/alice`), in config order. */
  names: string[];
  userNames: Map<string, string>;
  /** The account entry (without users), for the accounts form. */
  account?: Record<string, unknown>;
  userSettings: Record<string, Record<string, unknown>>;
}

function scopesOf(settings: Record<string, unknown>): Scope[] {
  const plan = planStack(stackConfigInput(settings)); // throws, naming every bad entry
  const scopes: Scope[] = [];
  const userSettings = (settings.userSettings ?? {}) as Record<string, Record<string, unknown>>;
  if (plan.users.length > 0) {
    scopes.push({
      scope: DEFAULT_SCOPE,
      names: plan.users.map((u) => u.name),
      userNames: new Map(plan.users.map((u) => [u.name, u.userName])),
      userSettings,
    });
  }
  const entries = (settings.accounts ?? []) as Record<string, unknown>[];
  plan.accounts.forEach((account) => {
    const entry = entries.find((e) => String(e.id).trim() === account.id) ?? {};
    const { users: _users, userSettings: own, ...rest } = entry;
    scopes.push({
      scope: account.id,
      names: account.users.map((u) => u.name),
      userNames: new Map(account.users.map((u) => [u.name, u.userName])),
      account: { ...rest, id: account.id },
      userSettings: (own ?? {}) as Record<string, Record<string, unknown>>,
    });
  });
  return scopes;
}

export interface PlannedStack {
  name: string;
  scope: string;
  /** Component names of its users, in config order. */
  users: string[];
  /** The whole stack config to set (`aws-key-rotation:*` and passed-through keys). */
  config: Record<string, unknown>;
  /** True when no stack of this name exists yet. */
  isNew: boolean;
}

export interface RunPlan {
  stacks: PlannedStack[];
  /** Existing stacks of the prefix that hold none of the configured users (left as they are). */
  untouched: string[];
}

/** `<prefix>-<scope>-<n>` for the runner's own stacks. */
export function stackName(prefix: string, scope: string, index: number): string {
  return `${prefix}-${scope}-${index}`;
}

const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * The stacks to deploy. `existing`: every stack of the project named `<prefix>` or
 * `<prefix>-...`, with the component names its state holds.
 */
export function planRun(
  config: RunnerConfig,
  options: { prefix: string; maxUsersPerStack: number; existing: ReadonlyMap<string, ReadonlySet<string>> },
): RunPlan {
  const { prefix, maxUsersPerStack, existing } = options;
  if (!STACK_NAME.test(prefix)) {
    throw new RunnerUsageError(
      `--stack-prefix "${prefix}" is not a stack name: use 1 to 100 letters, digits, '_', '.' or '-'.`,
    );
  }
  const scopes = scopesOf(config.settings);
  // Which existing stack holds which configured user.
  const holder = new Map<string, string>();
  for (const [stack, names] of [...existing].sort(([a], [b]) => a.localeCompare(b))) {
    for (const name of names) if (!holder.has(name)) holder.set(name, stack);
  }
  const stagger = config.settings.stagger !== false && config.settings.stagger !== "false";
  const rotationDays = Number(config.settings.rotationDays ?? DEFAULTS.rotationDays);
  const planned = new Map<string, { scope: Scope; users: string[]; isNew: boolean }>();
  const used = new Set<string>();
  for (const scope of scopes) {
    const stacksOfScope: string[] = [];
    const add = (stack: string, isNew: boolean) => {
      if (!planned.has(stack)) {
        planned.set(stack, { scope, users: [], isNew });
        stacksOfScope.push(stack);
      }
      return planned.get(stack) as { users: string[] };
    };
    // Users already deployed stay where they are.
    for (const name of scope.names) {
      const stack = holder.get(name);
      if (stack !== undefined) {
        const p = planned.get(stack);
        if (p && p.scope !== scope) {
          throw new RunnerUsageError(
            `stack ${stack} holds users of two scopes (${p.scope.scope} and ${scope.scope}); the runner keeps each account in its own stacks. Move one of them by hand (pulumi state) or give this config another --stack-prefix.`,
          );
        }
        add(stack, false).users.push(name);
        used.add(stack);
      }
    }
    // The scope's own stacks that exist but hold none of these users yet can take new ones.
    for (const stack of [...existing.keys()].sort()) {
      if (!used.has(stack) && stack.startsWith(`${prefix}-${scope.scope}-`) && !planned.has(stack)) {
        add(stack, false);
        used.add(stack);
      }
    }
    let index = 1;
    for (const name of scope.names) {
      if (holder.has(name)) continue;
      let target = stacksOfScope.find(
        (s) => (planned.get(s) as { users: string[] }).users.length < maxUsersPerStack,
      );
      if (target === undefined) {
        while (
          existing.has(stackName(prefix, scope.scope, index)) ||
          planned.has(stackName(prefix, scope.scope, index))
        )
          index++;
        target = stackName(prefix, scope.scope, index);
        add(target, true);
      }
      (planned.get(target) as { users: string[] }).users.push(name);
    }
  }
  const stacks: PlannedStack[] = [];
  for (const [name, { scope, users, isNew }] of planned) {
    const order = new Map(scope.names.map((n, i) => [n, i]));
    users.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    stacks.push({
      name,
      scope: scope.scope,
      users,
      config: stackConfig(config, scope, users, stagger, rotationDays),
      isNew,
    });
  }
  stacks.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const untouched = [...existing.keys()].filter((s) => !planned.has(s)).sort();
  return { stacks, untouched };
}

/** The config of one stack: the shared settings, and its users with their settings and stagger. */
function stackConfig(
  config: RunnerConfig,
  scope: Scope,
  users: string[],
  stagger: boolean,
  rotationDays: number,
): Record<string, unknown> {
  const shared = Object.fromEntries(
    Object.entries(config.settings).filter(([k]) => !["users", "userSettings", "accounts"].includes(k)),
  );
  const userSettings: Record<string, Record<string, unknown>> = {};
  for (const name of users) {
    const userName = scope.userNames.get(name) as string;
    const own = { ...(scope.userSettings[userName] ?? {}) };
    // The offset this user gets in one stack of the whole list: its place in the config's list.
    const days = Number(own.rotationDays ?? rotationDays);
    if (stagger && own.staggerDays === undefined && Number.isInteger(days) && days >= 1) {
      own.staggerDays = staggerDays(scope.names.indexOf(name), days);
    }
    if (Object.keys(own).length > 0) userSettings[userName] = own;
  }
  const userNames = users.map((n) => scope.userNames.get(n) as string);
  const out: Record<string, unknown> = { ...config.passThrough };
  for (const [k, v] of Object.entries(shared)) out[`${NAMESPACE}:${k}`] = v;
  if (scope.account) {
    out[`${NAMESPACE}:accounts`] = [
      {
        ...scope.account,
        users: userNames,
        ...(Object.keys(userSettings).length > 0 ? { userSettings } : {}),
      },
    ];
  } else {
    out[`${NAMESPACE}:users`] = userNames;
    if (Object.keys(userSettings).length > 0) out[`${NAMESPACE}:userSettings`] = userSettings;
  }
  return out;
}
