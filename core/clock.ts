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

/** The opt-in that lets the rotation component honour `KEYROTATION_NOW` (in a simulation only). */
export const SIMULATION_ENV = "KEYROTATION_SIMULATION";

/** True for an endpoint URL on this machine (127.0.0.0/8, ::1, localhost): an emulator, never AWS. */
export function isLoopbackEndpoint(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The clock of the rotation component (schedule and key provider): the real clock, or
 * `KEYROTATION_NOW` only in a simulation, that is with `KEYROTATION_SIMULATION=1` and IAM reached
 * through a loopback endpoint (`AWS_ENDPOINT_URL_IAM` or `AWS_ENDPOINT_URL`, an emulator). A stray
 * `KEYROTATION_NOW` in a real deploy fails, naming it, instead of skewing the schedule or letting
 * the last-used guard pass for a key used seconds ago.
 */
export function componentNow(env: NodeJS.ProcessEnv = process.env, realNow: Date = new Date()): Date {
  const at = now(env, realNow);
  if (at === realNow) return realNow;
  const endpoint = env.AWS_ENDPOINT_URL_IAM ?? env.AWS_ENDPOINT_URL;
  if (env[SIMULATION_ENV] === "1" && isLoopbackEndpoint(endpoint)) return at;
  throw new Error(
    `${CLOCK_ENV}=${at.toISOString()} is set, but the rotation component honours it only in a simulation: ` +
      `${SIMULATION_ENV}=1 with IAM reached through a local emulator (AWS_ENDPOINT_URL_IAM on 127.0.0.1 or localhost; ` +
      `now ${endpoint ? `"${endpoint}"` : "unset"}). Unset ${CLOCK_ENV} for a real deploy.`,
  );
}
