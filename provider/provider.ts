/**
 * The `keyrotation` provider: the custom resources `keyrotation:iam:AccessKey`,
 * `keyrotation:iam:RotationSchedule` and `keyrotation:iam:SecretPublication` (with the logic of the
 * providers in components/providers/, which served them as dynamic resources before), and the
 * component `keyrotation:iam:RotatingAccessKey` through `construct`, for programs in any language.
 *
 * State written by the dynamic resources of 0.1.x holds a `__provider` field (the stored loader or
 * serialized code); a resource that reaches this provider through an alias from its dynamic type
 * keeps its id and stored secret, the field is ignored, and the first update rewrites its state
 * without it (no AWS call when nothing else changed).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import { ACCESS_KEY_TYPE, PUBLICATION_TYPE, SCHEDULE_TYPE } from "../core/tokens";
import { SECRET_SIG, SECRET_SIG_VALUE } from "../core/connection";
import { withCallContext } from "../core/notify";
import { accessKeyProvider } from "../components/providers/accessKey";
import { scheduleProvider } from "../components/providers/rotationSchedule";
import { publicationProvider } from "../components/providers/secretPublication";
import { PACKAGE_VERSION } from "./version";
import { schemaText } from "./packageSchema";

export const PROVIDER_NAME = "keyrotation";
export const IAM_MODULE = "iam";
const token = (type: string) => `${PROVIDER_NAME}:${IAM_MODULE}:${type}`;

/** The field in which 0.1.x state holds a dynamic resource's provider. */
export const STORED_PROVIDER_FIELD = "__provider";

interface Served {
  provider: pulumi.dynamic.ResourceProvider;
  /** Output properties the provider returns as secrets. */
  secretOutputs: string[];
}

const SERVED: Record<string, Served> = {
  [token(ACCESS_KEY_TYPE)]: { provider: accessKeyProvider, secretOutputs: ["secretAccessKey"] },
  [token(SCHEDULE_TYPE)]: { provider: scheduleProvider, secretOutputs: [] },
  [token(PUBLICATION_TYPE)]: { provider: publicationProvider, secretOutputs: ["secretAccessKey"] },
};

/** The resource type of a URN (`urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`). */
export function typeOfUrn(urn: string): string {
  const qualified = urn.split("::")[2] ?? "";
  return qualified.split("$").pop() ?? "";
}

function servedFor(urn: string): Served {
  const type = typeOfUrn(urn);
  const served = SERVED[type];
  if (!served) {
    throw new Error(
      `The keyrotation provider ${PACKAGE_VERSION} has no resource type "${type}"; upgrade the package.`,
    );
  }
  return served;
}

function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE
  );
}

/** Removes secret wrappers (anywhere in the value). */
function reveal(value: unknown): unknown {
  if (isSecret(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/**
 * The properties as the resource logic expects them: plain values, without the field of 0.1.x
 * state; and the top-level names that were secret, to wrap again on the way out.
 */
export function plainProperties(props: Record<string, unknown> | undefined): {
  plain: Record<string, unknown>;
  secret: Set<string>;
  stored: boolean;
} {
  const plain: Record<string, unknown> = {};
  const secret = new Set<string>();
  let stored = false;
  for (const [key, value] of Object.entries(props ?? {})) {
    if (key === STORED_PROVIDER_FIELD) {
      stored = true;
      continue;
    }
    if (isSecret(value)) secret.add(key);
    plain[key] = reveal(value);
  }
  return { plain, secret, stored };
}

export function secretWrapped(
  props: Record<string, unknown>,
  names: Iterable<string>,
): Record<string, unknown> {
  const out = { ...props };
  for (const name of names) {
    if (name in out && out[name] !== undefined)
      out[name] = { [SECRET_SIG]: SECRET_SIG_VALUE, value: out[name] };
  }
  return out;
}

/** Constructs the component for `construct` (set by main.ts, which loads the component module). */
export type ComponentFactory = (
  name: string,
  inputs: pulumi.Inputs,
  options: pulumi.ComponentResourceOptions,
) => Promise<provider.ConstructResult>;

export function keyRotationProvider(construct: ComponentFactory): provider.Provider {
  return {
    version: PACKAGE_VERSION,
    schema: schemaText(),

    async check(urn, olds, news) {
      return withCallContext({ urn }, async () => {
        const { provider: p } = servedFor(urn);
        const o = plainProperties(olds);
        const n = plainProperties(news);
        const result = p.check ? await p.check(o.plain, n.plain) : { inputs: n.plain };
        return {
          inputs: secretWrapped((result.inputs ?? n.plain) as Record<string, unknown>, n.secret),
          failures: result.failures ?? [],
        };
      });
    },

    async diff(id, urn, olds, news) {
      return withCallContext({ urn }, async () => {
        const { provider: p } = servedFor(urn);
        const o = plainProperties(olds);
        const n = plainProperties(news);
        const result = p.diff ? await p.diff(id, o.plain, n.plain) : { changes: false };
        // State of 0.1.x: one in-place update rewrites it without the stored provider.
        if (!result.changes && o.stored) return { ...result, changes: true, replaces: [] };
        return result;
      });
    },

    async create(urn, inputs) {
      return withCallContext({ urn }, async () => {
        const { provider: p, secretOutputs } = servedFor(urn);
        const result = await p.create(plainProperties(inputs).plain);
        return {
          id: result.id,
          outs: secretWrapped((result.outs ?? {}) as Record<string, unknown>, secretOutputs),
        };
      });
    },

    async read(id, urn, props) {
      return withCallContext({ urn }, async () => {
        const { provider: p, secretOutputs } = servedFor(urn);
        const { plain } = plainProperties(props);
        if (!p.read) return { id, props: secretWrapped(plain, secretOutputs) };
        const result = await p.read(id, plain);
        if (!result.id) return {};
        return {
          id: result.id,
          props: secretWrapped((result.props ?? {}) as Record<string, unknown>, secretOutputs),
        };
      });
    },

    async update(id, urn, olds, news) {
      return withCallContext({ urn }, async () => {
        const { provider: p, secretOutputs } = servedFor(urn);
        const o = plainProperties(olds);
        const n = plainProperties(news);
        if (o.stored && p.diff && !(await p.diff(id, o.plain, n.plain)).changes) {
          // Only the stored provider of 0.1.x state differs: keep every output, drop that field.
          return { outs: secretWrapped({ ...o.plain, ...n.plain }, secretOutputs) };
        }
        const result = p.update ? await p.update(id, o.plain, n.plain) : { outs: n.plain };
        return { outs: secretWrapped((result.outs ?? {}) as Record<string, unknown>, secretOutputs) };
      });
    },

    async delete(id, urn, props) {
      return withCallContext({ urn }, async () => {
        const { provider: p } = servedFor(urn);
        if (p.delete) await p.delete(id, plainProperties(props).plain);
      });
    },

    async construct(name, type, inputs, options) {
      if (type !== token("RotatingAccessKey"))
        throw new Error(`The keyrotation provider has no component "${type}".`);
      return construct(name, inputs, options);
    },
  };
}
