/**
 * What every AWS SDK client of this package shares: the region it signs for and hard time limits,
 * so that a hung connection or request fails within seconds instead of the SDK's minutes.
 */

/** IAM is global; its calls are signed for this region unless one is configured. */
export const DEFAULT_REGION = "us-east-1";

/** The signing region: the explicit one, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1. */
export function resolveRegion(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const value of [explicit, env.AWS_REGION, env.AWS_DEFAULT_REGION]) {
    if (value && value.trim() !== "") return value.trim();
  }
  return DEFAULT_REGION;
}

export interface TimeLimits {
  /** Milliseconds to wait for a TCP connection. Default 5000. */
  connectTimeoutMs?: number;
  /** Milliseconds a request may stay idle on its socket before it fails. Default 30000. */
  requestTimeoutMs?: number;
}

export const DEFAULT_TIME_LIMITS: Required<TimeLimits> = {
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
};

/**
 * The `requestHandler` option of an SDK v3 client with hard time limits. (The SDK builds its
 * NodeHttpHandler from these options; without `throwOnRequestTimeout` a request timeout only logs.)
 */
export function requestHandlerOptions(limits: TimeLimits = {}): {
  connectionTimeout: number;
  requestTimeout: number;
  throwOnRequestTimeout: boolean;
} {
  return {
    connectionTimeout: limits.connectTimeoutMs ?? DEFAULT_TIME_LIMITS.connectTimeoutMs,
    requestTimeout: limits.requestTimeoutMs ?? DEFAULT_TIME_LIMITS.requestTimeoutMs,
    throwOnRequestTimeout: true,
  };
}
