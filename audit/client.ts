/**
 * The IAM client the audit uses, and how its failures are explained.
 *
 * Throttling, 5xx answers, timeouts and dropped connections are retried by the SDK's adaptive
 * retry strategy (which also slows all concurrent calls down while IAM throttles). A refused
 * connection or an unknown host is not transient for an audit: it means a wrong endpoint, region
 * or network, so it fails at once instead of after minutes of backoff.
 */
import * as iam from "@aws-sdk/client-iam";
import { createIamClient } from "../core/iam";

export interface AuditClientOptions {
  profile?: string;
  region?: string;
  /** Attempts per call, first one included. Default 8. */
  maxAttempts?: number;
}

/** Error codes of the socket layer that mean "there is nothing to talk to at that address". */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND"]);

/** A connection to IAM could not be made at all. Not retried. */
export class EndpointUnreachableError extends Error {
  /** The socket error code; deliberately not named `code`, which the SDK would classify as transient. */
  constructor(
    readonly socketCode: string,
    message: string,
  ) {
    super(message);
    this.name = "EndpointUnreachableError";
  }
}

/** Records on an error which IAM action failed (`iam:ListUsers`). */
export function iamActionOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null ? (err as { $iamAction?: string }).$iamAction : undefined;
}

/** Adds the audit's middleware to a client: the failed action on errors, and no retries of unreachable endpoints. */
export function instrumentClient(client: iam.IAMClient): iam.IAMClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (typeof err === "object" && err !== null && context.commandName) {
          Object.defineProperty(err, "$iamAction", {
            value: `iam:${context.commandName.replace(/Command$/, "")}`,
            enumerable: false,
            configurable: true,
          });
        }
        throw err;
      }
    },
    { step: "initialize", name: "keyRotationAuditAction", override: true },
  );
  // The deserialize step runs inside the retry loop, once per attempt: an error rethrown here
  // without a socket error code is classified as a client error, which the SDK does not retry.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code === "string" && UNREACHABLE_CODES.has(code)) {
          throw new EndpointUnreachableError(code, (err as Error).message);
        }
        throw err;
      }
    },
    { step: "deserialize", name: "keyRotationAuditFailFast", override: true },
  );
  return client;
}

export function createAuditClient(options: AuditClientOptions = {}): iam.IAMClient {
  return instrumentClient(
    createIamClient({
      region: options.region,
      profile: options.profile,
      maxAttempts: options.maxAttempts ?? 8,
      retryMode: "adaptive",
    }),
  );
}

function endpointHint(env: NodeJS.ProcessEnv): string {
  const endpoint = env.AWS_ENDPOINT_URL_IAM ?? env.AWS_ENDPOINT_URL;
  return endpoint ? `the IAM endpoint ${endpoint} (from AWS_ENDPOINT_URL_IAM/AWS_ENDPOINT_URL)` : "IAM";
}

/**
 * One message that says what failed and how to fix it. Never includes credentials: the SDK's
 * error messages name principals and actions, not secrets.
 */
export function explainAwsError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const action = iamActionOf(err);
  const during = action ? ` (calling ${action})` : "";
  const name = (err as { name?: string } | null)?.name ?? "";
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EndpointUnreachableError) {
    return (
      `Could not reach ${endpointHint(env)}${during}: ${message}. ` +
      `Check the network, proxy settings, --region, and AWS_ENDPOINT_URL_IAM if you set it.`
    );
  }
  if (/^(AccessDenied|AccessDeniedException|UnauthorizedOperation)$/.test(name)) {
    const what = action ?? "the IAM action named below";
    return (
      `Access denied${during}: the audit's credentials may not call ${what}. ` +
      `Grant ${what} (the audit needs iam:ListUsers, iam:ListAccessKeys, iam:GetAccessKeyLastUsed, ` +
      `iam:GenerateCredentialReport and iam:GetCredentialReport), or use --source live/report to skip what you cannot grant. ` +
      `IAM said: ${message}`
    );
  }
  if (name === "CredentialsProviderError") {
    return (
      `No AWS credentials found: ${message}. Pass --profile NAME (after aws configure or aws sso login), ` +
      `or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`
    );
  }
  if (
    /^(ExpiredToken|ExpiredTokenException|TokenRefreshRequired)$/.test(name) ||
    /token.*expired/i.test(message)
  ) {
    return `The AWS session has expired${during}: ${message}. Sign in again (for example aws sso login) and rerun.`;
  }
  if (/^(InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException)$/.test(name)) {
    return (
      `IAM rejected the credentials${during}: ${message}. Check the access key pair or profile in use ` +
      `(aws sts get-caller-identity shows who you are).`
    );
  }
  if (/^(Throttling|ThrottlingException|TooManyRequestsException|RequestLimitExceeded)$/.test(name)) {
    return (
      `IAM kept throttling${during} after the SDK's retries: ${message}. ` +
      `Lower --concurrency, raise --max-attempts, or run the audit when the account is quieter.`
    );
  }
  return `IAM call failed${during}: ${name ? `${name}: ` : ""}${message}`;
}
