/**
 * Counts the IAM calls an SDK client makes, by action: for tests and benchmarks only.
 */
import * as iam from "@aws-sdk/client-iam";

/** Counts the IAM calls a client makes, by action (a call retried by the SDK counts once). */
export interface CallCounter {
  total(): number;
  byAction(): Record<string, number>;
  reset(): void;
}

export function countCalls(client: iam.IAMClient): CallCounter {
  let counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? "unknown").replace(/Command$/, "");
      counts[action] = (counts[action] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "keyRotationCallCounter", override: true },
  );
  return {
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    byAction: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
  };
}
