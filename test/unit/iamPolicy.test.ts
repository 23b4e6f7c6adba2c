/**
 * `pulumi-aws-key-rotation iam-policy`: the least-privilege documents, exactly.
 */
import * as assert from "assert";
import { iamPolicy, iamPolicyCommand } from "../../audit/iamPolicy";

function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const code = iamPolicyCommand(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe("iam-policy", () => {
  it("the deployer's policy: key actions on the named users, tag writes only for keyrotation:* keys, the secrets", () => {
    const doc = iamPolicy({
      for: "deployer",
      users: ["ci-deployer", "app"],
      secrets: ["ci/key"],
      account: "123456789012",
    });
    const users = ["arn:aws:iam::123456789012:user/ci-deployer", "arn:aws:iam::123456789012:user/app"];
    const secrets = ["arn:aws:secretsmanager:*:123456789012:secret:ci/key-??????"];
    assert.deepStrictEqual(doc, {
      Version: "2012-10-17",
      Statement: [
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
      ],
    });
  });

  it("without secrets there is no Secrets Manager statement; without --account, any account; ARNs as given", () => {
    assert.deepStrictEqual(
      iamPolicy({ for: "deployer", users: ["a"], secrets: [] }).Statement.map((s) => [s.Sid, s.Resource]),
      [
        ["RotateAccessKeys", ["arn:aws:iam::*:user/a"]],
        ["TagKeySlots", ["arn:aws:iam::*:user/a"]],
      ],
    );
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/key-AbCdEf";
    assert.deepStrictEqual(
      iamPolicy({ for: "deployer", users: ["a"], secrets: [arn] }).Statement[2].Resource,
      [arn],
    );
  });

  it("with --sns-topic: sns:Publish on exactly those topics (notifySnsTopicArn), each once", () => {
    const topic = "arn:aws:sns:eu-west-1:123456789012:key-rotation";
    const fifo = "arn:aws:sns:eu-west-1:123456789012:key-rotation.fifo";
    const doc = iamPolicy({ for: "deployer", users: ["a"], secrets: [], topics: [topic, fifo, topic] });
    assert.deepStrictEqual(
      doc.Statement.map((s) => s.Sid),
      ["RotateAccessKeys", "TagKeySlots", "PublishNotifications"],
    );
    assert.deepStrictEqual(doc.Statement[2], {
      Sid: "PublishNotifications",
      Effect: "Allow",
      Action: ["sns:Publish"],
      Resource: [topic, fifo],
    });
    const printed = run(["--users", "a", "--sns-topic", topic]);
    assert.strictEqual(printed.code, 0, printed.stderr);
    assert.deepStrictEqual(JSON.parse(printed.stdout).Statement[2].Resource, [topic]);
    // The provider assumes the member account's role for the publish too: the role's policy has it.
    const role = run([
      "--for",
      "rotation-role",
      "--accounts",
      "111111111111",
      "--users",
      "a",
      "--trusted-principal",
      "arn:aws:iam::999999999999:role/ci-deployer",
      "--sns-topic",
      topic,
    ]);
    assert.strictEqual(role.code, 0, role.stderr);
    assert.deepStrictEqual(
      JSON.parse(role.stdout).rolePolicy,
      iamPolicy({ for: "deployer", users: ["a"], secrets: [], topics: [topic] }),
    );
  });

  it("the audit's policy: listing and the credential report on *, key reads on users", () => {
    assert.deepStrictEqual(
      iamPolicy({ for: "audit", users: [], secrets: [], account: "123456789012" }).Statement,
      [
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
          Resource: "arn:aws:iam::123456789012:user/*",
        },
      ],
    );
  });

  it("the command prints the JSON; bad usage exits 2 naming the option", () => {
    const ok = run(["--users", "a, b", "--secret", "s1", "--secret", "s2", "--account", "123456789012"]);
    assert.strictEqual(ok.code, 0, ok.stderr);
    const doc = JSON.parse(ok.stdout);
    assert.deepStrictEqual(doc.Statement[0].Resource, [
      "arn:aws:iam::123456789012:user/a",
      "arn:aws:iam::123456789012:user/b",
    ]);
    assert.strictEqual(doc.Statement[2].Resource.length, 2);
    const table: [string[], RegExp][] = [
      [[], /--users is required/],
      [["--users", "bad name"], /--users: "bad name" is not a valid IAM user name/],
      [["--users", "a", "--account", "12"], /--account must be a 12-digit AWS account id; got "12"/],
      [["--for", "everyone"], /--for must be deployer, audit, rotation-role or audit-role, not "everyone"/],
      [
        ["--users", "a", "--sns-topic", "arn:aws:sqs:us-east-1:123456789012:q"],
        /--sns-topic "arn:aws:sqs:us-east-1:123456789012:q" is not the ARN of an SNS topic: set --sns-topic to arn:aws:sns:<region>:<12-digit account>:<topic name>/,
      ],
      [["--nope"], /Unknown option '--nope'/],
    ];
    for (const [argv, message] of table) {
      const r = run(argv);
      assert.strictEqual(r.code, 2, argv.join(" "));
      assert.match(r.stderr, message);
      assert.strictEqual(r.stdout, "");
    }
    assert.strictEqual(run(["--for", "audit"]).code, 0);
  });
});

