/**
 * What kind of failure a deploy's errors show, so that a scheduler knows whether to page a person
 * or try again: pure functions over the text of the errors (the provider's messages and the CLI's).
 */
import { EXIT_CODES } from "../core/exitCodes";

export type FailureKind = "action-needed" | "unreachable" | "retry" | "failed";

const RULES: [FailureKind, RegExp][] = [
  // The role of an account cannot be assumed: its trust policy, its permissions or its absence.
  ["unreachable", /Assuming keyrotation:assumeRole\.roleArn \S+ failed/],
  // The deploy refused, or the settings or the state need a person.
  [
    "action-needed",
    /Refusing to|refuses to|Invalid stack config|is not a setting|must be (?:a|an|below|less|at|from)|would (?:deactivate|delete)|not created by this component|keys the component did not create|unmanagedKeys|AccessDenied|is not authorized|NoSuchEntity|currently locked|pulumi cancel|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken/i,
  ],
  // Transient: throttling, the network (also as Go's CLI words it, for a state backend), timeouts,
  // AWS having a bad moment.
  [
    "retry",
    /Throttl|Rate exceeded|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|timed out|TimeoutError|RequestTimeout|did not answer within|i\/o timeout|connection reset by peer/i,
  ],
];

/** The kind of failure `text` shows; `failed` when nothing known matches. */
export function classifyFailure(text: string): FailureKind {
  for (const [kind, pattern] of RULES) if (pattern.test(text)) return kind;
  return "failed";
}

/**
 * The exit code of a run with failures of these kinds: a person must act (1) wins over an
 * unclassified failure (5), which wins over an unreachable account (3), which wins over "try
 * again" (4): a scheduler retries on its own only when every failure was transient.
 */
export function exitCodeOf(kinds: readonly FailureKind[]): number {
  if (kinds.includes("action-needed")) return EXIT_CODES.actionNeeded;
  if (kinds.includes("failed")) return EXIT_CODES.failed;
  if (kinds.includes("unreachable")) return EXIT_CODES.unreachable;
  if (kinds.includes("retry")) return EXIT_CODES.retry;
  return EXIT_CODES.ok;
}
