/**
 * `pulumi-aws-key-rotation iam-policy`: the least-privilege IAM policy documents for the deployer
 * of the rotation (scoped to the named users and secrets; tag writes limited to this package's tag
 * keys) and for the audit command. Pure functions; the CLI prints them as JSON.
 */
import { parseArgs } from "util";
import { USER_NAME_PATTERN } from "../core/settings";

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

export interface PolicyRequest {
  /** `deployer` (default): what `pulumi up` of the rotation needs; `audit`: what the audit command needs. */
  for: "deployer" | "audit";
  /** IAM user names whose keys are rotated (deployer). */
  users: string[];
  /** Secrets Manager secret names or ARNs the current keys are published to (deployer). */
  secrets: string[];
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
  }
  return problems;
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
          Action: ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys"],
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
  return { Version: "2012-10-17", Statement: statements };
}

export const IAM_POLICY_USAGE = `Usage: pulumi-aws-key-rotation iam-policy --users a,b [--secret ID]... [--account ID]
       pulumi-aws-key-rotation iam-policy --for audit [--account ID]

Prints the least-privilege IAM policy (JSON) for the deployer of the rotation (resources scoped to
the named users and secrets; tag writes limited to this package's tag keys), or for the audit.

Options:
  --for deployer|audit   Whose policy (default deployer)
  --users NAMES          IAM users whose keys are rotated, comma-separated (deployer; required)
  --secret ID            Secrets Manager secret name or ARN the key is published to; repeatable
  --account ID           12-digit AWS account id for the ARNs (default: any account)
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
        account: { type: "string" },
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
  if (forWhom !== "deployer" && forWhom !== "audit") {
    io.stderr.write(`error: --for must be deployer or audit, not "${forWhom}".\n`);
    return 2;
  }
  const request: PolicyRequest = {
    for: forWhom,
    users: ((values.users as string | undefined) ?? "")
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u !== ""),
    secrets: (values.secret as string[] | undefined) ?? [],
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
