/**
 * Publishes the current key to an AWS Secrets Manager secret:
 * `keyrotation:iam:SecretPublication` (0.1.x: `pulumi-nodejs:dynamic/keyrotation:SecretPublication`).
 *
 * The secret's value is JSON `{"userName", "accessKeyId", "secretAccessKey"}`. The component writes
 * it after the new key works and before the old key is deactivated, so applications that read
 * the secret switch keys without a deploy of their own. Deleting the resource leaves the secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as sm from "@aws-sdk/client-secrets-manager";
import { requestHandlerOptions } from "../../core/aws";
import { clientConnection } from "../../core/connection";
import { KeyRotationError, messageOf } from "../../core/errors";
import { UNKNOWN_VALUE, PUBLICATION_TYPE } from "../../core/tokens";

export { PUBLICATION_TYPE };

export interface PublicationInputs {
  secretId: string;
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Take over an existing secret this package did not create (it is then tagged as this rotation's). */
  adoptExisting?: boolean;
}

export interface PublicationOutputs extends PublicationInputs {
  secretArn: string;
  versionId: string;
}

/** The tag that marks a secret as this package's, for one IAM user. */
export const OWNER_TAG = "keyrotation:owner";
export const ownerValue = (userName: string) => `pulumi-aws-key-rotation user=${userName}`;

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;

/** A failure when `value` is neither a Secrets Manager secret name nor a secret ARN. */
export function secretIdFailure(value: unknown): { property: string; reason: string } | undefined {
  if (typeof value !== "string" || value.trim() === "") {
    return {
      property: "secretsManagerSecretId",
      reason:
        "secretsManagerSecretId is empty: set it to the name or ARN of the secret to publish the key to.",
    };
  }
  if (value.startsWith("arn:") ? !SECRET_ARN.test(value) : !SECRET_NAME.test(value)) {
    return {
      property: "secretsManagerSecretId",
      reason:
        `secretsManagerSecretId "${value}" is not a Secrets Manager secret name (1-512 letters, digits or /_+=.@-) ` +
        `nor a secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>). Fix secretsManagerSecretId.`,
    };
  }
  return undefined;
}

function smClient(): sm.SecretsManagerClient {
  return new sm.SecretsManagerClient({
    ...clientConnection(),
    maxAttempts: 8,
    requestHandler: requestHandlerOptions(),
  });
}

/** Whether the secret exists, and whether this package created it for `userName`. */
export async function secretOwnership(
  client: sm.SecretsManagerClient,
  secretId: string,
  userName: string,
): Promise<"absent" | "ours" | "theirs"> {
  try {
    const out = await client.send(new sm.DescribeSecretCommand({ SecretId: secretId }));
    const tag = (out.Tags ?? []).find((t) => t.Key === OWNER_TAG);
    return tag?.Value === ownerValue(userName) ? "ours" : "theirs";
  } catch (err) {
    if (err instanceof sm.ResourceNotFoundException) return "absent";
    throw err;
  }
}

function notOurs(secretId: string, userName: string): string {
  return (
    `Secrets Manager secret "${secretId}" already exists and was not created by pulumi-aws-key-rotation for IAM user ` +
    `"${userName}" (it has no ${OWNER_TAG} tag for that user), so publishing the key would overwrite another secret. ` +
    `Point secretsManagerSecretId at a new name (it is created), or set adoptExistingSecret: true to hand this secret ` +
    `over to the rotation (it is then tagged as the rotation's).`
  );
}

/**
 * Writes the key as the secret's current version: into a secret this package created (or was
 * handed with `adoptExisting`), or a new secret it creates and tags. Any other existing secret is
 * refused; `check` refuses it at preview already.
 */
