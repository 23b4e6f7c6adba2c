/**
 * `rotating-access-key-schedule`: a rotation schedule must retire every key before it reaches the
 * age limit, so a bad schedule is blocked at preview, before any key ages.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { DEFAULTS } from "../../core/settings";
import { ROTATING_ACCESS_KEY_TOKEN } from "../../core/tokens";
import { MAX_AGE_DAYS, maxAgeDaysSchema, rawConfig, readInteger } from "../lib/config";
import { SCHEDULE_TYPES, describeResource, readProp, readString } from "../lib/resources";

export const SCHEDULE_POLICY_NAME = "rotating-access-key-schedule";

/** The settings this policy reads; absent ones take the component's defaults. */
const SCHEDULE_SETTINGS = ["rotationDays", "overlapDays", "maxAgeDays"] as const;
type ScheduleSetting = (typeof SCHEDULE_SETTINGS)[number];

/**
 * A `keyrotation:iam:RotatingAccessKey` component (its arguments) or a
 * `keyrotation:iam:RotationSchedule` (or 0.1.x's `pulumi-nodejs:dynamic/keyrotation:RotationSchedule`) resource (its inputs) violates this policy
 * when `rotationDays + overlapDays` is not below the policy's `maxAgeDays` (default 90, 1 to 365)
 * or not below the resource's own `maxAgeDays`. Absent properties take the component's defaults
 * (rotationDays 30, overlapDays 7, maxAgeDays 90); a RotatingAccessKey that shows none of the three
 * (its arguments were not sent to the engine) is left to its RotationSchedule child. A value
 * unknown at preview is not a violation; the check runs again on the known value during the
 * update. Mandatory by default.
 */
export const rotatingAccessKeySchedule: ResourceValidationPolicy = {
  name: SCHEDULE_POLICY_NAME,
  description:
    "A key rotation schedule must retire every key before the age limit: rotationDays + overlapDays must be below maxAgeDays.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Lower rotationDays or overlapDays on the RotatingAccessKey so that rotationDays + overlapDays is below maxAgeDays.",
  configSchema: {
    properties: {
      maxAgeDays: maxAgeDaysSchema(
        "The age limit that every rotation schedule must stay under: rotationDays + overlapDays must be below it.",
      ),
    },
  },
  validateResource: (args, reportViolation) => {
    if (!SCHEDULE_TYPES.includes(args.type)) return;
    const problems: string[] = [];
    const limit = readInteger(
      rawConfig(() => args.getConfig()),
      "maxAgeDays",
      MAX_AGE_DAYS,
      problems,
    );
    if (problems.length > 0) {
      for (const problem of problems) reportViolation(problem);
      return;
    }

    const what = describeResource(args);
    const user = readString(args.props, "userName");
    const forUser = user.known && user.value !== undefined ? ` (IAM user ${user.value})` : "";
    const properties = SCHEDULE_SETTINGS;
    const reads = properties.map((property) => readProp(args.props, property));
    // A component's inputs reach the engine only if the component passes its arguments to
    // ComponentResource (and PULUMI_NODEJS_SKIP_COMPONENT_INPUTS is unset). A RotatingAccessKey
    // showing none of the settings is checked through its RotationSchedule child instead, rather
    // than judged on defaults it may not use.
    if (args.type === ROTATING_ACCESS_KEY_TOKEN && reads.every((r) => r.known && r.value === undefined))
      return;
    const settings: Record<ScheduleSetting, number> = {
      rotationDays: DEFAULTS.rotationDays,
      overlapDays: DEFAULTS.overlapDays,
      maxAgeDays: DEFAULTS.maxAgeDays,
    };
    let complete = true;
    for (const [i, property] of properties.entries()) {
      const read = reads[i];
      if (!read.known) {
        complete = false; // unknown at preview: checked again when the value is known
        continue;
      }
      if (read.value === undefined) continue;
      const min = property === "overlapDays" ? 0 : 1;
      if (typeof read.value !== "number" || !Number.isFinite(read.value) || read.value < min) {
        reportViolation(
          `${what}${forUser} sets ${property} to ${shown(read.value)}, but it must be a number of days ` +
            `of at least ${min}. Fix ${property}.`,
        );
        complete = false;
        continue;
      }
      settings[property] = read.value;
    }
    if (!complete) return;

    const { rotationDays, overlapDays, maxAgeDays } = settings;
    const activeDays = rotationDays + overlapDays;
    const binding =
      activeDays >= limit
        ? { value: limit, source: `the limit of the ${SCHEDULE_POLICY_NAME} policy (maxAgeDays ${limit})` }
        : activeDays >= maxAgeDays
          ? { value: maxAgeDays, source: `its own maxAgeDays (${maxAgeDays})` }
          : undefined;
    if (!binding) return;
    reportViolation(
      `${what}${forUser} rotates every ${rotationDays} days and keeps the previous key Active for ${overlapDays} more ` +
        `days, so a key can stay Active ${activeDays} days (rotationDays + overlapDays = ${rotationDays} + ${overlapDays}), ` +
        `which is not below ${binding.source}. Lower rotationDays or overlapDays so that their sum is below ${binding.value}.`,
    );
  },
};

/** A setting's value for a message: numbers as they are, anything else by its type only (never echo a string). */
function shown(value: unknown): string {
  return typeof value === "number"
    ? String(value)
    : `a value of type ${Array.isArray(value) ? "array" : typeof value}`;
}
