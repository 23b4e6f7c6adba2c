/**
 * Runs the pack's policies in-process the way the engine and @pulumi/policy's analyzer server do,
 * without starting a server:
 *
 * - configuration is reconciled like the engine's `ReconcilePolicyPackConfig`: schema defaults first,
 *   then `"all"`, then each policy's entry (a string is an enforcement level, an object may carry
 *   `enforcementLevel` plus properties), then validated against the schema (a failure is an error,
 *   as the CLI refuses to run);
 * - properties go through the server's own `deserializeProperties` (secrets unwrapped) and
 *   `unknownCheckingProxy` (reading an unknown throws `UnknownValueError`);
 * - diagnostics are built like the server's `reportViolation`: a string message is prefixed with the
 *   policy description, an object carries its own message and enforcement level; an
 *   `UnknownValueError` escaping a policy becomes the server's advisory "can't run" line.
 */
import * as policy from "@pulumi/policy";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";

const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
  deserializeProperties: (struct: structproto.Struct, proxySecrets: boolean) => Record<string, unknown>;
};
// Exported by @pulumi/policy at run time but marked internal, so absent from its typings.
const { unknownCheckingProxy, UnknownValueError } = require("@pulumi/policy") as {
  unknownCheckingProxy: <T>(value: T) => T;
  UnknownValueError: new (...args: never[]) => Error;
};

/** The engine sends every value unknown at preview as this string sentinel. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A secret value as the engine serializes it. */
export function secret<T>(value: T): { [SIG_KEY]: string; value: T } {
  return { [SIG_KEY]: SECRET_SIG, value };
}

export const PACK_NAME = "aws-key-rotation";
export const PACK_VERSION: string = require("../../policypack/package.json").version;
export const MS_PER_DAY = 86_400_000;

export type EnforcementLevel = policy.EnforcementLevel;

/** A `--policy-pack-config` file: policy name (or "all") to a level or an object of properties. */
export type PolicyConfigFile = Record<string, EnforcementLevel | Record<string, unknown>>;

export interface ReconciledConfig {
  enforcementLevel: EnforcementLevel;
  properties: Record<string, unknown>;
}

