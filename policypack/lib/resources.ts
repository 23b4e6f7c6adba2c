/**
 * Reading key and schedule resources as the policy engine hands them over: property bags wrapped
 * in `@pulumi/policy`'s unknown-checking proxy, where reading a value that is unknown at preview
 * throws `UnknownValueError`. Every read here is guarded, so an unknown on one resource never stops
 * the check of the others. Secret values are never read.
 */
import {
  ACCESS_KEY_TOKENS,
  AWS_ACCESS_KEY_TOKEN,
  ROTATING_ACCESS_KEY_TOKEN,
  SCHEDULE_TOKENS,
} from "../../core/tokens";

// Exported by @pulumi/policy at run time but marked internal, so absent from its typings.
const { UnknownValueError } = require("@pulumi/policy") as {
  UnknownValueError: new (...args: never[]) => Error;
};

/**
 * Key resources the policies read: `aws.iam.AccessKey` (outputs `user`, `status`, `createDate`, `id`) and
 * this package's key, `keyrotation:iam:AccessKey` and 0.1.x's `pulumi-nodejs:dynamic/keyrotation:AccessKey`
 * (outputs `userName`, `accessKeyId`, `status`, `createDate`).
 */
export const KEY_TYPES: readonly string[] = [AWS_ACCESS_KEY_TOKEN, ...ACCESS_KEY_TOKENS];
/** Resources that carry rotation settings: the component (its arguments) and its schedule (its inputs). */
export const SCHEDULE_TYPES: readonly string[] = [ROTATING_ACCESS_KEY_TOKEN, ...SCHEDULE_TOKENS];

/** The part of a policy resource these policies use (both stack and resource policies provide it). */
export interface ResourceLike {
  type: string;
  urn: string;
  name: string;
  props: Record<string, unknown>;
  /** The resource's provider (the engine gives it to stack policies): its type, name and inputs. */
  provider?: { type: string; urn: string; name: string; props: Record<string, unknown> };
}

/** The type of this package's provider resources (the default one and each explicit `keyrotation.Provider`). */
export const KEYROTATION_PROVIDER_TYPE = "pulumi:providers:keyrotation";

/** A property read: known (possibly absent), or unknown until the deployment runs. */
export type Read<T> = { known: true; value: T | undefined } | { known: false };

export function isUnknownValueError(err: unknown): boolean {
  return (
    err instanceof UnknownValueError ||
    (err instanceof Error &&
      "unknownTypeSentinel" in err &&
      Array.isArray((err as { props?: unknown }).props))
  );
}

/** Reads `props[name]`; unknown values become `{ known: false }`, other errors propagate. */
export function readProp(props: Record<string, unknown>, name: string): Read<unknown> {
  try {
    const value = props[name];
    return { known: true, value: value === null ? undefined : value };
  } catch (err) {
    if (isUnknownValueError(err)) return { known: false };
    throw err;
  }
}

/** Reads a string property; a known non-string value reads as absent. */
export function readString(props: Record<string, unknown>, name: string): Read<string> {
  const read = readProp(props, name);
  if (!read.known) return read;
  return { known: true, value: typeof read.value === "string" && read.value !== "" ? read.value : undefined };
}

/** An access key of the stack, as far as it is known. */
export interface StackKey {
  type: string;
  urn: string;
  name: string;
  /** Known key id; `undefined` when absent or unknown (see `idKnown`). */
  accessKeyId?: string;
  /** True when the key id is a known value. A key being created or replaced has no known id at preview. */
  idKnown: boolean;
  userName?: string;
  userKnown: boolean;
  /** `Active`, `Inactive` or another string; `undefined` when absent or unknown. */
  status?: string;
  statusKnown: boolean;
  /** ISO-8601; `undefined` when absent or unknown. */
  createDate?: string;
  createDateKnown: boolean;
}

/** The access keys among `resources` (both key types), read without touching any secret output. */
export function stackKeys(resources: readonly ResourceLike[]): StackKey[] {
  const keys: StackKey[] = [];
  for (const resource of resources) {
    if (!KEY_TYPES.includes(resource.type)) continue;
    const props = resource.props;
    const isAws = resource.type === AWS_ACCESS_KEY_TOKEN;
    // aws.iam.AccessKey carries its key id as the resource id; this package's key has `accessKeyId` (also its id).
    const idRead = firstKnown(readString(props, isAws ? "id" : "accessKeyId"), () =>
      readString(props, isAws ? "accessKeyId" : "id"),
    );
    const userRead = readString(props, isAws ? "user" : "userName");
    const statusRead = readString(props, "status");
    const createRead = readString(props, "createDate");
    keys.push({
      type: resource.type,
      urn: resource.urn,
      name: resource.name,
      accessKeyId: idRead.known ? idRead.value : undefined,
      idKnown: idRead.known && idRead.value !== undefined,
      userName: userRead.known ? userRead.value : undefined,
      userKnown: userRead.known && userRead.value !== undefined,
      status: statusRead.known ? statusRead.value : undefined,
      statusKnown: statusRead.known,
      createDate: createRead.known ? createRead.value : undefined,
      createDateKnown: createRead.known,
    });
  }
  return keys;
}

/** The first read when it holds a known value; otherwise the second (if that is known and present). */
function firstKnown(first: Read<string>, second: () => Read<string>): Read<string> {
  if (first.known && first.value !== undefined) return first;
  const other = second();
  if (other.known && other.value !== undefined) return other;
  return first;
}

/** How a resource is named in messages: `RotatingAccessKey "alice-key"`. */
export function describeResource(resource: { type: string; name: string }): string {
  const short = resource.type.split(":").pop() ?? resource.type;
  const label = resource.type === AWS_ACCESS_KEY_TOKEN ? "aws.iam.AccessKey" : short;
  return `${label} "${resource.name}"`;
}
