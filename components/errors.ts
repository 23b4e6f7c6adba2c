/**
 * Typed errors. Messages say what is wrong, then how to fix it, and name the property; they
 * carry key ids and numbers, never a secret. The AWS error that caused one is kept as `cause`.
 */
export class KeyRotationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    // Set explicitly: in the provider closure that Pulumi serializes into state, this class becomes
    // a function that calls Error without `new`, which would leave the message empty.
    this.message = message;
    this.name = "KeyRotationError";
    if (options && "cause" in options) {
      Object.defineProperty(this, "cause", { value: options.cause, enumerable: false, writable: true });
    }
  }
}

/** Bad input or settings, found before any AWS call. */
export class ValidationError extends KeyRotationError {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(message);
    this.name = "ValidationError";
  }
}

/** The user already has two keys, so IAM cannot create another. */
export class KeyQuotaError extends KeyRotationError {
  constructor(
    message: string,
    readonly keyIds: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KeyQuotaError";
  }
}

/** A deletion refused because the key was used recently. */
export class KeyInUseError extends KeyRotationError {
  constructor(
    message: string,
    readonly accessKeyId: string,
    readonly lastUsedDate: string,
  ) {
    super(message);
    this.name = "KeyInUseError";
  }
}

/** Keys on the user that the component did not create. */
export class UnmanagedKeysError extends KeyRotationError {
  constructor(
    message: string,
    readonly keyIds: string[],
  ) {
    super(message);
    this.name = "UnmanagedKeysError";
  }
}

/** The message of any thrown value, for wrapping. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