export class PolicyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`policy pack configuration is invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/** The engine's config reconciliation for this pack (defaults, "all", per policy, schema validation). */
export function reconcileConfig(
  policies: policy.Policies,
  file: PolicyConfigFile = {},
  packLevel: EnforcementLevel = "advisory",
): Record<string, ReconciledConfig> {
  const result: Record<string, ReconciledConfig> = {};
  for (const p of policies) {
    const properties: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(p.configSchema?.properties ?? {})) {
      if (schema.default !== undefined) properties[k] = structuredClone(schema.default);
    }
    result[p.name] = { enforcementLevel: p.enforcementLevel ?? packLevel, properties };
  }
  const all = file.all;
  if (all !== undefined) {
    const level = typeof all === "string" ? all : (all.enforcementLevel as EnforcementLevel | undefined);
    if (level) for (const name of Object.keys(result)) result[name].enforcementLevel = level;
  }
  const problems: string[] = [];
  for (const [name, given] of Object.entries(file)) {
    if (name === "all") continue;
    const target = (result[name] ??= { enforcementLevel: packLevel, properties: {} });
    if (typeof given === "string") {
      target.enforcementLevel = given;
      continue;
    }
    const { enforcementLevel, ...props } = given;
    if (enforcementLevel !== undefined) target.enforcementLevel = enforcementLevel as EnforcementLevel;
    Object.assign(target.properties, props);
  }
  for (const p of policies) {
    if (!p.configSchema) continue;
    const schema = {
      type: "object",
      properties: p.configSchema.properties,
      required: p.configSchema.required,
    };
    for (const problem of validateSchema(schema, result[p.name].properties, ""))
      problems.push(`${p.name}: ${problem}`);
  }
  if (problems.length > 0) throw new PolicyConfigError(problems);
  return result;
}

type Schema = Record<string, unknown>;

/** The subset of JSON Schema the pack's config schema uses, with gojsonschema-like messages. */
export function validateSchema(schema: Schema | boolean, value: unknown, path: string): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path || "(root)"}: no value is allowed`];
  const at = path || "(root)";
  const problems: string[] = [];
  const type = schema.type as string | undefined;
  if (type !== undefined && !hasType(value, type)) {
    return [`${at}: Invalid type. Expected: ${type}, given: ${typeName(value)}`];
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      problems.push(`${at}: Must be greater than or equal to ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      problems.push(`${at}: Must be less than or equal to ${schema.maximum}`);
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      problems.push(`${at}: String length must be greater than or equal to ${schema.minLength}`);
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      problems.push(`${at}: String length must be less than or equal to ${schema.maxLength}`);
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) =>
      problems.push(...validateSchema(schema.items as Schema, item, `${path}.${i}`)),
    );
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const required of (schema.required as string[] | undefined) ?? []) {
      if (obj[required] === undefined) problems.push(`${at}: ${required} is required`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const child = path ? `${path}.${k}` : k;
      if (props[k]) problems.push(...validateSchema(props[k], v, child));
      else if (schema.additionalProperties === false)
        problems.push(`${at}: Additional property ${k} is not allowed`);
    }
  }
  const anyOf = schema.anyOf as Schema[] | undefined;
  if (anyOf && !anyOf.some((s) => validateSchema({ ...s }, value, path).length === 0)) {
    problems.push(`${at}: Must validate at least one schema (anyOf)`);
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** A resource as a test writes it: plain values, `UNKNOWN` and `secret(...)` allowed anywhere. */
export interface CraftedResource {
  type: string;
  name: string;
  props: Record<string, unknown>;
  /** The resource's provider, as the engine passes it to stack policies (its inputs as props). */
  provider?: { type: string; name: string; props: Record<string, unknown> };
}

export function urnOf(resource: { type: string; name: string }): string {
  return `urn:pulumi:dev::keyrotation::${resource.type}::${resource.name}`;
}

export interface Diagnostic {
  policyName: string;
  enforcementLevel: EnforcementLevel;
  message: string;
  urn?: string;
}

/** How the engine's analyzer server turns the props it receives into what a policy reads. */
function policyProps(props: Record<string, unknown>): Record<string, unknown> {
  // The engine never sends undefined values (the Struct cannot hold them); JSON drops them the same way.
  const plain = JSON.parse(JSON.stringify(props)) as Record<string, unknown>;
  return unknownCheckingProxy(
    deserializeProperties(structproto.Struct.fromJavaScript(plain as never), false),
  );
}

const emptyOptions: policy.PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

export interface RunOptions {
  /** A `--policy-pack-config` file, reconciled as the engine does (defaults applied). Default: none. */
  config?: PolicyConfigFile;
  /** Instead of `config`: exactly what `getConfig()` returns, with no defaults (as before Configure). */
  rawConfig?: Record<string, Record<string, unknown>>;
}

function levelsAndConfig(policies: policy.Policies, options: RunOptions) {
  if (options.rawConfig) {
    return (name: string, fallback: EnforcementLevel) => ({
      enforcementLevel: fallback,
      properties: options.rawConfig?.[name] ?? {},
    });
  }
  const reconciled = reconcileConfig(policies, options.config);
  return (name: string) => reconciled[name];
}

function reporter(p: policy.Policy, level: EnforcementLevel, ds: Diagnostic[], fixedUrn?: string) {
  return (message: unknown, urn?: string) => {
    if (typeof message === "object" && message !== null) {
      const info = message as { message?: string; enforcementLevel?: EnforcementLevel; urn?: string };
      ds.push({
        policyName: p.name,
        enforcementLevel: info.enforcementLevel ?? level,
        message: info.message ?? p.description,
        ...(fixedUrn ? { urn: fixedUrn } : info.urn ? { urn: info.urn } : {}),
      });
      return;
    }
    ds.push({
      policyName: p.name,
      enforcementLevel: level,
      message: message ? `${p.description}\n${message}` : p.description,
      ...(fixedUrn ? { urn: fixedUrn } : urn ? { urn } : {}),
    });
  };
}

function cantRun(p: policy.Policy, err: Error): Diagnostic {
  return {
    policyName: p.name,
    enforcementLevel: "advisory",
    message: `can't run policy '${p.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${err.message}`,
  };
}

function effectiveLevel(level: EnforcementLevel): EnforcementLevel {
  return level === "remediate" ? "mandatory" : level;
}

/** Runs every stack policy of `policies` over `resources`, like AnalyzeStack. */
export async function runStackPolicies(
  policies: policy.Policies,
  resources: CraftedResource[],
  options: RunOptions = {},
): Promise<Diagnostic[]> {
  const configFor = levelsAndConfig(policies, options);
  const ds: Diagnostic[] = [];
  for (const p of policies) {
    if (!("validateStack" in p) || typeof p.validateStack !== "function") continue;
    const { enforcementLevel, properties } = configFor(p.name, p.enforcementLevel ?? "advisory");
    if (enforcementLevel === "disabled") continue;
    const policyResources = resources.map((r) => {
      const props = policyProps(r.props);
      return {
        type: r.type,
        name: r.name,
        urn: urnOf(r),
        props,
        ...(r.provider
          ? {
              provider: {
                type: r.provider.type,
                name: r.provider.name,
                urn: urnOf(r.provider),
                props: policyProps(r.provider.props),
              },
            }
          : {}),
        opts: emptyOptions,
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      } as unknown as policy.PolicyResource;
    });
    const args: policy.StackValidationArgs = {
      resources: policyResources,
      stackTags: new Map(),
      getConfig: <T extends object>() => properties as T,
      notApplicable: (reason?: string): never => {
        throw new NotApplicable(reason);
      },
    };
    try {
      await p.validateStack(
        args,
        reporter(p, effectiveLevel(enforcementLevel), ds) as policy.ReportViolation,
      );
    } catch (err) {
      if (err instanceof UnknownValueError) ds.push(cantRun(p, err));
      else if (!(err instanceof NotApplicable)) throw err;
    }
  }
  return ds;
}

/** Runs every resource policy of `policies` on one resource, like Analyze. */
export async function runResourcePolicies(
  policies: policy.Policies,
  resource: CraftedResource,
  options: RunOptions = {},
): Promise<Diagnostic[]> {
  const configFor = levelsAndConfig(policies, options);
  const ds: Diagnostic[] = [];
  for (const p of policies) {
    if (!("validateResource" in p) || p.validateResource === undefined) continue;
    const { enforcementLevel, properties } = configFor(p.name, p.enforcementLevel ?? "advisory");
    if (enforcementLevel === "disabled") continue;
    const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
    for (const validate of validations) {
      const props = policyProps(resource.props);
      const args = {
        type: resource.type,
        name: resource.name,
        urn: urnOf(resource),
        props,
        opts: emptyOptions,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => properties as T,
        notApplicable: (reason?: string): never => {
          throw new NotApplicable(reason);
        },
      } as unknown as policy.ResourceValidationArgs;
      try {
        await validate(args, reporter(p, effectiveLevel(enforcementLevel), ds) as policy.ReportViolation);
      } catch (err) {
        if (err instanceof UnknownValueError) ds.push(cantRun(p, err));
        else if (!(err instanceof NotApplicable)) throw err;
      }
    }
  }
  return ds;
}

class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "Policy does not apply");
  }
}

/** An ISO instant `days` days before `at` (exact, so ages are whole numbers in messages). */
export function daysBefore(at: Date, days: number): string {
  return new Date(at.getTime() - days * MS_PER_DAY).toISOString();
}

/** Sets `KEYROTATION_NOW` to a fixed instant a little after the real clock; returns it. */
export function pinClock(aheadMs = 120_000): Date {
  const at = new Date(Math.ceil((Date.now() + aheadMs) / 1000) * 1000);
  process.env.KEYROTATION_NOW = at.toISOString();
  return at;
}

export function unpinClock(): void {
  delete process.env.KEYROTATION_NOW;
}
