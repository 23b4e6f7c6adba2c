/**
 * The `keyrotation:iam:SecretPublication` resource as a program registers it. Its provider is in
 * secretPublication.ts; this module does not load it or the AWS SDK (see rotationScheduleResource.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { KeyRotationResource } from "./stored";
import { PUBLICATION_TYPE } from "../../core/tokens";

export interface SecretPublicationArgs {
  secretId: pulumi.Input<string>;
  /** Take over an existing secret this package did not create. Default false. */
  adoptExisting?: pulumi.Input<boolean>;
  userName: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

export class SecretPublication extends KeyRotationResource {
  declare public readonly secretArn: pulumi.Output<string>;
  declare public readonly versionId: pulumi.Output<string>;

  constructor(name: string, args: SecretPublicationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      PUBLICATION_TYPE,
      name,
      { ...args, secretArn: undefined, versionId: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["secretAccessKey"] }),
    );
  }
}
