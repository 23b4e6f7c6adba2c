/**
 * Configuration shared by the policies: the `configSchema` fragments (with defaults and bounds)
 * and a reader that applies the same defaults and bounds in code. The engine already fills in the
 * schema defaults and rejects values out of bounds before it configures the pack; the reader
 * repeats that so that a policy called without configuration (or by another host) behaves the same.
 */
import { PolicyConfigSchema } from "@pulumi/policy";
import { Exemption, validateExemptions } from "../../core/exemptions";
import { DEFAULTS } from "../../core/settings";

export type PropertySchema = PolicyConfigSchema["properties"][string];

/** The age limit shared by the three policies (each has its own copy in its config). */
export const MAX_AGE_DAYS = {
  default: DEFAULTS.maxAgeDays,
  minimum: 1,
  maximum: 365,
} as const;

export function maxAgeDaysSchema(what: string): PropertySchema {
  return {
    type: "integer",
    default: MAX_AGE_DAYS.default,
    minimum: MAX_AGE_DAYS.minimum,
    maximum: MAX_AGE_DAYS.maximum,
    description:
      `${what} The default is ${MAX_AGE_DAYS.default} days (CIS AWS Foundations 1.14, Security Hub IAM.3); ` +
      `allowed values are whole numbers from ${MAX_AGE_DAYS.minimum} to ${MAX_AGE_DAYS.maximum}.`,
  };
}

/** Exemptions from an age rule: a key id or a user, a reason, and an expiry date. */
export const exemptionsSchema: PropertySchema = {
  type: "array",
  default: [],
  description:
    "Keys allowed to stay Active past maxAgeDays for a while. Each entry names an accessKeyId or a userName " +
    "(all keys of that user), gives a reason (owner, ticket) and an expires date (ISO-8601, such as 2027-06-30). " +
    "An exemption stops applying at its expiry date, and every expired exemption is reported as an advisory " +
    "diagnostic until it is renewed or removed. The default is an empty list.",
  items: {
    type: "object",
    properties: {
      accessKeyId: {
        type: "string",
        minLength: 16,
        maxLength: 128,
        description: "The exempted access key id.",
      },
      userName: {
        type: "string",
        minLength: 1,
        maxLength: 64,
        description: "The IAM user whose keys are exempted.",
      },
      reason: { type: "string", minLength: 1, description: "Why the key may stay older than the limit." },
      expires: {
        type: "string",
        minLength: 10,
        description: "ISO-8601 date or instant after which the exemption no longer applies.",
      },
    },
    required: ["reason", "expires"],
    // JSON Schema keyword the engine's validator supports; @pulumi/policy's type does not list it.
    ...({ anyOf: [{ required: ["accessKeyId"] }, { required: ["userName"] }] } as PropertySchema),
    additionalProperties: false,
  },
};

/** Bounds of an integer property, as the schema states them. */
export interface IntegerBounds {
  default: number;
  minimum: number;
  maximum: number;
}

export function integerSchema(bounds: IntegerBounds, description: string): PropertySchema {
  return {
    type: "integer",
    default: bounds.default,
    minimum: bounds.minimum,
    maximum: bounds.maximum,
    description: `${description} The default is ${bounds.default}; allowed values are whole numbers from ${bounds.minimum} to ${bounds.maximum}.`,
  };
}

/**
 * Reads an integer property: the schema default when it is absent, a problem message when it is
 * not a whole number within the bounds.
 */
export function readInteger(
  raw: Record<string, unknown>,
  property: string,
  bounds: IntegerBounds,
  problems: string[],
): number {
  const value = raw[property];
  if (value === undefined || value === null) return bounds.default;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < bounds.minimum ||
    value > bounds.maximum
  ) {
    problems.push(
      `The policy configuration sets ${property} to ${JSON.stringify(value)}, but it must be a whole number from ` +
        `${bounds.minimum} to ${bounds.maximum}. Fix ${property} in the policy pack configuration.`,
    );
    return bounds.default;
  }
  return value;
}

/** Reads the exemptions list, with one problem message per malformed entry. */
export function readExemptions(raw: Record<string, unknown>, problems: string[]): Exemption[] {
  const value = raw.exemptions;
  if (value === undefined || value === null) return [];
  const found = validateExemptions(value, "exemptions");
  for (const problem of found) {
    problems.push(`The policy configuration is invalid: ${problem}`);
  }
  return found.length === 0 ? (value as Exemption[]) : [];
}

/** Policy config as `getConfig` returns it, read defensively. */
export function rawConfig(getConfig: () => object): Record<string, unknown> {
  const config = getConfig();
  return typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {};
}
