/**
 * Watches everything the test process writes to stdout and stderr for secret access keys that
 * tests have registered. A leak fails the run in the root `afterAll` hook, naming the key's
 * length only, never the secret.
 */
const secrets = new Set<string>();
const leaks: string[] = [];
let installed = false;

export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 16) secrets.add(secret);
}

/** Returns the registered secrets that occur in `text`. */
export function findSecrets(text: string): string[] {
  return [...secrets].filter((s) => text.includes(s));
}

export function assertNoSecrets(text: string, where: string): void {
  const found = findSecrets(text);
  if (found.length > 0) {
    throw new Error(`${found.length} secret access key(s) appeared in plain text in ${where}`);
  }
}

export function recordedLeaks(): readonly string[] {
  return leaks;
}

export function installSecretGuard(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    (stream as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
      const chunk = args[0];
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : "";
      if (text && findSecrets(text).length > 0) {
        leaks.push(stream === process.stdout ? "stdout" : "stderr");
        return original("[secret guard: a registered secret access key was written here and masked]\n");
      }
      return original(...args);
    };
  }
}
