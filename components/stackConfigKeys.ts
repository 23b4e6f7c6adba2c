/**
 * The ready project's own stack config keys (beside the rotation settings, whose defaults and
 * bounds live in core/settings.ts): what each means and its default, in one place for the
 * generated reference (docs/reference.md) and the checks of components/stackConfig.ts.
 */
export interface StackConfigKey {
  key: string;
  default: unknown;
  description: string;
}

export const STACK_CONFIG_KEYS: readonly StackConfigKey[] = [
  {
    key: "users",
    default: [],
    description:
      "IAM users (of the account the default provider reaches) whose keys are rotated; each must exist.",
  },
  {
    key: "stagger",
    default: true,
    description:
      "Spread the first rotations of the listed users over the period: the i-th user's first key is rotated `(i × round(0.382 × rotationDays)) mod rotationDays` days early.",
  },
  {
    key: "userSettings",
    default: {},
    description:
      "Per-user overrides, keyed by user name: any rotation setting, `staggerDays`, `secretsManagerSecretId`, `adoptExistingSecret` and `notifySnsTopicArn`.",
  },
  {
    key: "accounts",
    default: [],
    description:
      "Users in other accounts: entries `{ id, name, roleArn or roleName, externalId, users, userSettings, notifySnsTopicArn }`, one explicit provider per account (docs/accounts.md).",
  },
  {
    key: "roleName",
    default: null,
    description: "The role assumed in every account whose entry gives no `roleArn` or `roleName`.",
  },
  {
    key: "externalId",
    default: null,
    description: "The external id for every account whose entry gives none.",
  },
];

/** Settings of the component that the stack config takes per user only (`userSettings.<user>.<name>`). */
export const PER_USER_ONLY: readonly string[] = [
  "staggerDays",
  "secretsManagerSecretId",
  "adoptExistingSecret",
];
