/**
 * `Provider`: an explicit `keyrotation` provider, to pick the account and credentials of the
 * resources given it as `provider` (or, for a RotatingAccessKey, `providers: [p]`). Without one,
 * the default provider reads `pulumi config set keyrotation:<name>`, and with nothing configured the
 * environment decides (the default credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL_*`).
 */
import * as pulumi from "@pulumi/pulumi";
import { PROVIDER_PACKAGE } from "../core/tokens";
import { PACKAGE_VERSION } from "../provider/version";

/** A role that the provider assumes for every AWS call (STS AssumeRole with the base credentials). */
export interface AssumeRoleArgs {
  /** ARN of the role, `arn:aws:iam::<12-digit account>:role/<name>`. */
  roleArn: pulumi.Input<string>;
  /** The external id the role's trust policy requires. Default: none. */
  externalId?: pulumi.Input<string>;
  /** Role session name, 2 to 64 of `[\w+=,.@-]`. Default `pulumi-keyrotation`. */
  sessionName?: pulumi.Input<string>;
  /** Session duration in seconds, 900 to 43200. Default 3600. */
  durationSeconds?: pulumi.Input<number>;
}

export interface ProviderArgs {
  /** Signing region (IAM is global). Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then us-east-1. */
  region?: pulumi.Input<string>;
  /** A named profile of the shared AWS config files for the base credentials. Default: the default credential chain. */
  profile?: pulumi.Input<string>;
  /** A role to assume for every call, for example in another account. Default: none. */
  assumeRole?: pulumi.Input<AssumeRoleArgs>;
}

export class Provider extends pulumi.ProviderResource {
  constructor(name: string, args: ProviderArgs = {}, opts?: pulumi.ResourceOptions) {
    super(
      PROVIDER_PACKAGE,
      name,
      {
        region: args.region,
        profile: args.profile,
        // As every generated SDK sends it: objects as JSON text (the provider reads either form).
        assumeRole:
          args.assumeRole === undefined
            ? undefined
            : pulumi.output(args.assumeRole).apply((r) => JSON.stringify(r)),
      },
      pulumi.mergeOptions(opts, { version: PACKAGE_VERSION }),
    );
  }
}
