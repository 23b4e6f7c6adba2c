/**
 * A consumer of the package as users install it: `pulumi-aws-key-rotation` is resolved from this
 * project's node_modules (the upgrade test installs a packed tarball there), never from the
 * repository's sources. Only public API that the previous and the current build share is used
 * (the upgrade test and the fault suite run it).
 */
import * as pulumi from "@pulumi/pulumi";

/** The part of the public API used here, the same in every build the upgrade test installs. */
interface RotatingAccessKeyClass {
  new (
    name: string,
    args: {
      userName: string;
      verifyTimeoutSeconds?: number;
      forceDelete?: boolean;
      secretsManagerSecretId?: string;
      unmanagedKeys?: "fail" | "retire";
      /** Newer builds only; older ones ignore it. */
      adoptExistingSecret?: boolean;
    },
  ): {
    accessKeyId: pulumi.Output<string>;
    secretAccessKey: pulumi.Output<string>;
    previousAccessKeyId: pulumi.Output<string | undefined>;
    keys: pulumi.Output<unknown[]>;
    nextRotationDate: pulumi.Output<string>;
  };
}

// Required by package name, as a consumer would import it. (A typed `require`, because inside the
// repository, where `npm run lint` type-checks this file, the package name does not resolve.)
const { RotatingAccessKey } = require("pulumi-aws-key-rotation") as {
  RotatingAccessKey: RotatingAccessKeyClass;
};

const config = new pulumi.Config();
const key = new RotatingAccessKey("app", {
  userName: config.require("userName"),
  verifyTimeoutSeconds: config.getNumber("verifyTimeoutSeconds"),
  forceDelete: config.getBoolean("forceDelete"),
  secretsManagerSecretId: config.get("secretId"),
  unmanagedKeys: config.get("unmanagedKeys") as "fail" | "retire" | undefined,
  adoptExistingSecret: config.getBoolean("adoptExistingSecret"),
});

export const accessKeyId = key.accessKeyId;
export const previousAccessKeyId = key.previousAccessKeyId;
export const keys = key.keys;
export const nextRotationDate = key.nextRotationDate;
/** A Pulumi secret: the test reads it only to look for it in the state and the CLI's output. */
export const secretAccessKey = key.secretAccessKey;
