/**
 * `pulumi-aws-key-rotation/testing`: Pulumi mocks that play this package's resources the way the
 * engine and IAM would, for consumers' unit tests with `pulumi.runtime.setMocks`.
 *
 * Under plain mocks a `RotatingAccessKey` shows no keys: its plan is made in the schedule
 * resource's `check`, which mocks never call. `keyRotationMocks()` runs that same planning logic
 * against an in-memory IAM (the clock and each user's existing keys are options), gives keys ids,
 * secrets and creation dates, and sends every other resource type to an optional fallback.
 *
 * ```ts
 * const mocks = keyRotationMocks({ now: "2027-01-01T00:00:00Z" });
 * pulumi.runtime.setMocks(mocks, "project", "stack");
 * const rotation = new RotatingAccessKey("ci", { userName: "ci-deployer" });
 * // rotation.accessKeyId resolves to mocks.keysOf("ci-deployer")[0].accessKeyId
 * ```
 */
import * as pulumi from "@pulumi/pulumi";
import {
  ACCESS_KEY_TOKENS,
  PUBLICATION_TOKENS,
  ROTATING_ACCESS_KEY_TOKEN,
  SCHEDULE_TOKENS,
} from "../core/tokens";
import { KeyStatus, Slot } from "../core/types";
import { checkAccessKeyInputs } from "./providers/accessKeyOps";
import { checkSchedule } from "./providers/rotationSchedule";
import { ObservedKey } from "./rotation/schedule";

/** A key the user already has in IAM before the program runs (made outside Pulumi). */
export interface ExistingKey {
  /** Default: a generated id. */
  accessKeyId?: string;
  /** Default `Active`. */
  status?: KeyStatus;
  /** ISO-8601, as IAM reports CreateDate. */
  createDate: string;
}

export interface KeyRotationMocksOptions {
  /** The instant the schedule plans at, and the CreateDate of new keys. Default: the real clock. */
  now?: Date | string;
  /** Keys that users already have, by user name. Users not listed have none. */
  keys?: Record<string, ExistingKey[]>;
  /** Receives every resource and call that is not this package's. Default: echo the inputs. */
  fallback?: pulumi.runtime.Mocks;
}

/** A key in the in-memory IAM (never with its secret). */
export interface MockKey {
  userName: string;
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
}

export interface KeyRotationMocks extends pulumi.runtime.Mocks {
  /** The user's keys in the in-memory IAM, oldest first, as the program left them. */
  keysOf(userName: string): MockKey[];
}

interface StoredKey extends MockKey {
  tag?: { slot: Slot; generation: number } | "adopted";
}

/** The inputs without the serialized provider that dynamic resources carry. */
function withoutProvider(inputs: Record<string, unknown>): Record<string, unknown> {
  const { __provider: _provider, ...rest } = inputs;
  return rest;
}

function failuresError(what: string, failures: { property: string; reason: string }[]): Error {
  return new Error(`${what}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("\n")}`);
}

