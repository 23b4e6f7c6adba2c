/**
 * The `keyrotation` package schema: every resource, property and default of the provider plugin,
 * built from the settings' one source of defaults and bounds (core/settings.ts), so that the schema,
 * the generated SDKs and the validation cannot drift apart. `npm run gen:sdk` writes it to
 * provider/schema.json and generates the Python and Go SDKs from that file.
 */
import { BOUNDS, DEFAULTS } from "../core/settings";
import { PACKAGE_VERSION } from "./version";

type Prop = Record<string, unknown> & { description: string };

const str = (description: string, extra: Record<string, unknown> = {}): Prop => ({
  type: "string",
  description,
  ...extra,
});
const int = (description: string, extra: Record<string, unknown> = {}): Prop => ({
  type: "integer",
  description,
  ...extra,
});
const bool = (description: string, extra: Record<string, unknown> = {}): Prop => ({
  type: "boolean",
  description,
  ...extra,
});
const bounded = (name: keyof typeof BOUNDS, text: string): Prop =>
  int(`${text} Default ${DEFAULTS[name]}; ${BOUNDS[name].min} to ${BOUNDS[name].max}.`, {
    default: DEFAULTS[name],
  });

/** The rotation settings, shared by the component and the schedule. */
const settingProperties: Record<string, Prop> = {
  rotationDays: bounded(
    "rotationDays",
    "Days between new keys. `rotationDays + overlapDays` must be below `maxAgeDays`.",
  ),
  overlapDays: bounded(
    "overlapDays",
    "Days the previous key stays Active after a new key is created; at most `rotationDays - 1`.",
  ),
  maxAgeDays: bounded("maxAgeDays", "No key stays Active past this age, even during the overlap."),
  deletionGuardHours: bounded(
    "deletionGuardHours",
    "The last-used guard: a key used within this many hours is neither deactivated (unless the age limit requires it) nor deleted; the schedule waits instead.",
  ),
  forceDelete: bool(
    `Deactivate and delete on schedule even when a key was used within \`deletionGuardHours\`. Default ${DEFAULTS.forceDelete}.`,
    { default: DEFAULTS.forceDelete },
  ),
  staggerDays: bounded(
    "staggerDays",
    "Rotate the user's first key this many days early, so that users configured together do not all rotate on the same day; at most `rotationDays - 1`.",
  ),
  unmanagedKeys: str(
    `Keys on the user that the component did not create: \`fail\` (default) stops the deploy and lists them; \`retire\` adopts them, creates a new current key at once, then deactivates and deletes them on the schedule.`,
    { default: DEFAULTS.unmanagedKeys },
  ),
  verifyTimeoutSeconds: bounded(
    "verifyTimeoutSeconds",
    "Seconds to wait until a new key works (STS GetCallerIdentity signed with it) before anything retires its predecessor; 0 skips the check.",
  ),
};

const notifySnsTopicArn = str(
  "ARN of an SNS topic (`arn:aws:sns:<region>:<12-digit account>:<name>`) that receives one JSON message per event that needs a person or records a change (docs/notifications.md); published by `pulumi up`, never by a preview. The deployer needs `sns:Publish` on it. Default: none.",
);

const userName = str(
  "The IAM user whose keys are managed (1 to 64 letters, digits and `+=,.@_-`). The user must exist.",
);

const keyInputs: Record<string, Prop> = {
  userName: str("The IAM user that owns the key. Changing it replaces the key."),
  status: str("`Active` (default) or `Inactive`. Changing it is an in-place UpdateAccessKey.", {
    default: "Active",
  }),
  deletionGuardHours: bounded(
    "deletionGuardHours",
    "Refuse to delete the key when GetAccessKeyLastUsed shows a use within this many hours.",
  ),
  forceDelete: bool("Delete the key even when it was used within `deletionGuardHours`. Default false.", {
    default: false,
  }),
  slot: str(
    "Slot `a` or `b` of a RotatingAccessKey; empty for a standalone key. Changing it replaces the key.",
    {
      default: "",
    },
  ),
  generation: int(
    "Generation number within the slot; changing it replaces the key (a rotation). Default 0.",
    {
      default: 0,
    },
  ),
  adoptAccessKeyId: str(
    "Take over this existing key of the user instead of creating one; its secret stays unknown (empty). Default: create a key.",
  ),
  replacesAccessKeyId: str(
    "Delete this pre-existing key of the user (after the last-used guard) before creating the new one. Default: none.",
  ),
  verifyTimeoutSeconds: int(
    `Seconds to wait until a new key works (STS GetCallerIdentity signed with it); 0 (default) skips the check; at most ${BOUNDS.verifyTimeoutSeconds.max}.`,
    { default: 0 },
  ),
  notifySnsTopicArn: str(
    "ARN of an SNS topic told when the key is created, deactivated and deleted (one JSON message each). Default: none.",
  ),
};

