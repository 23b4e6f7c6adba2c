/**
 * `iam-access-keys-outside-stack`: Active keys older than the limit on the stack's IAM users that
 * the stack does not manage (made in the console, by a script, by another stack).
 */
import { ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { daysBetween, now, parseInstant } from "../../core/clock";
import { findExemption } from "../../core/exemptions";
import {
  AssumeRoleError,
  ConnectionSettings,
  parseConnection,
  standaloneConnection,
} from "../../core/connection";
import { inventoryUsers } from "../../core/iam";
import { ROTATING_ACCESS_KEY_TOKEN, SCHEDULE_TOKENS } from "../../core/tokens";
import {
  IntegerBounds,
  MAX_AGE_DAYS,
  exemptionsSchema,
  integerSchema,
  maxAgeDaysSchema,
  rawConfig,
  readExemptions,
  readInteger,
} from "../lib/config";
import { createPolicyIamClient } from "../lib/iamClient";
import { advisory, describeError, reportExpiredExemptions, ageText } from "../lib/report";
import {
  KEYROTATION_PROVIDER_TYPE,
  ResourceLike,
  SCHEDULE_TYPES,
  readProp,
  readString,
  stackKeys,
} from "../lib/resources";

export const OUTSIDE_STACK_POLICY_NAME = "iam-access-keys-outside-stack";

export const CONNECT_TIMEOUT_MS: IntegerBounds = { default: 3000, minimum: 100, maximum: 60_000 };
export const REQUEST_TIMEOUT_MS: IntegerBounds = { default: 5000, minimum: 100, maximum: 120_000 };
export const MAX_ATTEMPTS: IntegerBounds = { default: 2, minimum: 1, maximum: 10 };
export const DEADLINE_SECONDS: IntegerBounds = { default: 60, minimum: 1, maximum: 600 };
export const CONCURRENCY: IntegerBounds = { default: 8, minimum: 1, maximum: 32 };

/**
 * For the IAM users the stack manages keys for (the `user`/`userName` of its key resources and the
 * `userName` of its RotatingAccessKey and RotationSchedule resources), lists their keys with the
 * AWS SDK (paginated) with the configuration of the keyrotation provider that manages each user
 * (its `region`, `profile` and `assumeRole`: a user in another account is listed in that account,
 * and named with it), else the default credential chain, and reports every Active key older than
 * `maxAgeDays` (default 90, 1 to 365) whose id is not among the stack's keys. Users with a key
 * whose id is unknown at preview are skipped until the id is known. Exemptions apply as in
 * `iam-access-key-max-age`. When AWS cannot be reached within the timeouts this is one advisory
 * line per provider configuration (naming its account and role), never a failure; the users of
 * the other configurations are still checked. Advisory by default.
 */
export const iamAccessKeysOutsideStack: StackValidationPolicy = {
  name: OUTSIDE_STACK_POLICY_NAME,
  description:
    "Active IAM access keys older than maxAgeDays on the stack's users must not exist outside the stack (keys made in the console or by scripts are found with the AWS SDK).",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "Deactivate the key once nothing uses it (aws iam update-access-key --status Inactive), let a RotatingAccessKey " +
    "retire it, or add an exemption with a reason and an expiry date to the policy configuration.",
  configSchema: {
    properties: {
      maxAgeDays: maxAgeDaysSchema(
        "The age in days after which an Active key made outside the stack is reported.",
      ),
      exemptions: exemptionsSchema,
      connectTimeoutMs: integerSchema(CONNECT_TIMEOUT_MS, "Milliseconds to wait for a connection to IAM."),
      requestTimeoutMs: integerSchema(
        REQUEST_TIMEOUT_MS,
        "Milliseconds an IAM request may wait for an answer.",
      ),
      maxAttempts: integerSchema(MAX_ATTEMPTS, "Attempts per IAM call, including the first."),
      deadlineSeconds: integerSchema(
        DEADLINE_SECONDS,
        "Seconds the whole listing may take; past it the check is skipped with one advisory line.",
      ),
      concurrency: integerSchema(CONCURRENCY, "IAM calls in flight at once."),
    },
  },
  validateStack: (args, reportViolation) =>
    checkKeysOutsideStack(
      args.resources,
      rawConfig(() => args.getConfig()),
      reportViolation,
    ),
};

/** The check itself, callable without the policy engine. */
export async function checkKeysOutsideStack(
  resources: readonly ResourceLike[],
  raw: Record<string, unknown>,
  reportViolation: ReportViolation,
): Promise<void> {
  const problems: string[] = [];
  const maxAgeDays = readInteger(raw, "maxAgeDays", MAX_AGE_DAYS, problems);
  const exemptions = readExemptions(raw, problems);
  const connectTimeoutMs = readInteger(raw, "connectTimeoutMs", CONNECT_TIMEOUT_MS, problems);
  const requestTimeoutMs = readInteger(raw, "requestTimeoutMs", REQUEST_TIMEOUT_MS, problems);
  const maxAttempts = readInteger(raw, "maxAttempts", MAX_ATTEMPTS, problems);
  const deadlineSeconds = readInteger(raw, "deadlineSeconds", DEADLINE_SECONDS, problems);
  const concurrency = readInteger(raw, "concurrency", CONCURRENCY, problems);
  let at = new Date(NaN);
  try {
    at = now();
  } catch (err) {
    problems.push(`Cannot tell the age of the keys outside the stack: ${(err as Error).message}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) reportViolation(problem);
    return;
  }
  reportExpiredExemptions(OUTSIDE_STACK_POLICY_NAME, exemptions, at, reportViolation);

  const { groups, managedIds } = stackUsers(resources);
  const outcomes = await Promise.all(
    groups.map((group) =>
      listGroup(group, { connectTimeoutMs, requestTimeoutMs, maxAttempts, deadlineSeconds, concurrency }),
    ),
  );
  for (const { group, inventory, error } of outcomes) {
    if (error !== undefined || inventory === undefined) {
      advisory(
        reportViolation,
        `Could not list the access keys of ${countUsers(group.users)} of this stack (${nameList(group.users)})` +
          `${group.where} to look for keys made outside Pulumi: ${error}. This check was skipped` +
          `${groups.length > 1 ? " for them" : ""}; the keys in the stack itself are still checked by iam-access-key-max-age. ` +
          (group.roleArn
            ? `Check that the role ${group.roleArn} can be assumed with the credentials the policy pack runs with (its trust policy, the external id, sts:AssumeRole), ` +
              `that it may list the users' access keys, and the network, or disable ${OUTSIDE_STACK_POLICY_NAME} in the policy pack configuration.`
            : `Check the AWS credentials, the network and AWS_ENDPOINT_URL_IAM, or ` +
              `disable ${OUTSIDE_STACK_POLICY_NAME} in the policy pack configuration.`),
      );
      continue;
    }
    for (const key of inventory.keys) {
      if (key.status !== "Active" || managedIds.has(key.accessKeyId) || group.pendingUsers.has(key.userName))
        continue;
      const created = parseInstant(key.createDate);
      if (!created) continue;
      const ageDays = daysBetween(created, at);
      if (ageDays <= maxAgeDays) continue;
      const match = findExemption(exemptions, key, at);
      if (match && !match.expired) continue;
      reportViolation(
        `Access key ${key.accessKeyId} of IAM user ${key.userName}${group.where} is Active and ${ageText(ageDays, maxAgeDays)} days old ` +
          `(created ${key.createDate}), older than the limit of ${maxAgeDays} days, and this stack does not manage it ` +
          `(it was made outside Pulumi or by another stack). Deactivate it once nothing uses it ` +
          `(aws iam update-access-key --user-name ${key.userName} --access-key-id ${key.accessKeyId} --status Inactive), ` +
          `let a RotatingAccessKey retire it, or add an exemption with a reason and an expiry date to the ` +
          `${OUTSIDE_STACK_POLICY_NAME} configuration.` +
          (match ? ` Its exemption expired on ${match.exemption.expires}.` : ""),
      );
    }
  }
}

