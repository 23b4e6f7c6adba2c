/**
 * The IAM client of the outside-the-stack policy: the default credential chain and the SDK's own
 * endpoint settings (`AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`), with a short connection timeout,
 * a request timeout and few attempts, so that an unreachable AWS fails fast instead of hanging a
 * preview.
 */
import * as iam from "@aws-sdk/client-iam";
import { requestHandlerOptions, resolveRegion } from "../../core/aws";

export interface PolicyIamClientOptions {
  /** Milliseconds to wait for a TCP connection. */
  connectTimeoutMs: number;
  /** Milliseconds a request may stay idle on its socket. */
  requestTimeoutMs: number;
  /** Attempts per call, including the first (the SDK's standard retry strategy). */
  maxAttempts: number;
}

export function createPolicyIamClient(options: PolicyIamClientOptions): iam.IAMClient {
  // The SDK warns once per process on Node < 22 about SDK versions this repository does not use
  // (it pins its SDK); in the pack's process that warning only adds noise to every preview.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  return new iam.IAMClient({
    region: resolveRegion(),
    maxAttempts: options.maxAttempts,
    requestHandler: requestHandlerOptions(options),
  });
}
