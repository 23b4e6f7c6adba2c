/**
 * The generated policies pass parliament (PyPI: pip install parliament), the IAM policy linter,
 * with no findings: actions exist, resources match each action's ARN format, conditions are valid.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { iamPolicy, PolicyRequest } from "../../audit/iamPolicy";

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
  it("deployer (with and without secrets, any account or one) and audit: no findings", () => {
    const requests: PolicyRequest[] = [
      { for: "deployer", users: ["ci-deployer", "app"], secrets: ["ci/key"], account: "123456789012" },
      { for: "deployer", users: ["a"], secrets: [] },
      {
        for: "deployer",
        users: ["a"],
        secrets: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/key-AbCdEf"],
      },
      { for: "audit", users: [], secrets: [] },
    ];
    assert.deepStrictEqual(parliament(requests.map(iamPolicy)), [[], [], [], []]);
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
