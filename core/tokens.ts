/**
 * Type tokens that other tools rely on (policies, the policy pack, state). One place for each; see
 * the README's names (type tokens, outputs, config keys).
 */

/** The module of every dynamic resource of this package: `pulumi-nodejs:dynamic/keyrotation:<type>`. */
export const DYNAMIC_MODULE = "keyrotation";

/** Dynamic resource type names (the last part of the token). */
export const ACCESS_KEY_TYPE = "AccessKey";
export const SCHEDULE_TYPE = "RotationSchedule";
export const PUBLICATION_TYPE = "SecretPublication";

const dynamicToken = (type: string) => `pulumi-nodejs:dynamic/${DYNAMIC_MODULE}:${type}`;

/** One access key: `pulumi-nodejs:dynamic/keyrotation:AccessKey`. */
export const ACCESS_KEY_TOKEN = dynamicToken(ACCESS_KEY_TYPE);
/** The per-user schedule: `pulumi-nodejs:dynamic/keyrotation:RotationSchedule`. */
export const SCHEDULE_TOKEN = dynamicToken(SCHEDULE_TYPE);
/** The Secrets Manager publication: `pulumi-nodejs:dynamic/keyrotation:SecretPublication`. */
export const PUBLICATION_TOKEN = dynamicToken(PUBLICATION_TYPE);
/** The component: `keyrotation:iam:RotatingAccessKey`. */
export const ROTATING_ACCESS_KEY_TOKEN = "keyrotation:iam:RotatingAccessKey";
/** The engine's marker for an input value unknown at preview (what a provider's `check` receives). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** `aws.iam.AccessKey` from @pulumi/aws. */
export const AWS_ACCESS_KEY_TOKEN = "aws:iam/accessKey:AccessKey";
