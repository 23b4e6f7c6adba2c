/**
 * The exit codes of every command of this package (`audit`, `iam-policy`, `run`, and the
 * scheduled workflow's deploy step), in one place so that a scheduler can act on them: a person
 * must look (1, 3, 5), the run may be retried as it is (4), or the command line is wrong (2).
 */
export const EXIT_CODES = {
  /** Compliant, or every deploy converged. */
  ok: 0,
  /** A person must act: violations found, or a deploy refused (self-key, age limit, a key in use, unmanaged keys, bad settings). */
  actionNeeded: 1,
  /** Bad usage or configuration of the command itself; nothing was changed. */
  usage: 2,
  /** Some accounts could not be reached (AssumeRole denied, role missing); the others were audited or deployed. */
  unreachable: 3,
  /** Try again: throttling, a network fault, a timeout. Nothing needs a person yet. */
  retry: 4,
  /** A failure of another kind (not classified): read the log. */
  failed: 5,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