const managedKey = {
  description: "One of the user's keys as the component reports it (never with its secret).",
  type: "object",
  properties: {
    slot: str("The key's slot, `a` or `b`."),
    id: str("The key's resource id: its access key id."),
    accessKeyId: str("The access key id."),
    status: str("`Active` or `Inactive`."),
    createDate: str("When IAM created the key (ISO-8601)."),
    generation: int("The key's generation within its slot."),
    current: bool("Whether this is the current key, the one applications should use."),
  },
  required: ["slot", "id", "accessKeyId", "status", "createDate", "generation", "current"],
};

const assumeRole = {
  description:
    "An IAM role to assume for every AWS call of this provider (STS AssumeRole with the base credentials: `profile`, or the default credential chain).",
  type: "object",
  properties: {
    roleArn: str("ARN of the role to assume, `arn:aws:iam::<12-digit account>:role/<name>`."),
    externalId: str("External id the role's trust policy requires. Default: none.", { secret: true }),
    sessionName: str("Role session name (2 to 64 of `[\\w+=,.@-]`). Default `pulumi-keyrotation`."),
    durationSeconds: int("Session duration in seconds, 900 to 43200. Default 3600."),
  },
  required: ["roleArn"],
};

const providerProperties: Record<string, Prop> = {
  region: str(
    "AWS region the provider's calls are signed for (IAM is global). Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`.",
  ),
  profile: str(
    "Named profile of the shared AWS config and credentials files for the base credentials. Default: the default credential chain (`AWS_PROFILE`, environment variables, ...).",
  ),
  assumeRole: {
    $ref: "#/types/keyrotation:index:AssumeRole",
    description:
      "A role to assume for every AWS call of this provider, for example in another account. Default: none (the base credentials sign the calls).",
  },
};

const accessKeyOutputs = {
  accessKeyId: str("The access key id (also the resource id)."),
  secretAccessKey: str("The secret access key (a secret). Empty for an adopted key.", { secret: true }),
  createDate: str("When IAM created the key (ISO-8601)."),
  interrupted: str(
    "Set at check when an earlier, interrupted create of the same slot and generation left a key or an intent on the user: what this create will clean up. Empty otherwise.",
  ),
};

const publicationInputs: Record<string, Prop> = {
  secretId: str(
    "Name or ARN of the Secrets Manager secret that receives the key. Changing it replaces the publication.",
  ),
  adoptExisting: bool("Take over an existing secret that this package did not create. Default false.", {
    default: false,
  }),
  userName: str("The IAM user the key belongs to (written into the secret)."),
  accessKeyId: str("The access key id to publish."),
  secretAccessKey: str("The secret access key to publish (a secret).", { secret: true }),
};

const componentOutputs = {
  accessKeyId: str("The current key's id: the one applications should use."),
  secretAccessKey: str(
    "The current key's secret (a secret). Empty for an adopted key, whose secret is unknown.",
    {
      secret: true,
    },
  ),
  previousAccessKeyId: str(
    "The previous key's id while it exists (Active during the overlap, then Inactive).",
  ),
  nextRotationDate: str("When the current key is next rotated (ISO-8601)."),
  keys: {
    type: "array",
    items: { $ref: "#/types/keyrotation:iam:ManagedKey" },
    description:
      "Every key of the user that the component manages: slot, id, status, createDate, generation, current.",
  },
};

const requiredOf = (props: Record<string, unknown>, optional: string[] = []) =>
  Object.keys(props).filter((k) => !optional.includes(k));

