/**
 * `iam-access-keys-outside-stack`: Active keys older than the limit on the stack's IAM users that
 * the stack does not manage (made in the console, by a script, by another stack).
 */
import { ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { daysBetween, now, parseInstant } from "../../core/clock";
import { findExemption } from "../../core/exemptions";
import { inventoryUsers } from "../../core/iam";
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
import { ResourceLike, SCHEDULE_TYPES, readString, stackKeys } from "../lib/resources";

export const OUTSIDE_STACK_POLICY_NAME = "iam-access-keys-outside-stack";

export const CONNECT_TIMEOUT_MS: IntegerBounds = { default: 3000, minimum: 100, maximum: 60_000 };
export const REQUEST_TIMEOUT_MS: IntegerBounds = { default: 5000, minimum: 100, maximum: 120_000 };
export const MAX_ATTEMPTS: IntegerBounds = { default: 2, minimum: 1, maximum: 10 };
export const DEADLINE_SECONDS: IntegerBounds = { default: 60, minimum: 1, maximum: 600 };
export const CONCURRENCY: IntegerBounds = { default: 8, minimum: 1, maximum: 32 };

/**
 * For the IAM users the stack manages keys for (the `user`/`userName` of its key resources and the
 * `userName` of its RotatingAccessKey and RotationSchedule resources), lists their keys with the
 * AWS SDK (default credential chain, paginated) and reports every Active key older than
 * `maxAgeDays` (default 90, 1 to 365) whose id is not among the stack's keys. Users with a key
 * whose id is unknown at preview are skipped until the id is known. Exemptions apply as in
 * `iam-access-key-max-age`. When AWS cannot be reached within the timeouts this is one advisory
 * line, never a failure. Advisory by default.
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

  const { users, managedIds, pendingUsers } = stackUsers(resources);
  if (users.length === 0) return;

  const client = createPolicyIamClient({ connectTimeoutMs, requestTimeoutMs, maxAttempts });
  let timer: NodeJS.Timeout | undefined;
  let inventory: Awaited<ReturnType<typeof inventoryUsers>>;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the listing did not finish within ${deadlineSeconds} seconds (deadlineSeconds)`)),
        deadlineSeconds * 1000,
      );
      timer.unref();
    });
    inventory = await Promise.race([inventoryUsers(client, users, { concurrency }), deadline]);
  } catch (err) {
    advisory(
      reportViolation,
      `Could not list the access keys of ${countUsers(users)} of this stack (${nameList(users)}) to look for keys ` +
        `made outside Pulumi: ${describeError(err)}. This check was skipped; the keys in the stack itself are still ` +
        `checked by iam-access-key-max-age. Check the AWS credentials, the network and AWS_ENDPOINT_URL_IAM, or ` +
        `disable ${OUTSIDE_STACK_POLICY_NAME} in the policy pack configuration.`,
    );
    return;
  } finally {
    if (timer) clearTimeout(timer);
    client.destroy();
  }

  for (const key of inventory.keys) {
    if (key.status !== "Active" || managedIds.has(key.accessKeyId) || pendingUsers.has(key.userName))
      continue;
    const created = parseInstant(key.createDate);
    if (!created) continue;
    const ageDays = daysBetween(created, at);
    if (ageDays <= maxAgeDays) continue;
    const match = findExemption(exemptions, key, at);
    if (match && !match.expired) continue;
    reportViolation(
      `Access key ${key.accessKeyId} of IAM user ${key.userName} is Active and ${ageText(ageDays, maxAgeDays)} days old ` +
        `(created ${key.createDate}), older than the limit of ${maxAgeDays} days, and this stack does not manage it ` +
        `(it was made outside Pulumi or by another stack). Deactivate it once nothing uses it ` +
        `(aws iam update-access-key --user-name ${key.userName} --access-key-id ${key.accessKeyId} --status Inactive), ` +
        `let a RotatingAccessKey retire it, or add an exemption with a reason and an expiry date to the ` +
        `${OUTSIDE_STACK_POLICY_NAME} configuration.` +
        (match ? ` Its exemption expired on ${match.exemption.expires}.` : ""),
    );
  }
}

/** The stack's IAM users (sorted), the key ids it manages, and users with a key whose id is not known yet. */
export function stackUsers(resources: readonly ResourceLike[]): {
  users: string[];
  managedIds: Set<string>;
  pendingUsers: Set<string>;
} {
  const users = new Set<string>();
  const managedIds = new Set<string>();
  const pendingUsers = new Set<string>();
  for (const key of stackKeys(resources)) {
    if (key.userName !== undefined) users.add(key.userName);
    if (key.accessKeyId !== undefined) managedIds.add(key.accessKeyId);
    // A key being created or replaced: the IAM key it replaces may still be listed under its old id.
    else if (key.userName !== undefined) pendingUsers.add(key.userName);
  }
  for (const resource of resources) {
    if (!SCHEDULE_TYPES.includes(resource.type)) continue;
    const user = readString(resource.props, "userName");
    if (user.known && user.value !== undefined) users.add(user.value);
  }
  return { users: [...users].sort(), managedIds, pendingUsers };
}

function countUsers(users: readonly string[]): string {
  return users.length === 1 ? "1 IAM user" : `${users.length} IAM users`;
}

function nameList(users: readonly string[]): string {
  const shown = users.slice(0, 5).join(", ");
  return users.length > 5 ? `${shown} and ${users.length - 5} more` : shown;
}
