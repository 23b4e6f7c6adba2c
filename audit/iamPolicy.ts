/**
 * `pulumi-aws-key-rotation iam-policy`: the least-privilege IAM policy documents for the deployer
 * of the rotation (scoped to the named users and secrets; tag writes limited to this package's tag
 * keys) and for the audit command. Pure functions; the CLI prints them as JSON.
 */
import { parseArgs } from "util";
import { EXTERNAL_ID_PATTERN } from "../core/connection";
import { USER_NAME_PATTERN } from "../core/settings";
import { snsTopicArnFailure } from "../core/notifications";

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** A role's trust policy: who may assume it. */
export interface TrustPolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid: string;
    Effect: "Allow";
    Principal: { AWS: string };
    Action: "sts:AssumeRole";
    Condition?: Record<string, Record<string, string[]>>;
  }[];
}

/** What `--for rotation-role` and `--for audit-role` print: three documents. */
export interface RolePolicies {
  /** The permissions policy of the role in each member account. */
  rolePolicy: PolicyDocument;
  /** The role's trust policy, trusting the deployer's (or auditor's) principal. */
  trustPolicy: TrustPolicyDocument;
  /** The policy of the principal that assumes the roles. */
  deployerPolicy: PolicyDocument;
}

export interface RolePoliciesRequest {
  for: "rotation-role" | "audit-role";
  /** rotation-role: the IAM users whose keys are rotated in the member accounts. */
  users: string[];
  /** rotation-role: Secrets Manager secrets the current keys are published to. */
  secrets: string[];
  /** rotation-role: SNS topics the role publishes notifications to (the provider assumes the role for them too). */
  topics?: string[];
  /** The member accounts whose role the deployer may assume (required for rotation-role; audit-role default: any account). */
  accounts: string[];
  /** The role's name in every member account. Default `KeyRotation` (rotation-role), `KeyRotationAudit` (audit-role). */
  roleName?: string;
  /** The ARN of the principal (user or role) that deploys or audits, trusted by the roles. */
  trustedPrincipal: string;
  /** `o-...`: the trust policy requires the caller to be in this organization (aws:PrincipalOrgID). */
  organizationId?: string;
  /** The external id the trust policy requires (sts:ExternalId). */
  externalId?: string;
}

export const DEFAULT_ROTATION_ROLE_NAME = "KeyRotation";
export const DEFAULT_AUDIT_ROLE_POLICY_NAME = "KeyRotationAudit";
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam::\d{12}:(user|role)\/[\w+=,.@/-]{1,512}|iam::\d{12}:root)$/;

export interface PolicyRequest {
  /** `deployer` (default): what `pulumi up` of the rotation needs; `audit`: what the audit command needs. */
  for: "deployer" | "audit";
  /** IAM user names whose keys are rotated (deployer). */
  users: string[];
  /** Secrets Manager secret names or ARNs the current keys are published to (deployer). */
  secrets: string[];
  /** SNS topic ARNs that receive notifications (`notifySnsTopicArn`; deployer). Default: none. */
  topics?: string[];
  /** The AWS account id; `*` (any account) when not given. */
  account?: string;
}

const ACCOUNT = /^\d{12}$/;

function secretArn(secret: string, account: string): string {
  // Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
  return secret.startsWith("arn:") ? secret : `arn:aws:secretsmanager:*:${account}:secret:${secret}-??????`;
}

/** Checks the request; returns one message per problem, naming the option and the fix. */
export function policyRequestProblems(request: PolicyRequest): string[] {
  const problems: string[] = [];
  if (request.account !== undefined && !ACCOUNT.test(request.account)) {
    problems.push(`--account must be a 12-digit AWS account id; got "${request.account}".`);
  }
  if (request.for === "deployer") {
    if (request.users.length === 0)
      problems.push("--users is required: the IAM users whose keys are rotated (a,b).");
    for (const user of request.users) {
      if (!USER_NAME_PATTERN.test(user)) problems.push(`--users: "${user}" is not a valid IAM user name.`);
    }
    for (const topic of request.topics ?? []) {
      const f = snsTopicArnFailure(topic === "" ? "(empty)" : topic, "--sns-topic");
      if (f) problems.push(f.reason);
    }
  }
  return problems;
}