export function packageSchema(): Record<string, unknown> {
  return {
    name: "keyrotation",
    displayName: "AWS IAM access key rotation",
    version: PACKAGE_VERSION,
    description:
      "Rotate AWS IAM user access keys with Pulumi: keys rotate on a time trigger, old and new keys overlap, and the old key is deactivated and deleted only once unused.",
    keywords: ["pulumi", "aws", "iam", "access-key", "rotation", "category/utility", "kind/component"],
    license: "Apache-2.0",
    repository: "https://github.com/pulumi-aws-key-rotation/pulumi-aws-key-rotation",
    publisher: "pulumi-aws-key-rotation",
    meta: { moduleFormat: "(.*)" },
    config: { variables: providerProperties },
    provider: {
      description: "The keyrotation provider: which account and credentials the resources' AWS calls use.",
      inputProperties: providerProperties,
      properties: providerProperties,
    },
    types: {
      "keyrotation:index:AssumeRole": assumeRole,
      "keyrotation:iam:ManagedKey": managedKey,
    },
    resources: {
      "keyrotation:iam:AccessKey": {
        description:
          "One IAM access key. Creation is transactional (a key whose create fails afterwards is deleted again) and refuses politely at the two-keys limit; deletion is refused while GetAccessKeyLastUsed shows a use within `deletionGuardHours`, unless `forceDelete`.",
        inputProperties: keyInputs,
        requiredInputs: ["userName"],
        properties: { ...keyInputs, ...accessKeyOutputs },
        required: requiredOf({ ...keyInputs, ...accessKeyOutputs }, [
          "adoptAccessKeyId",
          "replacesAccessKeyId",
          "interrupted",
        ]),
      },
      "keyrotation:iam:RotationSchedule": {
        description:
          "Decides what the user's two key slots hold, from its previous plan, the user's keys in IAM and the clock. Its check runs at preview and at update alike, so the preview plans exactly what the update does.",
        inputProperties: { userName, ...settingProperties, notifySnsTopicArn },
        requiredInputs: ["userName"],
        properties: {
          userName,
          ...settingProperties,
          notifySnsTopicArn,
          notifications: {
            type: "array",
            items: { $ref: "pulumi.json#/Any" },
            description:
              "With `notifySnsTopicArn`: what this deploy's plan announces (type, event id, key id, details), published by the update.",
          },
          refusal: {
            $ref: "pulumi.json#/Any",
            description:
              "With `notifySnsTopicArn`, at an update: why the deploy is refused (property, reason, notices); the update publishes it, then fails.",
          },
          notified: {
            type: "array",
            items: { type: "string" },
            description:
              "The event ids already published to `notifySnsTopicArn`, so that a repeated deploy does not send them again.",
          },
          plan: {
            $ref: "pulumi.json#/Any",
            description:
              "What each slot holds after this deploy, which slot is current, and the next rotation date.",
          },
          events: {
            type: "array",
            items: { $ref: "pulumi.json#/Any" },
            description:
              "What the latest change of plan did, and why (kind, message, the deploy's clock reading).",
          },
          scheduleTag: str(
            "The value of the IAM user tag `keyrotation:schedule` that create and update write (`rotation=30 overlap=7 max=90`), from which the audit's rotation-stopped verdict reads the user's schedule.",
          ),
        },
        required: ["userName", ...Object.keys(settingProperties)],
      },
      "keyrotation:iam:SecretPublication": {
        description:
          'Publishes the current key to AWS Secrets Manager as JSON `{"userName","accessKeyId","secretAccessKey"}`. Writes only to a secret it created or was explicitly handed (`adoptExisting`).',
        inputProperties: publicationInputs,
        requiredInputs: ["secretId", "userName", "accessKeyId", "secretAccessKey"],
        properties: {
          ...publicationInputs,
          secretArn: str("ARN of the secret written."),
          versionId: str("Secrets Manager version id of the value written."),
        },
        required: [...Object.keys(publicationInputs), "secretArn", "versionId"],
      },
      "keyrotation:iam:RotatingAccessKey": {
        isComponent: true,
        description:
          "Keeps one IAM user's access keys fresh: a new key every `rotationDays`, the previous key Active for `overlapDays`, then deactivated and deleted once GetAccessKeyLastUsed shows nothing uses it. Children: a RotationSchedule, an AccessKey per occupied slot and, with `secretsManagerSecretId`, a SecretPublication.",
        inputProperties: {
          userName,
          ...settingProperties,
          secretsManagerSecretId: str(
            "Name or ARN of an AWS Secrets Manager secret that receives the current key as JSON before the previous key is deactivated; created (and tagged) when missing. Default: not published.",
          ),
          adoptExistingSecret: bool(
            "Hand an existing secret that this package did not create over to the rotation. Default false.",
            { default: false },
          ),
          notifySnsTopicArn,
        },
        requiredInputs: ["userName"],
        properties: componentOutputs,
        required: ["accessKeyId", "secretAccessKey", "nextRotationDate", "keys"],
      },
    },
    language: {
      python: {
        packageName: "pulumi_keyrotation",
        requires: { pulumi: ">=3.0.0,<4.0.0" },
        pyproject: { enabled: true },
        respectSchemaVersion: true,
      },
      go: {
        importBasePath: "github.com/pulumi-aws-key-rotation/pulumi-aws-key-rotation/sdk/go/keyrotation",
        generateResourceContainerTypes: true,
        respectSchemaVersion: true,
      },
    },
  };
}

/** The schema as the provider serves it and as provider/schema.json stores it. */
export function schemaText(): string {
  return JSON.stringify(packageSchema(), null, 2) + "\n";
}