describe("iam-policy for roles in member accounts", () => {
  const deployer = "arn:aws:iam::999999999999:role/ci-deployer";

  it("rotation-role: the deployer's policy on the users as the role's, a trust policy for the deployer, AssumeRole on exactly those roles", () => {
    const docs = JSON.parse(
      run([
        "--for",
        "rotation-role",
        "--accounts",
        "111111111111,222222222222",
        "--users",
        "app",
        "--trusted-principal",
        deployer,
        "--organization-id",
        "o-abcdefghij",
        "--external-id",
        "ext-1",
      ]).stdout,
    );
    assert.deepStrictEqual(docs.rolePolicy, iamPolicy({ for: "deployer", users: ["app"], secrets: [] }));
    assert.deepStrictEqual(docs.trustPolicy, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "TrustKeyRotationDeployer",
          Effect: "Allow",
          Principal: { AWS: deployer },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:PrincipalOrgID": ["o-abcdefghij"], "sts:ExternalId": ["ext-1"] },
          },
        },
      ],
    });
    assert.deepStrictEqual(docs.deployerPolicy, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AssumeKeyRotationRoles",
          Effect: "Allow",
          Action: ["sts:AssumeRole"],
          Resource: [
            "arn:aws:iam::111111111111:role/KeyRotation",
            "arn:aws:iam::222222222222:role/KeyRotation",
          ],
        },
      ],
    });
  });

  it("audit-role: the audit's policy as the role's; the auditor may assume the role and list the organization's accounts", () => {
    const r = run([
      "--for",
      "audit-role",
      "--trusted-principal",
      deployer,
      "--role-name",
      "OrgAudit",
      "--organization-id",
      "o-abcdefghij",
    ]);
    assert.strictEqual(r.code, 0, r.stderr);
    const docs = JSON.parse(r.stdout);
    assert.deepStrictEqual(docs.rolePolicy, iamPolicy({ for: "audit", users: [], secrets: [] }));
    assert.deepStrictEqual(docs.trustPolicy.Statement[0].Condition, {
      StringEquals: { "aws:PrincipalOrgID": ["o-abcdefghij"] },
    });
    assert.deepStrictEqual(docs.deployerPolicy.Statement, [
      {
        Sid: "AssumeKeyRotationAuditRoles",
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Resource: ["arn:aws:iam::*:role/OrgAudit"],
        Condition: { StringEquals: { "aws:ResourceOrgID": ["o-abcdefghij"] } },
      },
      {
        Sid: "ListOrganizationAccounts",
        Effect: "Allow",
        Action: [
          "organizations:ListAccounts",
          "organizations:ListAccountsForParent",
          "organizations:ListOrganizationalUnitsForParent",
        ],
        Resource: "*",
      },
    ]);
    const listed = JSON.parse(
      run(["--for", "audit-role", "--trusted-principal", deployer, "--accounts", "111111111111"]).stdout,
    );
    assert.deepStrictEqual(listed.deployerPolicy.Statement[0].Resource, [
      "arn:aws:iam::111111111111:role/KeyRotationAudit",
    ]);
  });

  const errors: [string[], string][] = [
    [
      ["--for", "rotation-role", "--users", "a", "--accounts", "111111111111"],
      "--trusted-principal is required",
    ],
    [
      ["--for", "rotation-role", "--users", "a", "--trusted-principal", deployer],
      "--accounts is required for rotation-role",
    ],
    [
      ["--for", "rotation-role", "--accounts", "111111111111", "--trusted-principal", deployer],
      "--users is required",
    ],
    [
      ["--for", "audit-role", "--trusted-principal", "arn:aws:iam::1:user/x"],
      "--trusted-principal is required: the ARN of the user or role that runs the audit",
    ],
    [
      ["--for", "audit-role", "--trusted-principal", deployer, "--accounts", "12"],
      '--accounts: "12" is not a 12-digit AWS account id.',
    ],
    [
      ["--for", "audit-role", "--trusted-principal", deployer, "--organization-id", "org-1"],
      "--organization-id must look like o-abcd123456",
    ],
    [
      ["--for", "audit-role", "--trusted-principal", deployer, "--users", "a"],
      "--users, --secret and --sns-topic apply to rotation-role, not audit-role",
    ],
    [
      ["--for", "audit-role", "--trusted-principal", deployer, "--account", "111111111111"],
      "--account applies to deployer and audit",
    ],
    [["--for", "audit", "--role-name", "X"], "--role-name applies to --for rotation-role or audit-role."],
    [["--for", "roles"], '--for must be deployer, audit, rotation-role or audit-role, not "roles".'],
  ];
  for (const [argv, message] of errors) {
    it(`exit 2 for ${argv.join(" ")}`, () => {
      const r = run(argv);
      assert.strictEqual(r.code, 2);
      assert.strictEqual(r.stdout, "");
      assert.ok(r.stderr.includes(message), r.stderr);
    });
  }
});