interface ListingOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  deadlineSeconds: number;
  concurrency: number;
}

/** Lists one group's users with its own connection, within the deadline; never throws. */
async function listGroup(
  group: UserGroup,
  options: ListingOptions,
): Promise<{ group: UserGroup; inventory?: Awaited<ReturnType<typeof inventoryUsers>>; error?: string }> {
  if (group.problem !== undefined) return { group, error: group.problem };
  const connection = group.settings ? standaloneConnection(group.settings) : undefined;
  const client = createPolicyIamClient(options, connection);
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `the listing did not finish within ${options.deadlineSeconds} seconds (deadlineSeconds)`,
            ),
          ),
        options.deadlineSeconds * 1000,
      );
      timer.unref();
    });
    const inventory = await Promise.race([
      inventoryUsers(client, group.users, { concurrency: options.concurrency }),
      deadline,
    ]);
    return { group, inventory };
  } catch (err) {
    // The advisory gives the remedy for a role once; the role's own error text would repeat it.
    return {
      group,
      error:
        err instanceof AssumeRoleError
          ? `assuming ${err.roleArn} failed: ${describeError(err.cause)}`
          : describeError(err),
    };
  } finally {
    if (timer) clearTimeout(timer);
    client.destroy();
    connection?.destroy();
  }
}

