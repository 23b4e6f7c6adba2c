/**
 * The one clock that the stack program, the key provider and the policy pack share.
 *
 * `KEYROTATION_NOW` (ISO-8601) moves the clock forward for simulations and tests. It can only move
 * time forward: a value earlier than the real clock is rejected, so nobody can make a stale key
 * look fresh.
 */
export const CLOCK_ENV = "KEYROTATION_NOW";

export const MS_PER_DAY = 86_400_000;
export const MS_PER_HOUR = 3_600_000;

/** Parses an ISO-8601 instant; `undefined` when it is not one. */
export function parseInstant(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    return undefined;
  }
  const parsed = new Date(value.trim());
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

/**
 * The current instant: the real clock, or `KEYROTATION_NOW` when it is set.
 * Throws when `KEYROTATION_NOW` is malformed or earlier than the real clock.
 */
export function now(env: NodeJS.ProcessEnv = process.env, realNow: Date = new Date()): Date {
  const override = env[CLOCK_ENV];
  if (override === undefined || override.trim() === "") return realNow;
  const parsed = parseInstant(override);
  if (!parsed) {
    throw new Error(
      `${CLOCK_ENV}="${override}" is not an ISO-8601 instant. Set it like 2027-01-31T12:00:00Z, or unset it to use the real clock.`,
    );
  }
  if (parsed.getTime() < realNow.getTime()) {
    throw new Error(
      `${CLOCK_ENV}=${parsed.toISOString()} is earlier than the real clock (${realNow.toISOString()}). ` +
        `The clock override can only move time forward, so that no key can be made to look younger than it is. ` +
        `Unset ${CLOCK_ENV} or set it to a later instant.`,
    );
  }
  return parsed;
}

/** Whole and fractional days from `from` to `to`. */
export function daysBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / MS_PER_DAY;
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * MS_PER_DAY);
}
