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

/** One access key as 0.1.x deployed it: `pulumi-nodejs:dynamic/keyrotation:AccessKey` (still in old state). */
export const DYNAMIC_ACCESS_KEY_TOKEN = dynamicToken(ACCESS_KEY_TYPE);
/** The per-user schedule as 0.1.x deployed it: `pulumi-nodejs:dynamic/keyrotation:RotationSchedule`. */
export const DYNAMIC_SCHEDULE_TOKEN = dynamicToken(SCHEDULE_TYPE);
/** The publication as 0.1.x deployed it: `pulumi-nodejs:dynamic/keyrotation:SecretPublication`. */
export const DYNAMIC_PUBLICATION_TOKEN = dynamicToken(PUBLICATION_TYPE);
/** The provider package (plugin `keyrotation`) and the module of its resources: `keyrotation:iam:<type>`. */
export const PROVIDER_PACKAGE = "keyrotation";
export const PROVIDER_MODULE = "iam";
const providerToken = (type: string) => `${PROVIDER_PACKAGE}:${PROVIDER_MODULE}:${type}`;

/** One access key, served by the provider plugin: `keyrotation:iam:AccessKey`. */
export const ACCESS_KEY_TOKEN = providerToken(ACCESS_KEY_TYPE);
/** The per-user schedule, served by the provider plugin: `keyrotation:iam:RotationSchedule`. */
export const SCHEDULE_TOKEN = providerToken(SCHEDULE_TYPE);
/** The Secrets Manager publication, served by the provider plugin: `keyrotation:iam:SecretPublication`. */
export const PUBLICATION_TOKEN = providerToken(PUBLICATION_TYPE);
/** Every token a key resource of this package has had (the provider's, then 0.1.x's): tools know both. */
export const ACCESS_KEY_TOKENS: readonly string[] = [ACCESS_KEY_TOKEN, DYNAMIC_ACCESS_KEY_TOKEN];
export const SCHEDULE_TOKENS: readonly string[] = [SCHEDULE_TOKEN, DYNAMIC_SCHEDULE_TOKEN];
export const PUBLICATION_TOKENS: readonly string[] = [PUBLICATION_TOKEN, DYNAMIC_PUBLICATION_TOKEN];

/** The component: `keyrotation:iam:RotatingAccessKey`. */
export const ROTATING_ACCESS_KEY_TOKEN = "keyrotation:iam:RotatingAccessKey";
/** The engine's marker for an input value unknown at preview (what a provider's `check` receives). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** `aws.iam.AccessKey` from @pulumi/aws. */
export const AWS_ACCESS_KEY_TOKEN = "aws:iam/accessKey:AccessKey";
