/**
 * Rotation settings: defaults, bounds and validation. Validation runs before any AWS call (in the
 * component's constructor and again in the schedule provider's `check`), and every message names
 * the setting and the fix.
 */
import { ValidationError } from "./errors";

export const DEFAULTS = {
  rotationDays: 30,
  overlapDays: 7,
  maxAgeDays: 90,
  deletionGuardHours: 24,
  staggerDays: 0,
  forceDelete: false,
  unmanagedKeys: "fail" as UnmanagedKeysPolicy,
  verifyTimeoutSeconds: 60,
};

export const BOUNDS = {
  rotationDays: { min: 1, max: 365 },
  overlapDays: { min: 0, max: 364 },
  maxAgeDays: { min: 2, max: 3650 },
  deletionGuardHours: { min: 0, max: 8760 },
  staggerDays: { min: 0, max: 364 },
  verifyTimeoutSeconds: { min: 0, max: 900 },
};

/** What to do with keys on the user that the component did not create. */
export type UnmanagedKeysPolicy = "fail" | "retire";

export interface RotationSettings {
  rotationDays: number;
  overlapDays: number;
  maxAgeDays: number;
  deletionGuardHours: number;
  staggerDays: number;
  forceDelete: boolean;
  unmanagedKeys: UnmanagedKeysPolicy;
  verifyTimeoutSeconds: number;
}

/** The names of every setting, in one place for the component, the schedule and the stack config. */
export const SETTING_KEYS = Object.keys(DEFAULTS) as (keyof RotationSettings)[];

/** IAM user names: 1-64 characters of letters, digits and `+=,.@_-`. */
export const USER_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;

/**
 * One problem with the input. `kind` tells a bad value of one setting (`value`) from a rule
 * between settings (`cross`), which can only be judged once every setting is known.
 */
export interface Failure {
  property: string;
  reason: string;
  kind?: "value" | "cross";
}

/** A failure when `value` is not a whole number from `min` to `max`. */
export function integerFailure(
  property: string,
  value: unknown,
  min: number,
  max: number,
): Failure | undefined {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    return {
      property,
      kind: "value",
      reason: `${property} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}. Set ${property} to a value in that range.`,
    };
  }
  return undefined;
}

export function userNameFailure(value: unknown, property = "userName"): Failure | undefined {
  if (typeof value !== "string" || value.trim() === "") {
    return { property, reason: `${property} is empty: set it to the name of an existing IAM user.` };
  }
  if (!USER_NAME_PATTERN.test(value)) {
    return {
      property,
      reason: `${property} "${value}" is not a valid IAM user name: use 1-64 letters, digits or +=,.@_- characters.`,
    };
  }
  return undefined;
}

/** Fills defaults and checks every setting; returns the settings and one failure per problem. */
export function resolveSettings(raw: Partial<Record<keyof RotationSettings, unknown>>): {
  settings: RotationSettings;
  failures: Failure[];
} {
  const pick = <K extends keyof RotationSettings>(k: K): unknown =>
    raw[k] === undefined ? DEFAULTS[k] : raw[k];
  const failures: Failure[] = [];
  for (const key of Object.keys(BOUNDS) as (keyof typeof BOUNDS)[]) {
    const f = integerFailure(key, pick(key), BOUNDS[key].min, BOUNDS[key].max);
    if (f) failures.push(f);
  }
  const forceDelete = pick("forceDelete");
  if (typeof forceDelete !== "boolean") {
    failures.push({
      property: "forceDelete",
      kind: "value",
      reason: `forceDelete must be true or false; got ${JSON.stringify(forceDelete)}.`,
    });
  }
  const unmanagedKeys = pick("unmanagedKeys");
  if (unmanagedKeys !== "fail" && unmanagedKeys !== "retire") {
    failures.push({
      property: "unmanagedKeys",
      kind: "value",
      reason: `unmanagedKeys must be "fail" (stop and list keys the component did not create) or "retire" (deactivate, then delete them on the schedule); got ${JSON.stringify(unmanagedKeys)}.`,
    });
  }
  const settings = {
    rotationDays: pick("rotationDays"),
    overlapDays: pick("overlapDays"),
    maxAgeDays: pick("maxAgeDays"),
    deletionGuardHours: pick("deletionGuardHours"),
    staggerDays: pick("staggerDays"),
    forceDelete: pick("forceDelete"),
    unmanagedKeys: pick("unmanagedKeys"),
    verifyTimeoutSeconds: pick("verifyTimeoutSeconds"),
  } as RotationSettings;
  const numeric = (k: keyof typeof BOUNDS) => !failures.some((f) => f.property === k);
  if (numeric("rotationDays") && numeric("overlapDays") && settings.overlapDays >= settings.rotationDays) {
    failures.push({
      property: "overlapDays",
      kind: "cross",
      reason: `overlapDays (${settings.overlapDays}) must be less than rotationDays (${settings.rotationDays}): the previous key must be deactivated before its slot is needed for the next key. Lower overlapDays or raise rotationDays.`,
    });
  }
  if (
    numeric("rotationDays") &&
    numeric("overlapDays") &&
    numeric("maxAgeDays") &&
    settings.rotationDays + settings.overlapDays >= settings.maxAgeDays
  ) {
    failures.push({
      property: "rotationDays",
      kind: "cross",
      reason: `rotationDays + overlapDays (${settings.rotationDays} + ${settings.overlapDays} = ${settings.rotationDays + settings.overlapDays}) must be below maxAgeDays (${settings.maxAgeDays}), or keys would stay active past the limit. Lower rotationDays or overlapDays.`,
    });
  }
  if (numeric("rotationDays") && numeric("staggerDays") && settings.staggerDays >= settings.rotationDays) {
    failures.push({
      property: "staggerDays",
      kind: "cross",
      reason: `staggerDays (${settings.staggerDays}) must be less than rotationDays (${settings.rotationDays}). Lower staggerDays.`,
    });
  }
  return { settings, failures };
}

/** Like `resolveSettings`, but throws a `ValidationError` listing every problem. */
export function validateSettings(
  raw: Partial<Record<keyof RotationSettings, unknown>>,
  context: string,
): RotationSettings {
  const { settings, failures } = resolveSettings(raw);
  if (failures.length > 0) {
    throw new ValidationError(
      failures[0].property,
      `${context}: invalid settings:\n${failures.map((f) => `  - ${f.reason}`).join("\n")}`,
    );
  }
  return settings;
}