/** Mocks that play RotatingAccessKey's schedule, keys and publication against an in-memory IAM. */
export function keyRotationMocks(options: KeyRotationMocksOptions = {}): KeyRotationMocks {
  const at = options.now === undefined ? new Date() : new Date(options.now);
  if (Number.isNaN(at.getTime())) {
    throw new Error(`keyRotationMocks: now ${JSON.stringify(options.now)} is not an ISO-8601 instant.`);
  }
  let counter = 0;
  const nextId = () => `AKIAMOCK${String(++counter).padStart(12, "0")}`;
  const users = new Map<string, StoredKey[]>();
  for (const [userName, keys] of Object.entries(options.keys ?? {})) {
    users.set(
      userName,
      keys.map((k) => ({
        userName,
        accessKeyId: k.accessKeyId ?? nextId(),
        status: k.status ?? "Active",
        createDate: new Date(k.createDate).toISOString(),
      })),
    );
  }
  const keysOf = (userName: string): StoredKey[] => {
    if (!users.has(userName)) users.set(userName, []);
    return users.get(userName) as StoredKey[];
  };
  const observe = async (userName: string): Promise<ObservedKey[]> =>
    keysOf(userName).map((k) => ({
      accessKeyId: k.accessKeyId,
      status: k.status,
      createDate: k.createDate,
      ...(k.tag && k.tag !== "adopted" ? { tag: k.tag } : {}),
    }));

  async function schedule(inputs: Record<string, unknown>) {
    const checked = await checkSchedule({}, inputs, {
      observe,
      clock: () => at,
      caller: async () => undefined,
      lastUse: async () => ({ serviceName: "N/A", region: "N/A" }),
    });
    if (checked.failures.length > 0) throw failuresError("RotationSchedule check failed", checked.failures);
    return { id: `schedule-${String(inputs.userName)}`, state: checked.inputs };
  }

  function accessKey(inputs: Record<string, unknown>) {
    const { inputs: key, failures } = checkAccessKeyInputs(inputs);
    if (failures.length > 0) throw failuresError("AccessKey check failed", failures);
    const keys = keysOf(key.userName);
    if (key.adoptAccessKeyId) {
      const adopted = keys.find((k) => k.accessKeyId === key.adoptAccessKeyId);
      if (!adopted)
        throw new Error(`Access key ${key.adoptAccessKeyId} to adopt is not a key of ${key.userName}.`);
      adopted.status = key.status;
      adopted.tag = "adopted";
      const state = {
        ...key,
        accessKeyId: adopted.accessKeyId,
        secretAccessKey: "",
        createDate: adopted.createDate,
      };
      return { id: adopted.accessKeyId, state };
    }
    if (key.replacesAccessKeyId) {
      const index = keys.findIndex((k) => k.accessKeyId === key.replacesAccessKeyId);
      if (index >= 0) keys.splice(index, 1);
    }
    if (keys.length >= 2) {
      throw new Error(
        `IAM user "${key.userName}" already has ${keys.length} access keys, the most IAM allows: ` +
          keys.map((k) => k.accessKeyId).join(", "),
      );
    }
    const stored: StoredKey = {
      userName: key.userName,
      accessKeyId: nextId(),
      status: key.status,
      createDate: at.toISOString(),
      ...(key.slot === "a" || key.slot === "b"
        ? { tag: { slot: key.slot, generation: key.generation } }
        : {}),
    };
    keys.push(stored);
    const secretAccessKey = `mock-secret-${stored.accessKeyId}`;
    const state = { ...key, accessKeyId: stored.accessKeyId, secretAccessKey, createDate: stored.createDate };
    return { id: stored.accessKeyId, state };
  }

  function publication(inputs: Record<string, unknown>) {
    const secretId = String(inputs.secretId);
    const secretArn = secretId.startsWith("arn:")
      ? secretId
      : `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}`;
    return { id: secretArn, state: { ...inputs, secretArn, versionId: `mock-version-${++counter}` } };
  }

  return {
    async newResource(args: pulumi.runtime.MockResourceArgs) {
      const inputs = withoutProvider(args.inputs as Record<string, unknown>);
      if (SCHEDULE_TOKENS.includes(args.type)) return schedule(inputs);
      if (ACCESS_KEY_TOKENS.includes(args.type)) return accessKey(inputs);
      if (PUBLICATION_TOKENS.includes(args.type)) return publication(inputs);
      if (args.type === ROTATING_ACCESS_KEY_TOKEN) return { id: undefined, state: args.inputs };
      if (options.fallback) return options.fallback.newResource(args);
      return { id: args.custom === false ? undefined : `${args.name}_id`, state: args.inputs };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      return options.fallback ? options.fallback.call(args) : args.inputs;
    },
    keysOf(userName: string): MockKey[] {
      return keysOf(userName).map(({ userName: u, accessKeyId, status, createDate }) => ({
        userName: u,
        accessKeyId,
        status,
        createDate,
      }));
    },
  };
}
