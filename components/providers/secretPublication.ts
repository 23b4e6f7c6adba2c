/**
 * Publishes the current key to an AWS Secrets Manager secret:
 * `pulumi-nodejs:dynamic/keyrotation:SecretPublication`.
 *
 * The secret's value is JSON `{"userName", "accessKeyId", "secretAccessKey"}`. The component writes
 * it after the new key works and before the old key is deactivated, so applications that read
 * the secret switch keys without a deploy of their own. Deleting the resource leaves the secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as sm from "@aws-sdk/client-secrets-manager";
import { requestHandlerOptions, resolveRegion } from "../../core/aws";
import { KeyRotationError, messageOf } from "../../core/errors";
import { DYNAMIC_MODULE, PUBLICATION_TYPE } from "../../core/tokens";

export { PUBLICATION_TYPE };

export interface PublicationInputs {
  secretId: string;
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PublicationOutputs extends PublicationInputs {
  secretArn: string;
  versionId: string;
}

/** Writes the key as the secret's current version, creating the secret when it does not exist. */
export async function publishKey(inputs: PublicationInputs): Promise<PublicationOutputs> {
  const client = new sm.SecretsManagerClient({
    region: resolveRegion(),
    maxAttempts: 8,
    requestHandler: requestHandlerOptions(),
  });
  const value = JSON.stringify({
    userName: inputs.userName,
    accessKeyId: inputs.accessKeyId,
    secretAccessKey: inputs.secretAccessKey,
  });
  try {
    try {
      const out = await client.send(
        new sm.PutSecretValueCommand({ SecretId: inputs.secretId, SecretString: value }),
      );
      return { ...inputs, secretArn: out.ARN ?? "", versionId: out.VersionId ?? "" };
    } catch (err) {
      if (!(err instanceof sm.ResourceNotFoundException)) throw err;
      const out = await client.send(
        new sm.CreateSecretCommand({
          Name: inputs.secretId,
          SecretString: value,
          Description: `Current IAM access key of user ${inputs.userName}, kept fresh by pulumi-aws-key-rotation.`,
        }),
      );
      return { ...inputs, secretArn: out.ARN ?? "", versionId: out.VersionId ?? "" };
    }
  } catch (err) {
    throw new KeyRotationError(
      `Publishing access key ${inputs.accessKeyId} to Secrets Manager secret "${inputs.secretId}" failed: ${messageOf(err)}. ` +
        `Check that the deployer may call secretsmanager:PutSecretValue and secretsmanager:CreateSecret on it.`,
      { cause: err },
    );
  } finally {
    client.destroy();
  }
}

export const publicationProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const failures: { property: string; reason: string }[] = [];
    if (typeof news.secretId !== "string" || news.secretId.trim() === "") {
      failures.push({
        property: "secretsManagerSecretId",
        reason:
          "secretsManagerSecretId is empty: set it to the name or ARN of the secret to publish the key to.",
      });
    }
    return { inputs: news, failures };
  },
  async diff(_id: string, olds: PublicationOutputs, news: PublicationInputs) {
    const replaces = olds.secretId !== news.secretId ? ["secretId"] : [];
    const changes =
      replaces.length > 0 ||
      olds.accessKeyId !== news.accessKeyId ||
      olds.secretAccessKey !== news.secretAccessKey;
    return { changes, replaces };
  },
  async create(inputs: PublicationInputs) {
    const outs = await publishKey(inputs);
    return { id: outs.secretArn || inputs.secretId, outs };
  },
  async update(_id: string, _olds: PublicationOutputs, news: PublicationInputs) {
    return { outs: await publishKey(news) };
  },
};

export interface SecretPublicationArgs {
  secretId: pulumi.Input<string>;
  userName: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

export class SecretPublication extends pulumi.dynamic.Resource {
  declare public readonly secretArn: pulumi.Output<string>;
  declare public readonly versionId: pulumi.Output<string>;

  constructor(name: string, args: SecretPublicationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      publicationProvider,
      name,
      { ...args, secretArn: undefined, versionId: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["secretAccessKey"] }),
      DYNAMIC_MODULE,
      PUBLICATION_TYPE,
    );
  }
}
