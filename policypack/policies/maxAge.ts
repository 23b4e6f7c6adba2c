/**
 * `iam-access-key-max-age`: no Active access key in the stack may be older than `maxAgeDays`.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { daysBetween, now, parseInstant } from "../../core/clock";
import { findExemption } from "../../core/exemptions";
import {
  MAX_AGE_DAYS,
  exemptionsSchema,
  maxAgeDaysSchema,
  rawConfig,
  readExemptions,
  readInteger,
} from "../lib/config";
import { reportExpiredExemptions, ageText } from "../lib/report";
import { AWS_ACCESS_KEY_TOKEN } from "../../core/tokens";
import { StackKey, stackKeys } from "../lib/resources";

export const MAX_AGE_POLICY_NAME = "iam-access-key-max-age";

/**
 * Every Active access key in the stack, both `aws:iam/accessKey:AccessKey` and the rotation
 * component's `keyrotation:iam:AccessKey` (or 0.1.x's `pulumi-nodejs:dynamic/keyrotation:AccessKey`), must be at most `maxAgeDays` old
 * (default 90, 1 to 365). A key whose id, status or creation date is unknown at preview (being
 * created or replaced) is not a violation. Exemptions (key id or user, reason, expiry) suspend the
 * rule until they expire; expired exemptions are reported as advisory lines. The clock is the real
 * one, or `KEYROTATION_NOW` when that is later. Mandatory by default.
 */
export const iamAccessKeyMaxAge: StackValidationPolicy = {
  name: MAX_AGE_POLICY_NAME,
  description:
    "Every Active IAM access key in the stack must be at most maxAgeDays old (CIS AWS Foundations 1.14 and Security Hub IAM.3: rotate keys every 90 days or less).",
  enforcementLevel: "mandatory",
  severity: "high",
  framework: {
    name: "CIS AWS Foundations Benchmark",
    version: "3.0.0",
    reference: "1.14",
    specification: "Ensure access keys are rotated every 90 days or less (AWS Security Hub control IAM.3).",
  },
  remediationSteps:
    "Rotate the key: let a RotatingAccessKey manage the user's keys and run pulumi up, or create a new key, " +
    "move the applications to it and deactivate the old one. To accept an old key for a while, add an exemption " +
    "with a reason and an expiry date to the policy configuration.",
  configSchema: {
    properties: {
      maxAgeDays: maxAgeDaysSchema("The age in days after which an Active access key violates this policy."),
      exemptions: exemptionsSchema,
    },
  },
  validateStack: (args, reportViolation) => {
    const problems: string[] = [];
    const raw = rawConfig(() => args.getConfig());
    const maxAgeDays = readInteger(raw, "maxAgeDays", MAX_AGE_DAYS, problems);
    const exemptions = readExemptions(raw, problems);
    let at: Date;
    try {
      at = now();
    } catch (err) {
      problems.push(`Cannot tell the age of the stack's access keys: ${(err as Error).message}`);
      at = new Date(NaN);
    }
    if (problems.length > 0) {
      for (const problem of problems) reportViolation(problem);
      return;
    }

    reportExpiredExemptions(MAX_AGE_POLICY_NAME, exemptions, at, reportViolation);
    for (const key of stackKeys(args.resources)) {
      const created = staleCreateDate(key);
      if (!created) continue;
      const ageDays = daysBetween(created, at);
      if (ageDays <= maxAgeDays) continue;
      const match = findExemption(exemptions, { accessKeyId: key.accessKeyId, userName: key.userName }, at);
      if (match && !match.expired) continue;
      const expiredNote = match ? ` Its exemption expired on ${match.exemption.expires}.` : "";
      reportViolation(staleKeyMessage(key, ageDays, maxAgeDays) + expiredNote, key.urn);
    }
  },
};

/** The creation date of a key that is known to be Active with a known creation date; otherwise undefined. */
function staleCreateDate(key: StackKey): Date | undefined {
  // Unknown at preview (being created or replaced): not a violation; the check runs again after the update.
  if (!key.statusKnown || !key.createDateKnown || key.createDate === undefined) return undefined;
  // aws.iam.AccessKey's status defaults to Active; a key without a status is treated as Active.
  if (key.status !== undefined && key.status !== "Active") return undefined;
  return parseInstant(key.createDate);
}

function staleKeyMessage(key: StackKey, ageDays: number, maxAgeDays: number): string {
  const id = key.accessKeyId ?? `(id not known yet, resource ${key.name})`;
  const user = key.userName ?? "(unknown user)";
  const fix =
    key.type === AWS_ACCESS_KEY_TOKEN
      ? `Rotate it: create a new key, move its consumers over, then replace this resource ` +
        `(pulumi up --replace '${key.urn}'), or let a RotatingAccessKey manage the user's keys.`
      : `Rotate it: run pulumi up so that its RotatingAccessKey rotates it (rotationDays + overlapDays must stay below ${maxAgeDays}).`;
  return (
    `Access key ${id} of IAM user ${user} is Active and ${ageText(ageDays, maxAgeDays)} days old ` +
    `(created ${key.createDate}), older than the limit of ${maxAgeDays} days. ${fix} ` +
    `To accept it for a while, add an exemption with a reason and an expiry date to the ${MAX_AGE_POLICY_NAME} configuration.`
  );
}
