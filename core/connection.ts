/**
 * Which account and credentials the AWS calls of one provider process use: the `keyrotation`
 * provider's configuration (`region`, `profile`, `assumeRole`), set once by the provider's
 * Configure. The engine starts one plugin process per provider (the default one and each explicit
 * `keyrotation.Provider`), so one process holds one connection and two providers never share a
 * client. With nothing configured, the environment decides as before: the default credential
 * chain, `AWS_REGION`, `AWS_ENDPOINT_URL_*`.
 */
import * as sts from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { requestHandlerOptions, resolveRegion } from "./aws";
import { KeyRotationError, messageOf } from "./errors";
import type { Failure } from "./settings";

export interface AssumeRoleSettings {
  /** `arn:aws:iam::<12-digit account>:role/<path/name>`. */
  roleArn: string;
  /** The external id the role's trust policy requires. Default: none. */
  externalId?: string;
  /** Role session name, 2-64 of `[\w+=,.@-]`. Default `pulumi-keyrotation`. */
  sessionName?: string;
  /** 900-43200. Default 3600. */
  durationSeconds?: number;
}

export interface ConnectionSettings {
  /** Signing region; default `AWS_REGION`, `AWS_DEFAULT_REGION`, then us-east-1. */
  region?: string;
  /** A named profile of the shared config files for the base credentials. */
  profile?: string;
  /** A role to assume with the base credentials for every call. */
  assumeRole?: AssumeRoleSettings;
}

/** What STS accepts as an external id: 2-1224 of letters, digits and `+=,.@:/_-`. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;
export const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
export const DEFAULT_SESSION_NAME = "pulumi-keyrotation";
export const DEFAULT_SESSION_SECONDS = 3600;
/** The engine's marker of a secret value, as a provider sees it (the provider accepts secrets). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function unwrap(value: unknown): unknown {
  if (
    value &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE
  ) {
    return (value as Record<string, unknown>).value;
  }
  return value;
}

/**
 * Reads the provider configuration as the engine sends it: the provider's inputs (`args`) or the
 * `keyrotation:<name>` config variables, where objects may arrive as JSON text. Every problem names
 * the setting (`keyrotation:assumeRole.roleArn`, ...) and the fix; none carries a secret.
 */
export function parseConnection(raw: Record<string, unknown>): {
  settings: ConnectionSettings;
  failures: Failure[];
} {
  const failures: Failure[] = [];
  const settings: ConnectionSettings = {};
  const text = (name: string, value: unknown): string | undefined => {
    value = unwrap(value);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") {
      failures.push({
        property: name,
        reason: `keyrotation:${name} must be a string; got ${typeof value}. Fix keyrotation:${name}.`,
      });
      return undefined;
    }
    return value.trim();
  };
  settings.region = text("region", raw.region);
  settings.profile = text("profile", raw.profile);
  let role = unwrap(raw.assumeRole);
  if (typeof role === "string" && role.trim() !== "") {
    try {
      role = JSON.parse(role);
    } catch {
      failures.push({
        property: "assumeRole",
        reason: `keyrotation:assumeRole is not an object: set it with pulumi config set --path keyrotation:assumeRole.roleArn <arn> (or pass assumeRole: { roleArn } to the Provider).`,
      });
      role = undefined;
    }
  }
  if (role !== undefined && role !== null && role !== "") {
    if (typeof role !== "object" || Array.isArray(role)) {
      failures.push({
        property: "assumeRole",
        reason: "keyrotation:assumeRole must be an object with a roleArn. Fix keyrotation:assumeRole.",
      });
    } else {
      const r = role as Record<string, unknown>;
      const roleArn = text("assumeRole.roleArn", r.roleArn);
      if (!roleArn || !ROLE_ARN_PATTERN.test(roleArn)) {
        failures.push({
          property: "assumeRole.roleArn",
          reason: `keyrotation:assumeRole.roleArn ${roleArn ? `"${roleArn}" is not an IAM role ARN` : "is missing"}: set it to arn:aws:iam::<12-digit account id>:role/<name>.`,
        });
      }
      const sessionName = text("assumeRole.sessionName", r.sessionName);
      if (sessionName !== undefined && !SESSION_NAME_PATTERN.test(sessionName)) {
        failures.push({
          property: "assumeRole.sessionName",
          reason: `keyrotation:assumeRole.sessionName "${sessionName}" must be 2 to 64 letters, digits or +=,.@_-. Fix keyrotation:assumeRole.sessionName.`,
        });
      }
      let durationSeconds = unwrap(r.durationSeconds);
      if (typeof durationSeconds === "string" && durationSeconds.trim() !== "")
        durationSeconds = Number(durationSeconds);
      if (durationSeconds !== undefined && durationSeconds !== null && durationSeconds !== "") {
        if (
          typeof durationSeconds !== "number" ||
          !Number.isInteger(durationSeconds) ||
          durationSeconds < 900 ||
          durationSeconds > 43200
        ) {
          failures.push({
            property: "assumeRole.durationSeconds",
            reason: `keyrotation:assumeRole.durationSeconds must be a whole number from 900 to 43200; got ${JSON.stringify(durationSeconds)}. Fix keyrotation:assumeRole.durationSeconds.`,
          });
          durationSeconds = undefined;
        }
      } else durationSeconds = undefined;
      const externalId = unwrap(r.externalId);
      if (externalId !== undefined && externalId !== null && typeof externalId !== "string") {
        failures.push({
          property: "assumeRole.externalId",
          reason:
            "keyrotation:assumeRole.externalId must be a string. Fix keyrotation:assumeRole.externalId.",
        });
      }
      if (roleArn && ROLE_ARN_PATTERN.test(roleArn)) {
        settings.assumeRole = {
          roleArn,
          ...(typeof externalId === "string" && externalId !== "" ? { externalId } : {}),
          ...(sessionName ? { sessionName } : {}),
          ...(typeof durationSeconds === "number" ? { durationSeconds } : {}),
        };
      }
    }
  }
  return { settings, failures };
}

