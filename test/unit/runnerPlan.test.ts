/**
 * The runner's plan: a config file's users split into stacks of at most N per scope, users kept
 * where the stacks' state holds them, stagger offsets of the whole list, and bad input named.
 */
import * as assert from "assert";
import { classifyFailure, exitCodeOf } from "../../runner/classify";
import { planRun, readRunnerConfig, RunnerConfig, RunnerUsageError } from "../../runner/plan";

const A = "111111111111";

function config(map: Record<string, unknown>): RunnerConfig {
  return readRunnerConfig({ config: map }, "runner.yaml");
}

const none = new Map<string, Set<string>>();

describe("runner plan", () => {
  it("splits each scope into stacks of at most N, in config order", () => {
    const plan = planRun(
      config({
        "aws-key-rotation:users": ["u1", "u2", "u3", "u4", "u5"],
        "aws-key-rotation:roleName": "KeyRotation",
        "aws-key-rotation:accounts": [{ id: A, name: "prod", users: ["a1", "a2"] }],
        "keyrotation:region": "eu-west-1",
      }),
      { prefix: "kr", maxUsersPerStack: 2, existing: none },
    );
    assert.deepStrictEqual(
      plan.stacks.map((s) => [s.name, s.scope, s.users, s.isNew]),
      [
        [`kr-${A}-1`, A, [`${A}/a1`, `${A}/a2`], true],
        ["kr-default-1", "default", ["u1", "u2"], true],
        ["kr-default-2", "default", ["u3", "u4"], true],
        ["kr-default-3", "default", ["u5"], true],
      ],
    );
    // Each stack's config: shared settings, its users, the stagger of the whole list, pass-through keys.
    assert.deepStrictEqual(plan.stacks[2].config, {
      "keyrotation:region": "eu-west-1",
      "aws-key-rotation:roleName": "KeyRotation",
      "aws-key-rotation:users": ["u3", "u4"],
      "aws-key-rotation:userSettings": { u3: { staggerDays: 22 }, u4: { staggerDays: 3 } },
    });
    assert.deepStrictEqual(plan.stacks[0].config["aws-key-rotation:accounts"], [
      {
        id: A,
        name: "prod",
        users: ["a1", "a2"],
        userSettings: { a1: { staggerDays: 0 }, a2: { staggerDays: 11 } },
      },
    ]);
  });

  it("keeps users where the state holds them; adding users never moves one", () => {
    const before = planRun(config({ "aws-key-rotation:users": ["u1", "u2", "u3"] }), {
      prefix: "kr",
      maxUsersPerStack: 2,
      existing: none,
    });
    const existing = new Map(before.stacks.map((s) => [s.name, new Set(s.users)]));
    // Users added before, between and after the old ones, and one removed (u2).
    const after = planRun(
      config({ "aws-key-rotation:users": ["new0", "u1", "u3", "new1", "new2", "new3"] }),
      {
        prefix: "kr",
        maxUsersPerStack: 2,
        existing,
      },
    );
    assert.deepStrictEqual(
      after.stacks.map((s) => [s.name, s.users, s.isNew]),
      [
        ["kr-default-1", ["new0", "u1"], false],
        ["kr-default-2", ["u3", "new1"], false],
        ["kr-default-3", ["new2", "new3"], true],
      ],
    );
    for (const s of before.stacks) {
      for (const u of s.users.filter((x) => x !== "u2")) {
        assert.ok(after.stacks.find((t) => t.name === s.name)?.users.includes(u), `${u} stays in ${s.name}`);
      }
    }
  });

  it("takes over a stack deployed by hand (named PREFIX) with its users, whatever their number", () => {
    const plan = planRun(config({ "aws-key-rotation:users": ["u1", "u2", "u3", "u4"] }), {
      prefix: "prod",
      maxUsersPerStack: 2,
      existing: new Map([
        ["prod", new Set(["u1", "u2", "u3"])],
        ["prod-old", new Set(["gone"])],
      ]),
    });
    assert.deepStrictEqual(
      plan.stacks.map((s) => [s.name, s.users]),
      [
        ["prod", ["u1", "u2", "u3"]],
        ["prod-default-1", ["u4"]],
      ],
    );
    assert.deepStrictEqual(plan.untouched, ["prod-old"]);
    // The stagger of the whole list, as the hand-deployed stack had it: nothing changes on takeover.
    assert.deepStrictEqual(plan.stacks[0].config["aws-key-rotation:userSettings"], {
      u1: { staggerDays: 0 },
      u2: { staggerDays: 11 },
      u3: { staggerDays: 22 },
    });
  });

  it("keeps a user's own settings and honours stagger false", () => {
    const plan = planRun(
      config({
        "aws-key-rotation:users": ["u1", "u2"],
        "aws-key-rotation:stagger": false,
        "aws-key-rotation:userSettings": { u2: { rotationDays: 45, staggerDays: 5 } },
      }),
      { prefix: "kr", maxUsersPerStack: 10, existing: none },
    );
    assert.deepStrictEqual(plan.stacks[0].config, {
      "aws-key-rotation:stagger": false,
      "aws-key-rotation:users": ["u1", "u2"],
      "aws-key-rotation:userSettings": { u2: { rotationDays: 45, staggerDays: 5 } },
    });
  });

  it("passes notifySnsTopicArn on: stack-wide, per account and per user, validated like the ready project", () => {
    const topic = (name: string) => `arn:aws:sns:eu-west-1:${A}:${name}`;
    const plan = planRun(
      config({
        "aws-key-rotation:users": ["u1", "u2"],
        "aws-key-rotation:stagger": false,
        "aws-key-rotation:notifySnsTopicArn": topic("global"),
        "aws-key-rotation:userSettings": { u2: { notifySnsTopicArn: topic("u2") } },
        "aws-key-rotation:roleName": "R",
        "aws-key-rotation:accounts": [{ id: A, notifySnsTopicArn: topic("account"), users: ["a1"] }],
      }),
      { prefix: "kr", maxUsersPerStack: 10, existing: none },
    );
    assert.deepStrictEqual(
      plan.stacks.map((s) => s.config),
      [
        {
          "aws-key-rotation:stagger": false,
          "aws-key-rotation:notifySnsTopicArn": topic("global"),
          "aws-key-rotation:roleName": "R",
          "aws-key-rotation:accounts": [{ id: A, notifySnsTopicArn: topic("account"), users: ["a1"] }],
        },
        {
          "aws-key-rotation:stagger": false,
          "aws-key-rotation:notifySnsTopicArn": topic("global"),
          "aws-key-rotation:roleName": "R",
          "aws-key-rotation:users": ["u1", "u2"],
          "aws-key-rotation:userSettings": { u2: { notifySnsTopicArn: topic("u2") } },
        },
      ],
    );
    assert.throws(
      () =>
        planRun(config({ "aws-key-rotation:users": ["u1"], "aws-key-rotation:notifySnsTopicArn": "t" }), {
          prefix: "kr",
          maxUsersPerStack: 10,
          existing: none,
        }),
      /aws-key-rotation:notifySnsTopicArn "t" is not the ARN of an SNS topic/,
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ["no config map", { users: ["a"] }, /--config runner.yaml has no config: map/],
    [
      "an encrypted value",
      { config: { "aws-key-rotation:externalId": { secure: "AAAA" } } },
      /aws-key-rotation:externalId is encrypted/,
    ],
    [
      "a key without namespace",
      { config: { users: ["a"] } },
      /users has no namespace; write aws-key-rotation:users/,
    ],
  ];
  for (const [what, parsed, message] of bad) {
    it(`refuses ${what}, naming it`, () => {
      assert.throws(
        () => readRunnerConfig(parsed, "runner.yaml"),
        (err: Error) => err instanceof RunnerUsageError && message.test(err.message),
      );
    });
  }

  it("refuses a bad entry before any stack is touched, as the ready project does", () => {
    assert.throws(
      () =>
        planRun(config({ "aws-key-rotation:users": ["a", "a"] }), {
          prefix: "kr",
          maxUsersPerStack: 2,
          existing: none,
        }),
      /aws-key-rotation:users lists "a" twice/,
    );
    assert.throws(
      () =>
        planRun(config({ "aws-key-rotation:users": ["a"] }), {
          prefix: "a b",
          maxUsersPerStack: 2,
          existing: none,
        }),
      /--stack-prefix "a b" is not a stack name/,
    );
  });
});

describe("runner failure kinds and exit codes", () => {
  const cases: [string, string][] = [
    ['Refusing to delete access key AKIAEXAMPLE of IAM user "u": it was last used ...', "action-needed"],
    ["Invalid stack config:\n  - aws-key-rotation:rotationDays ...", "action-needed"],
    ["the stack is currently locked by 1 lock(s)", "action-needed"],
    [
      "Assuming keyrotation:assumeRole.roleArn arn:aws:iam::111111111111:role/R failed: AccessDenied",
      "unreachable",
    ],
    ["ThrottlingException: Rate exceeded", "retry"],
    ["connect ECONNREFUSED 127.0.0.1:5000", "retry"],
    ["something else entirely", "failed"],
  ];
  for (const [text, kind] of cases) {
    it(`${kind}: ${text.slice(0, 50)}`, () => assert.strictEqual(classifyFailure(text), kind));
  }

  it("a person wins over other failures, which win over unreachable, which wins over retry", () => {
    assert.strictEqual(exitCodeOf(["retry", "action-needed", "failed"]), 1);
    assert.strictEqual(exitCodeOf(["retry", "failed", "unreachable"]), 5);
    assert.strictEqual(exitCodeOf(["retry", "unreachable"]), 3);
    assert.strictEqual(exitCodeOf(["retry", "retry"]), 4);
    assert.strictEqual(exitCodeOf([]), 0);
  });
});
