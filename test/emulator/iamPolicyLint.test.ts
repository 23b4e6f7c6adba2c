/**
 * The generated policies pass parliament (PyPI: pip install parliament), the IAM policy linter,
 * with no findings: actions exist, resources match each action's ARN format, conditions are valid.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { iamPolicy, PolicyRequest, rolePolicies } from "../../audit/iamPolicy";

const PYTHON = process.env.KEYROTATION_PYTHON ?? "python3";
const LINT = `
import json, sys
from parliament import analyze_policy_string
for doc in json.load(sys.stdin):
    policy = analyze_policy_string(json.dumps(doc))
    print(json.dumps([[f.issue, f.detail] for f in policy.findings], default=str))
`;

function parliament(docs: unknown[]): unknown[][] {
  const r = spawnSync(PYTHON, ["-c", LINT], { input: JSON.stringify(docs), encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`parliament failed (install it with: pip install parliament):\n${r.stderr}`);
  }
  return r.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as unknown[]);
}

describe("iam-policy documents pass parliament", () => {
  it("deployer (with and without secrets and SNS topics, any account or one) and audit: no findings", () => {
    const requests: PolicyRequest[] = [
      { for: "deployer", users: ["ci-deployer", "app"], secrets: ["ci/key"], account: "123456789012" },
      {
        for: "deployer",
        users: ["a"],
        secrets: [],
        topics: [
          "arn:aws:sns:eu-west-1:123456789012:key-rotation",
          "arn:aws:sns:us-east-1:123456789012:key-rotation.fifo",
        ],
      },
      { for: "deployer", users: ["a"], secrets: [] },
      {
        for: "deployer",
        users: ["a"],
        secrets: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/key-AbCdEf"],
      },
      { for: "audit", users: [], secrets: [] },
    ];
    assert.deepStrictEqual(parliament(requests.map(iamPolicy)), [[], [], [], [], []]);
  });

  it("rotation-role and audit-role: the role's, the trust and the deployer's policies, no findings", () => {
    const trustedPrincipal = "arn:aws:iam::999999999999:role/ci-deployer";
    const docs = [
      rolePolicies({
        for: "rotation-role",
        users: ["app"],
        secrets: ["ci/key"],
        accounts: ["111111111111", "222222222222"],
        trustedPrincipal,
        organizationId: "o-abcdefghij",
        externalId: "ext-1",
      }),
      rolePolicies({
        for: "audit-role",
        users: [],
        secrets: [],
        accounts: [],
        trustedPrincipal,
        organizationId: "o-abcdefghij",
      }),
      rolePolicies({
        for: "audit-role",
        users: [],
        secrets: [],
        accounts: ["111111111111"],
        trustedPrincipal,
      }),
    ].flatMap((d) => [
      d.rolePolicy,
      // A trust policy is the role's resource policy, with no Resource of its own; parliament
      // lints identity policies, so it reads it with the role as the Resource (the action, the
      // resource type and the condition keys are checked; the Principal is not its concern).
      {
        ...d.trustPolicy,
        Statement: d.trustPolicy.Statement.map(({ Principal: _principal, ...st }) => ({
          ...st,
          Resource: "arn:aws:iam::111111111111:role/KeyRotation",
        })),
      },
      d.deployerPolicy,
    ]);
    assert.deepStrictEqual(
      parliament(docs),
      docs.map(() => []),
    );
  });

  it("parliament does find problems (so the check above can fail)", () => {
    const bad = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys"], Resource: "arn:aws:s3:::x" }],
    };
    const [findings] = parliament([bad]);
    assert.strictEqual((findings[0] as unknown[])[0], "RESOURCE_MISMATCH");
  });
});