/** Checks a role request; one message per problem, naming the option and the fix. */
export function rolePoliciesProblems(request: RolePoliciesRequest): string[] {
  const problems: string[] = [];
  if (!PRINCIPAL_ARN.test(request.trustedPrincipal)) {
    problems.push(
      `--trusted-principal is required: the ARN of the user or role that ${request.for === "audit-role" ? "runs the audit" : "deploys"} ` +
        `(arn:aws:iam::<account>:user/<name> or :role/<name>; aws sts get-caller-identity shows it)${request.trustedPrincipal ? `; got "${request.trustedPrincipal}"` : ""}.`,
    );
  }
  if (request.for === "rotation-role") {
    if (request.accounts.length === 0)
      problems.push(
        "--accounts is required for rotation-role: the member account ids whose role the deployer assumes (a,b).",
      );
    if (request.users.length === 0)
      problems.push("--users is required: the IAM users whose keys are rotated in those accounts (a,b).");
    for (const user of request.users) {
      if (!USER_NAME_PATTERN.test(user)) problems.push(`--users: "${user}" is not a valid IAM user name.`);
    }
    for (const topic of request.topics ?? []) {
      const f = snsTopicArnFailure(topic === "" ? "(empty)" : topic, "--sns-topic");
      if (f) problems.push(f.reason);
    }
  }
  for (const account of request.accounts) {
    if (!ACCOUNT.test(account)) problems.push(`--accounts: "${account}" is not a 12-digit AWS account id.`);
  }
  if (new Set(request.accounts).size !== request.accounts.length)
    problems.push("--accounts names an account twice.");
  if (request.roleName !== undefined && !ROLE_NAME.test(request.roleName)) {
    problems.push(
      `--role-name "${request.roleName}" is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-); pass the name, not the ARN.`,
    );
  }
  if (request.organizationId !== undefined && !ORGANIZATION_ID.test(request.organizationId)) {
    problems.push(
      `--organization-id must look like o-abcd123456 (aws organizations describe-organization); got "${request.organizationId}".`,
    );
  }
  if (request.externalId !== undefined && !EXTERNAL_ID_PATTERN.test(request.externalId)) {
    problems.push("--external-id must be 2 to 1224 of A-Z a-z 0-9 +=,.@:/_-.");
  }
  return problems;
}

/**
 * The three documents for one role in every member account (see `rolePoliciesProblems`). The
 * role's permissions name users of any account (`arn:aws:iam::*:user/...`): IAM actions of a role
 * act only in the role's own account, so one document serves every member account.
 */
export function rolePolicies(request: RolePoliciesRequest): RolePolicies {
  const roleName =
    request.roleName ??
    (request.for === "rotation-role" ? DEFAULT_ROTATION_ROLE_NAME : DEFAULT_AUDIT_ROLE_POLICY_NAME);
  const rolePolicy =
    request.for === "rotation-role"
      ? iamPolicy({
          for: "deployer",
          users: request.users,
          secrets: request.secrets,
          ...(request.topics?.length ? { topics: request.topics } : {}),
        })
      : iamPolicy({ for: "audit", users: [], secrets: [] });
  const trustConditions: Record<string, string[]> = {};
  if (request.organizationId) trustConditions["aws:PrincipalOrgID"] = [request.organizationId];
  if (request.externalId) trustConditions["sts:ExternalId"] = [request.externalId];
  const trustPolicy: TrustPolicyDocument = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: request.for === "rotation-role" ? "TrustKeyRotationDeployer" : "TrustKeyRotationAuditor",
        Effect: "Allow",
        Principal: { AWS: request.trustedPrincipal },
        Action: "sts:AssumeRole",
        ...(Object.keys(trustConditions).length > 0 ? { Condition: { StringEquals: trustConditions } } : {}),
      },
    ],
  };
  const roleArns =
    request.accounts.length > 0
      ? request.accounts.map((a) => `arn:aws:iam::${a}:role/${roleName}`)
      : [`arn:aws:iam::*:role/${roleName}`];
  const deployerPolicy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: request.for === "rotation-role" ? "AssumeKeyRotationRoles" : "AssumeKeyRotationAuditRoles",
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Resource: roleArns,
        ...(request.organizationId && request.accounts.length === 0
          ? { Condition: { StringEquals: { "aws:ResourceOrgID": [request.organizationId] } } }
          : {}),
      },
    ],
  };
  if (request.for === "audit-role") {
    deployerPolicy.Statement.push({
      Sid: "ListOrganizationAccounts",
      Effect: "Allow",
      Action: [
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
      ],
      Resource: "*",
    });
  }
  return { rolePolicy, trustPolicy, deployerPolicy };
}