let current: ConnectionSettings = {};
let generation = 0;

/** Sets this process's connection (the provider's Configure). */
export function configureConnection(settings: ConnectionSettings): void {
  current = settings;
  generation++;
  assumed = undefined;
}

export function connection(): ConnectionSettings {
  return current;
}

/** Identifies the connection, for clients cached per process (never holds a secret). */
export function connectionKey(): string {
  const { region, profile, assumeRole } = current;
  return JSON.stringify([generation, region, profile, assumeRole?.roleArn, assumeRole?.sessionName]);
}

interface Assumed {
  base: sts.STSClient;
  provider: AwsCredentialIdentityProvider;
}
let assumed: Assumed | undefined;

function baseStsClient(settings: ConnectionSettings): sts.STSClient {
  return new sts.STSClient({
    region: resolveRegion(settings.region),
    maxAttempts: 4,
    requestHandler: requestHandlerOptions(),
    ...(settings.profile ? { profile: settings.profile } : {}),
  });
}

/** Thrown when the configured role cannot be assumed: names the role and the fix, keeps the AWS error. */
export class AssumeRoleError extends KeyRotationError {
  constructor(
    readonly roleArn: string,
    cause: unknown,
  ) {
    super(
      `Assuming keyrotation:assumeRole.roleArn ${roleArn} failed: ${messageOf(cause)}. Check that the role exists, that its trust policy trusts the deployer's principal (and the external id, if set), and that the deployer may call sts:AssumeRole on it.`,
      { cause },
    );
  }
}

function assumedCredentials(role: AssumeRoleSettings, settings: ConnectionSettings): Assumed {
  const base = baseStsClient(settings);
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const provider: AwsCredentialIdentityProvider = async () => {
    // Refreshed five minutes before the session ends.
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
    pending ??= (async () => {
      try {
        const out = await base.send(
          new sts.AssumeRoleCommand({
            RoleArn: role.roleArn,
            RoleSessionName: role.sessionName ?? DEFAULT_SESSION_NAME,
            DurationSeconds: role.durationSeconds ?? DEFAULT_SESSION_SECONDS,
            ...(role.externalId ? { ExternalId: role.externalId } : {}),
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("STS returned no credentials");
        cached = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration ?? new Date(Date.now() + 15 * 60_000),
        };
        return cached;
      } catch (err) {
        throw new AssumeRoleError(role.roleArn, err);
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  return { base, provider };
}

/**
 * What every SDK client of a provider process is built with: the signing region, and the
 * credentials of the configured connection (the assumed role's, or the profile's); nothing when
 * the environment decides.
 */
export function clientConnection(): {
  region: string;
  credentials?: AwsCredentialIdentityProvider;
  profile?: string;
} {
  const region = resolveRegion(current.region);
  if (current.assumeRole) {
    assumed ??= assumedCredentials(current.assumeRole, current);
    return { region, credentials: assumed.provider };
  }
  return { region, ...(current.profile ? { profile: current.profile } : {}) };
}

/**
 * The access key id that this process's AWS calls put at risk if rotation retired it: the key the
 * calls are signed with or, with `assumeRole`, the base key that signs the AssumeRole call (the
 * role session's own temporary key belongs to no IAM user). Undefined when it cannot be read.
 */
export async function baseAccessKeyId(): Promise<string | undefined> {
  if (!current.assumeRole) return undefined;
  assumed ??= assumedCredentials(current.assumeRole, current);
  try {
    return (await assumed.base.config.credentials()).accessKeyId;
  } catch {
    return undefined;
  }
}

/**
 * A connection of its own for `settings`, apart from this process's configured one: what a
 * policy pack needs for each provider configuration it finds in a stack. The caller destroys it.
 */
export function standaloneConnection(settings: ConnectionSettings): {
  region: string;
  credentials?: AwsCredentialIdentityProvider;
  profile?: string;
  destroy(): void;
} {
  const region = resolveRegion(settings.region);
  if (settings.assumeRole) {
    const own = assumedCredentials(settings.assumeRole, settings);
    return { region, credentials: own.provider, destroy: () => own.base.destroy() };
  }
  return { region, ...(settings.profile ? { profile: settings.profile } : {}), destroy: () => undefined };
}
