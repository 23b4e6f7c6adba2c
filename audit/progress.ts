/**
 * Progress on stderr, only when stderr is a terminal: one line rewritten in place, at most every
 * `intervalMs`, cleared at the end. Piped or redirected stderr gets nothing, so logs stay clean.
 */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  update(message: string): void;
  /** Clears the line. */
  done(): void;
}

export function createProgress(
  stream: ProgressStream,
  options: { intervalMs?: number; clock?: () => number } = {},
): Progress {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  const interval = options.intervalMs ?? 100;
  const clock = options.clock ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  return {
    update(message) {
      const at = clock();
      if (at - last < interval) return;
      last = at;
      shown = true;
      stream.write(`\r\x1b[2K${message}`);
    },
    done() {
      if (shown) stream.write("\r\x1b[2K");
      shown = false;
    },
  };
}
