/**
 * The IAM client of the outside-the-stack policy: the credentials of a provider configuration of
 * the stack, or the default credential chain, and the SDK's own endpoint settings (`AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`), with a short connection timeout,
 * a request timeout and few attempts, so that an unreachable AWS fails fast instead of hanging a
 * preview.
 */
import * as iam from "@aws-sdk/client-iam";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { requestHandlerOptions, resolveRegion } from "../../core/aws";

export interface PolicyIamClientOptions {
  /** Milliseconds to wait for a TCP connection. */
  connectTimeoutMs: number;
  /** Milliseconds a request may stay idle on its socket. */
  requestTimeoutMs: number;
  /** Attempts per call, including the first (the SDK's standard retry strategy). */
  maxAttempts: number;
}

/**
 * `connection`: the region and credentials of one keyrotation provider configuration found in
 * the stack (`standaloneConnection`); without it, the environment decides.
 */
export function createPolicyIamClient(
  options: PolicyIamClientOptions,
  connection?: { region: string; credentials?: AwsCredentialIdentityProvider; profile?: string },
): iam.IAMClient {
  // The SDK warns once per process on Node < 22 about SDK versions this repository does not use
  // (it pins its SDK); in the pack's process that warning only adds noise to every preview.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  return new iam.IAMClient({
    region: connection?.region ?? resolveRegion(),
    maxAttempts: options.maxAttempts,
    requestHandler: requestHandlerOptions(options),
    ...(connection?.credentials ? { credentials: connection.credentials } : {}),
    ...(connection?.profile ? { profile: connection.profile } : {}),
  });
}