export async function publishKey(
  inputs: PublicationInputs,
  previouslyPublished = false,
): Promise<PublicationOutputs> {
  const client = smClient();
  const value = JSON.stringify({
    userName: inputs.userName,
    accessKeyId: inputs.accessKeyId,
    secretAccessKey: inputs.secretAccessKey,
  });
  const owner = [{ Key: OWNER_TAG, Value: ownerValue(inputs.userName) }];
  try {
    const state = await secretOwnership(client, inputs.secretId, inputs.userName);
    if (state === "absent") {
      const out = await client.send(
        new sm.CreateSecretCommand({
          Name: inputs.secretId,
          SecretString: value,
          Description: `Current IAM access key of user ${inputs.userName}, kept fresh by pulumi-aws-key-rotation.`,
          Tags: owner,
        }),
      );
      return { ...inputs, secretArn: out.ARN ?? "", versionId: out.VersionId ?? "" };
    }
    if (state === "theirs" && !inputs.adoptExisting && !previouslyPublished) {
      throw new KeyRotationError(notOurs(inputs.secretId, inputs.userName));
    }
    const out = await client.send(
      new sm.PutSecretValueCommand({ SecretId: inputs.secretId, SecretString: value }),
    );
    if (state === "theirs")
      await client.send(new sm.TagResourceCommand({ SecretId: inputs.secretId, Tags: owner }));
    return { ...inputs, secretArn: out.ARN ?? "", versionId: out.VersionId ?? "" };
  } catch (err) {
    if (err instanceof KeyRotationError) throw err;
    throw new KeyRotationError(
      `Publishing access key ${inputs.accessKeyId} to Secrets Manager secret "${inputs.secretId}" failed: ${messageOf(err)}. ` +
        `Check that the deployer may call secretsmanager:DescribeSecret, PutSecretValue, CreateSecret and TagResource on it.`,
      { cause: err },
    );
  } finally {
    client.destroy();
  }
}

export const publicationProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<PublicationOutputs>, news: Record<string, unknown>) {
    const failures: { property: string; reason: string }[] = [];
    const idFailure = news.secretId === UNKNOWN_VALUE ? undefined : secretIdFailure(news.secretId);
    if (idFailure) failures.push(idFailure);
    const adopt = news.adoptExisting ?? false;
    if (adopt !== UNKNOWN_VALUE && typeof adopt !== "boolean") {
      failures.push({
        property: "adoptExistingSecret",
        reason: `adoptExistingSecret must be true or false; got ${JSON.stringify(adopt)}.`,
      });
    }
    const known =
      typeof news.secretId === "string" &&
      news.secretId !== UNKNOWN_VALUE &&
      typeof news.userName === "string" &&
      news.userName !== UNKNOWN_VALUE;
    const published = olds.secretId === news.secretId && !!olds.secretArn;
    if (failures.length === 0 && known && adopt !== true && !published) {
      const client = smClient();
      try {
        if ((await secretOwnership(client, news.secretId as string, news.userName as string)) === "theirs") {
          failures.push({
            property: "secretsManagerSecretId",
            reason: notOurs(news.secretId as string, news.userName as string),
          });
        }
      } catch (err) {
        failures.push({
          property: "secretsManagerSecretId",
          reason: `Reading Secrets Manager secret "${String(news.secretId)}" failed: ${messageOf(err)}. Check that the deployer may call secretsmanager:DescribeSecret on it.`,
        });
      } finally {
        client.destroy();
      }
    }
    return { inputs: news, failures };
  },
  async diff(_id: string, olds: PublicationOutputs, news: PublicationInputs) {
    const replaces = olds.secretId !== news.secretId ? ["secretId"] : [];
    const changes =
      replaces.length > 0 ||
      olds.accessKeyId !== news.accessKeyId ||
      olds.secretAccessKey !== news.secretAccessKey ||
      (olds.adoptExisting ?? false) !== (news.adoptExisting ?? false);
    return { changes, replaces };
  },
  async create(inputs: PublicationInputs) {
    const outs = await publishKey(inputs);
    return { id: outs.secretArn || inputs.secretId, outs };
  },
  async update(_id: string, olds: PublicationOutputs, news: PublicationInputs) {
    // A secret this resource published to before (older builds did not tag it) stays its own.
    return { outs: await publishKey(news, olds.secretId === news.secretId) };
  },
};

// The resource class is in its own module, without the AWS SDK, for programs that only register it.
export { SecretPublication } from "./secretPublicationResource";
export type { SecretPublicationArgs } from "./secretPublicationResource";