/**
 * The users reached through one provider configuration: the environment's (no keyrotation
 * provider configured, or keys of other providers), or one keyrotation provider's `region`,
 * `profile` and `assumeRole`, as the engine passed them to that provider.
 */
export interface UserGroup {
  /** The users, sorted. */
  users: string[];
  /** Users with a key whose id is not known yet (being created or replaced). */
  pendingUsers: Set<string>;
  /** The provider configuration; undefined for the environment's credentials. */
  settings?: ConnectionSettings;
  /** The role assumed, for messages. */
  roleArn?: string;
  /** `" in account 111111111111 (provider account-111111111111)"`, or empty for the environment's. */
  where: string;
  /** Why the configuration cannot be used (a malformed setting), instead of listing. */
  problem?: string;
}

/**
 * The stack's IAM users grouped by the provider configuration that reaches them (sorted within a
 * group), and the key ids the stack manages. A user is keyed by its provider: the same user name
 * under two providers (two accounts) is two users. A RotatingAccessKey's user comes from its
 * schedule child (which carries the provider); the component itself only counts when it has none.
 */
export function stackUsers(resources: readonly ResourceLike[]): {
  groups: UserGroup[];
  managedIds: Set<string>;
} {
  const groups = new Map<string, UserGroup & { names: Set<string> }>();
  const managedIds = new Set<string>();
  const groupOf = (resource: ResourceLike): UserGroup & { names: Set<string> } => {
    const provider = resource.provider?.type === KEYROTATION_PROVIDER_TYPE ? resource.provider : undefined;
    const { settings, failures } = provider
      ? parseConnection(providerProps(provider.props))
      : { settings: undefined, failures: [] };
    const configured =
      settings && (settings.region || settings.profile || settings.assumeRole) ? settings : undefined;
    const id = failures.length > 0 ? `bad:${provider?.urn}` : JSON.stringify(configured ?? null);
    let group = groups.get(id);
    if (!group) {
      const roleArn = configured?.assumeRole?.roleArn;
      const account = roleArn?.split(":")[4];
      group = {
        users: [],
        names: new Set(),
        pendingUsers: new Set(),
        ...(configured ? { settings: configured } : {}),
        ...(roleArn ? { roleArn } : {}),
        where:
          configured && provider
            ? `${account ? ` in account ${account}` : ""} (provider ${provider.name})`
            : failures.length > 0 && provider
              ? ` (provider ${provider.name})`
              : "",
        ...(failures.length > 0 ? { problem: failures.map((f) => f.reason).join(" ") } : {}),
      };
      groups.set(id, group);
    }
    return group;
  };
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  for (const key of stackKeys(resources)) {
    const group = groupOf(byUrn.get(key.urn) as ResourceLike);
    if (key.userName !== undefined) group.names.add(key.userName);
    if (key.accessKeyId !== undefined) managedIds.add(key.accessKeyId);
    // A key being created or replaced: the IAM key it replaces may still be listed under its old id.
    else if (key.userName !== undefined) group.pendingUsers.add(key.userName);
  }
  const scheduleNames = new Set(resources.filter((r) => SCHEDULE_TOKENS.includes(r.type)).map((r) => r.name));
  for (const resource of resources) {
    if (!SCHEDULE_TYPES.includes(resource.type)) continue;
    if (resource.type === ROTATING_ACCESS_KEY_TOKEN && scheduleNames.has(`${resource.name}-schedule`))
      continue;
    const user = readString(resource.props, "userName");
    if (user.known && user.value !== undefined) groupOf(resource).names.add(user.value);
  }
  return {
    groups: [...groups.values()]
      .filter((g) => g.names.size > 0)
      .map(({ names, ...group }) => ({ ...group, users: [...names].sort() })),
    managedIds,
  };
}

/** A provider's inputs, read without tripping over values unknown at preview. */
function providerProps(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ["region", "profile", "assumeRole"]) {
    const read = readProp(props, name);
    if (read.known && read.value !== undefined) out[name] = read.value;
  }
  return out;
}

function countUsers(users: readonly string[]): string {
  return users.length === 1 ? "1 IAM user" : `${users.length} IAM users`;
}

function nameList(users: readonly string[]): string {
  const shown = users.slice(0, 5).join(", ");
  return users.length > 5 ? `${shown} and ${users.length - 5} more` : shown;
}