/** The policy document for the request (see `policyRequestProblems` for what it must satisfy). */
export function iamPolicy(request: PolicyRequest): PolicyDocument {
  const account = request.account ?? "*";
  if (request.for === "audit") {
    return {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ListUsersAndReport",
          Effect: "Allow",
          Action: ["iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:ListUsers"],
          Resource: "*",
        },
        {
          Sid: "ReadAccessKeys",
          Effect: "Allow",
          Action: ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags"],
          Resource: `arn:aws:iam::${account}:user/*`,
        },
      ],
    };
  }
  const users = request.users.map((u) => `arn:aws:iam::${account}:user/${u}`);
  const statements: PolicyStatement[] = [
    {
      Sid: "RotateAccessKeys",
      Effect: "Allow",
      Action: [
        "iam:CreateAccessKey",
        "iam:DeleteAccessKey",
        "iam:GetAccessKeyLastUsed",
        "iam:ListAccessKeys",
        "iam:ListUserTags",
        "iam:UpdateAccessKey",
      ],
      Resource: users,
    },
    {
      Sid: "TagKeySlots",
      Effect: "Allow",
      Action: ["iam:TagUser", "iam:UntagUser"],
      Resource: users,
      Condition: { "ForAllValues:StringLike": { "aws:TagKeys": ["keyrotation:*"] } },
    },
  ];
  if (request.secrets.length > 0) {
    const secrets = request.secrets.map((s) => secretArn(s, account));
    statements.push(
      {
        Sid: "PublishCurrentKey",
        Effect: "Allow",
        Action: [
          "secretsmanager:CreateSecret",
          "secretsmanager:DescribeSecret",
          "secretsmanager:PutSecretValue",
        ],
        Resource: secrets,
      },
      {
        Sid: "MarkPublishedSecret",
        Effect: "Allow",
        Action: ["secretsmanager:TagResource"],
        Resource: secrets,
        Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["keyrotation:owner"] } },
      },
    );
  }
  if ((request.topics ?? []).length > 0) {
    statements.push({
      Sid: "PublishNotifications",
      Effect: "Allow",
      Action: ["sns:Publish"],
      Resource: [...new Set(request.topics)],
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

export const IAM_POLICY_USAGE = `Usage: pulumi-aws-key-rotation iam-policy --users a,b [--secret ID]... [--sns-topic ARN]... [--account ID]
       pulumi-aws-key-rotation iam-policy --for audit [--account ID]
       pulumi-aws-key-rotation iam-policy --for rotation-role --accounts IDS --users a,b --trusted-principal ARN [--sns-topic ARN]...
       pulumi-aws-key-rotation iam-policy --for audit-role --trusted-principal ARN [--accounts IDS]

Prints the least-privilege IAM policy (JSON) for the deployer of the rotation (resources scoped to
the named users and secrets; tag writes limited to this package's tag keys), or for the audit.

Options:
  --for WHOM             deployer (default), audit, rotation-role or audit-role
  --users NAMES          IAM users whose keys are rotated, comma-separated (deployer, rotation-role; required)
  --secret ID            Secrets Manager secret name or ARN the key is published to; repeatable
  --sns-topic ARN        SNS topic that receives notifications (notifySnsTopicArn; deployer, rotation-role); repeatable
  --account ID           12-digit AWS account id for the ARNs (default: any account)

Roles in member accounts (rotation-role, audit-role; docs/accounts.md) print a JSON object with
rolePolicy (the role's permissions), trustPolicy (who may assume it) and deployerPolicy (what the
assuming principal needs: sts:AssumeRole on exactly those roles, and for the audit
organizations:ListAccounts):
  --accounts IDS         Member account ids, comma-separated (rotation-role: required; audit-role:
                         default any account of the organization)
  --role-name NAME       The role's name in each account (default ${DEFAULT_ROTATION_ROLE_NAME}; audit-role ${DEFAULT_AUDIT_ROLE_POLICY_NAME})
  --trusted-principal ARN  The user or role that deploys or audits (required)
  --organization-id ID   o-...: the trust policy requires aws:PrincipalOrgID to be this organization
  --external-id ID       The trust policy requires this sts:ExternalId
`;

/** The `iam-policy` command: prints the document; 0 on success, 2 on bad usage. */
export function iamPolicyCommand(
  argv: readonly string[],
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } },
): number {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        for: { type: "string" },
        users: { type: "string" },
        secret: { type: "string", multiple: true },
        "sns-topic": { type: "string", multiple: true },
        account: { type: "string" },
        accounts: { type: "string" },
        "role-name": { type: "string" },
        "trusted-principal": { type: "string" },
        "organization-id": { type: "string" },
        "external-id": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\nRun with --help for the options.\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(IAM_POLICY_USAGE);
    return 0;
  }
  const forWhom = (values.for as string | undefined) ?? "deployer";
  const list = (name: string) =>
    ((values[name] as string | undefined) ?? "")
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u !== "");
  const roleOnly = ["accounts", "role-name", "trusted-principal", "organization-id", "external-id"];
  if (forWhom === "rotation-role" || forWhom === "audit-role") {
    if (values.account !== undefined) {
      io.stderr.write(
        `error: --account applies to deployer and audit; for ${forWhom} name the member accounts with --accounts.\n`,
      );
      return 2;
    }
    const roleRequest: RolePoliciesRequest = {
      for: forWhom,
      users: list("users"),
      secrets: (values.secret as string[] | undefined) ?? [],
      ...(values["sns-topic"] !== undefined ? { topics: values["sns-topic"] as string[] } : {}),
      accounts: list("accounts"),
      trustedPrincipal: (values["trusted-principal"] as string | undefined) ?? "",
      ...(values["role-name"] !== undefined ? { roleName: values["role-name"] as string } : {}),
      ...(values["organization-id"] !== undefined
        ? { organizationId: values["organization-id"] as string }
        : {}),
      ...(values["external-id"] !== undefined ? { externalId: values["external-id"] as string } : {}),
    };
    if (
      forWhom === "audit-role" &&
      (roleRequest.users.length > 0 || roleRequest.secrets.length > 0 || roleRequest.topics !== undefined)
    ) {
      io.stderr.write(
        "error: --users, --secret and --sns-topic apply to rotation-role, not audit-role (the audit reads every user).\n",
      );
      return 2;
    }
    const roleProblems = rolePoliciesProblems(roleRequest);
    if (roleProblems.length > 0) {
      for (const p of roleProblems) io.stderr.write(`error: ${p}\n`);
      return 2;
    }
    io.stdout.write(`${JSON.stringify(rolePolicies(roleRequest), null, 2)}\n`);
    return 0;
  }
  if (forWhom !== "deployer" && forWhom !== "audit") {
    io.stderr.write(`error: --for must be deployer, audit, rotation-role or audit-role, not "${forWhom}".\n`);
    return 2;
  }
  for (const name of roleOnly) {
    if (values[name] !== undefined) {
      io.stderr.write(`error: --${name} applies to --for rotation-role or audit-role.\n`);
      return 2;
    }
  }
  const request: PolicyRequest = {
    for: forWhom,
    users: list("users"),
    secrets: (values.secret as string[] | undefined) ?? [],
    topics: (values["sns-topic"] as string[] | undefined) ?? [],
    ...(values.account !== undefined ? { account: values.account as string } : {}),
  };
  const problems = policyRequestProblems(request);
  if (problems.length > 0) {
    for (const p of problems) io.stderr.write(`error: ${p}\n`);
    return 2;
  }
  io.stdout.write(`${JSON.stringify(iamPolicy(request), null, 2)}\n`);
  return 0;
}
