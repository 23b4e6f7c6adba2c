/**
 * Exemptions from the age rule, shared by the policy pack and the audit command. Each names an
 * access key id or an IAM user, says why, and expires; an expired exemption stops applying and is
 * reported so that it gets renewed or removed.
 */
import { parseInstant } from "./clock";

export interface Exemption {
  /** The exempted key. One of `accessKeyId` and `userName` is required. */
  accessKeyId?: string;
  /** Every key of this user is exempted. */
  userName?: string;
  /** Why the key may stay older than the limit (who decided, ticket). Required. */
  reason: string;
  /** ISO-8601 date or instant after which the exemption no longer applies. Required. */
  expires: string;
}

export interface ExemptionMatch {
  exemption: Exemption;
  expired: boolean;
}

/** Checks the shape of a list of exemptions; returns one message per problem (empty when valid). */
export function validateExemptions(value: unknown, property = "exemptions"): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    return [`${property} must be a list of {accessKeyId or userName, reason, expires}.`];
  const problems: string[] = [];
  value.forEach((raw, i) => {
    const where = `${property}[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      problems.push(`${where} must be an object with accessKeyId or userName, reason and expires.`);
      return;
    }
    const e = raw as Record<string, unknown>;
    if (typeof e.accessKeyId !== "string" && typeof e.userName !== "string") {
      problems.push(`${where} names neither accessKeyId nor userName: set one of them.`);
    }
    if (typeof e.reason !== "string" || e.reason.trim() === "") {
      problems.push(`${where}.reason is missing: say why the key is exempt (owner, ticket).`);
    }
    if (typeof e.expires !== "string" || !parseInstant(e.expires)) {
      problems.push(`${where}.expires must be an ISO-8601 date such as 2027-06-30.`);
    }
  });
  return problems;
}

/**
 * The exemption that covers this key, if any (a key-id exemption wins over a user exemption; of
 * several, the one that expires last). `expired` tells whether it has stopped applying at `at`.
 */
export function findExemption(
  exemptions: readonly Exemption[] | undefined,
  key: { accessKeyId?: string; userName?: string },
  at: Date,
): ExemptionMatch | undefined {
  const candidates = (exemptions ?? []).filter(
    (e) =>
      (e.accessKeyId !== undefined && e.accessKeyId === key.accessKeyId) ||
      (e.accessKeyId === undefined && e.userName !== undefined && e.userName === key.userName),
  );
  if (candidates.length === 0) return undefined;
  const expiry = (e: Exemption) => parseInstant(e.expires)?.getTime() ?? Number.NEGATIVE_INFINITY;
  candidates.sort((a, b) => {
    const byKind = Number(b.accessKeyId !== undefined) - Number(a.accessKeyId !== undefined);
    return byKind !== 0 ? byKind : expiry(b) - expiry(a);
  });
  const exemption = candidates[0];
  return { exemption, expired: expiry(exemption) <= at.getTime() };
}
