/**
 * Typed errors. Messages say what is wrong, then how to fix it, and name the property; they
 * carry key ids and numbers, never a secret. The AWS error that caused one is kept as `cause`.
 */
/**
 * In the provider closures that Pulumi serializes into state, these classes become plain
 * functions: `Error` is called without `new` (so it sets neither message nor stack), and the
 * instances' prototype chain stops short of `Error.prototype`. The engine's provider host then
 * cannot report the error. This restores the chain (once per class) and the stack; natively it
 * finds nothing to do.
 */
function restoreErrorShape(self: Error): void {
  type Ctor = (new (...args: never[]) => object) & { prototype: object };
  const isCtor = (v: unknown): v is Ctor => typeof v === "function" && typeof v.prototype === "object";
  let ctor: unknown = self.constructor;
  while (isCtor(ctor) && ctor !== Error && ctor !== Object) {
    const parent: unknown = Object.getPrototypeOf(ctor);
    if (!isCtor(parent)) break;
    if (Object.getPrototypeOf(ctor.prototype) !== parent.prototype) {
      Object.setPrototypeOf(ctor.prototype, parent.prototype);
    }
    ctor = parent;
  }
  if (typeof self.stack !== "string") Error.captureStackTrace(self);
}

export class KeyRotationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.message = message;
    this.name = "KeyRotationError";
    if (options && "cause" in options) {
      Object.defineProperty(this, "cause", { value: options.cause, enumerable: false, writable: true });
    }
    restoreErrorShape(this);
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

/** The message of any thrown value, for wrapping. */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // An AWS error's HTTP status: 403 says "not allowed" even when the body could not be read.
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${err.name}: ${err.message}${status !== undefined && status >= 400 ? ` (HTTP ${status})` : ""}`;
}
