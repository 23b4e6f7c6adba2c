/**
 * Reporting helpers. `reportViolation(message)` reports at the policy's configured enforcement
 * level (the engine prefixes the policy description); `advisory` reports one line at the advisory
 * level whatever the policy's level, for notes that must never block a deployment.
 */
import { EnforcementLevel, ReportViolation } from "@pulumi/policy";
import { Exemption } from "../../core/exemptions";
import { parseInstant } from "../../core/clock";

/** The object form of `reportViolation` that @pulumi/policy's server accepts (not in its typings). */
interface ViolationInfo {
  message: string;
  enforcementLevel?: EnforcementLevel;
  urn?: string;
}

/** Reports `message` as an advisory diagnostic, even when the policy is mandatory. */
export function advisory(reportViolation: ReportViolation, message: string, urn?: string): void {
  const info: ViolationInfo = { message, enforcementLevel: "advisory", ...(urn ? { urn } : {}) };
  (reportViolation as unknown as (info: ViolationInfo) => void)(info);
}

/** `access key AKIA...` or `IAM user alice`. */
export function exemptionTarget(exemption: Exemption): string {
  return exemption.accessKeyId !== undefined
    ? `access key ${exemption.accessKeyId}`
    : `IAM user ${exemption.userName ?? "(none)"}`;
}

/** Reports every exemption that has expired at `at` (one advisory line each, in config order). */
export function reportExpiredExemptions(
  policyName: string,
  exemptions: readonly Exemption[],
  at: Date,
  reportViolation: ReportViolation,
): void {
  for (const exemption of exemptions) {
    const expires = parseInstant(exemption.expires);
    if (expires && expires.getTime() > at.getTime()) continue;
    advisory(
      reportViolation,
      `The exemption for ${exemptionTarget(exemption)} (reason: "${exemption.reason}") expired on ${exemption.expires} ` +
        `and no longer applies. Renew it with a later expires date or remove it from the ${policyName} configuration.`,
    );
  }
}

/**
 * An age for messages: whole days elapsed, or one decimal on the day the limit is crossed
 * ("90.3 days", not "90 days, older than the limit of 90 days"), as the audit command shows it.
 */
export function ageText(days: number, limit: number): string {
  return Math.floor(days) === limit ? days.toFixed(1) : String(Math.floor(days));
}

/** A short, single-line description of an error, free of stack traces. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
