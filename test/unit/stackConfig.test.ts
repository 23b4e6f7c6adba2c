/**
 * The ready project's stack config: the `users` form and the `accounts` form, turned into plans
 * (resource names, providers, roles, per-user settings), and every bad entry named at preview.
 */
import * as assert from "assert";
import { planStack, planUsers, StackConfigInput } from "../../components/stackConfig";

const A = "111111111111";
const B = "222222222222";

describe("stack config: the users form", () => {
  it("plans one component per user, named by the user, staggered over the period", () => {
    const plan = planStack({ users: ["alice", "bob", "carol"], userSettings: { bob: { overlapDays: 3 } } });
    assert.deepStrictEqual(plan.accounts, []);
    assert.deepStrictEqual(
      plan.users.map((u) => [u.name, u.userName, u.args.staggerDays, u.args.overlapDays]),
      [
        ["alice", "alice", 0, 7],
        ["bob", "bob", 11, 3],
        ["carol", "carol", 22, 7],
      ],
    );
  });

  it("plans nothing when neither form is set", () => {
    assert.deepStrictEqual(planStack({}), { users: [], accounts: [] });
  });

  const bad: [string, StackConfigInput, string][] = [
    ["not a list", { users: "alice" }, "aws-key-rotation:users must be a list of IAM user names"],
    ["a duplicate", { users: ["alice", "alice"] }, `aws-key-rotation:users lists "alice" twice`],
    ["a bad name", { users: ["a/b"] }, `aws-key-rotation:users: "a/b" is not a valid IAM user name`],
    [
      "settings for an unlisted user",
      { users: ["alice"], userSettings: { bob: {} } },
      `aws-key-rotation:userSettings has settings for "bob", who is not in aws-key-rotation:users`,
    ],
    [
      "a bad per-user value",
      { users: ["alice"], userSettings: { alice: { rotationDays: 0 } } },
      "aws-key-rotation:userSettings.alice.rotationDays:",
    ],
    [
      "a bad stack-wide value",
      { users: ["alice"], rotationDays: 0 },
      "aws-key-rotation:rotationDays (user alice):",
    ],
  ];
  for (const [what, config, message] of bad) {
    it(`fails naming the setting for ${what}`, () => {
      assert.throws(
        () => planStack(config),
        (err: Error) => err.message.startsWith("Invalid stack config:\n") && err.message.includes(message),
      );
    });
  }
});

describe("stack config: the accounts form", () => {
  it("plans one provider per account and names components <account>/<user>", () => {
    const plan = planStack({
      roleName: "KeyRotation",
      externalId: "shared-external-id",
      users: ["deployer-app"],
      accounts: [
        { id: A, name: "prod", users: ["alice", "bob"], userSettings: { bob: { rotationDays: 45 } } },
        { id: B, roleArn: `arn:aws:iam::${B}:role/teams/Rotate`, externalId: "own", users: ["alice"] },
      ],
    });
    assert.deepStrictEqual(
      plan.users.map((u) => u.name),
      ["deployer-app"],
    );
    assert.deepStrictEqual(
      plan.accounts.map((a) => ({
        id: a.id,
        name: a.name,
        roleArn: a.roleArn,
        externalId: a.externalId,
        providerName: a.providerName,
        users: a.users.map((u) => [u.name, u.userName, u.args.rotationDays, u.args.staggerDays]),
      })),
      [
        {
          id: A,
          name: "prod",
          roleArn: `arn:aws:iam::${A}:role/KeyRotation`,
          externalId: "shared-external-id",
          providerName: `account-${A}`,
          users: [
            [`${A}/alice`, "alice", 30, 0],
            // Staggered by its place in its own account's list: 45 * 0.382, rounded.
            [`${A}/bob`, "bob", 45, 17],
          ],
        },
        {
          id: B,
          name: undefined,
          roleArn: `arn:aws:iam::${B}:role/teams/Rotate`,
          externalId: "own",
          providerName: `account-${B}`,
          users: [[`${B}/alice`, "alice", 30, 0]],
        },
      ],
    );
    assert.deepStrictEqual(
      planUsers({ roleName: "R", accounts: [{ id: A, users: ["alice"] }] }).map((u) => u.name),
      [`${A}/alice`],
    );
  });

  it("takes a 12-digit number as an id (YAML without quotes)", () => {
    const plan = planStack({ roleName: "R", accounts: [{ id: 123456789012, users: ["alice"] }] });
    assert.strictEqual(plan.accounts[0].id, "123456789012");
    assert.strictEqual(plan.accounts[0].roleArn, "arn:aws:iam::123456789012:role/R");
  });

  const bad: [string, unknown[], string[]][] = [
    [
      "a duplicate account",
      [
        { id: A, roleName: "R", users: ["alice"] },
        { id: A, roleName: "R", users: ["bob"] },
      ],
      [
        `aws-key-rotation:accounts[1] (account ${A}) repeats aws-key-rotation:accounts[0]: list each account once, with all its users.`,
      ],
    ],
    [
      "a malformed id",
      [{ id: "1234", roleName: "R", users: ["alice"] }],
      [`aws-key-rotation:accounts[0].id "1234" is not a 12-digit AWS account id`],
    ],
    [
      "an id that lost its leading zero",
      [{ id: 12345678901, roleName: "R", users: ["alice"] }],
      [
        `aws-key-rotation:accounts[0].id 12345678901 is not a 12-digit AWS account id: set it to the account's id as a quoted string`,
      ],
    ],
    ["a missing id", [{ roleName: "R", users: ["alice"] }], ["aws-key-rotation:accounts[0].id is missing"]],
    [
      "a malformed role ARN",
      [{ id: A, roleArn: "arn:aws:iam::role/x", users: ["alice"] }],
      [`aws-key-rotation:accounts[0] (account ${A}).roleArn "arn:aws:iam::role/x" is not an IAM role ARN`],
    ],
    [
      "a role ARN of another account",
      [{ id: A, roleArn: `arn:aws:iam::${B}:role/R`, users: ["alice"] }],
      [
        `aws-key-rotation:accounts[0] (account ${A}).roleArn "arn:aws:iam::${B}:role/R" is a role in account ${B}, not ${A}`,
      ],
    ],
    [
      "a malformed role name",
      [{ id: A, roleName: "a role", users: ["alice"] }],
      [`aws-key-rotation:accounts[0] (account ${A}).roleName "a role" is not an IAM role name`],
    ],
    [
      "no role at all",
      [{ id: A, users: ["alice"] }],
      [
        `aws-key-rotation:accounts[0] (account ${A}) names no role to assume: set aws-key-rotation:accounts[0].roleArn, aws-key-rotation:accounts[0].roleName, or aws-key-rotation:roleName for every account.`,
      ],
    ],
    [
      "a user listed twice in one account",
      [{ id: A, roleName: "R", users: ["alice", "alice"] }],
      [`aws-key-rotation:accounts[0].users lists "alice" twice: remove the duplicate.`],
    ],
    [
      "no users",
      [{ id: A, roleName: "R", users: [] }],
      [`aws-key-rotation:accounts[0] (account ${A}).users lists no users`],
    ],
    [
      "an unknown field",
      [{ id: A, roleName: "R", users: ["alice"], role: "x" }],
      [
        "aws-key-rotation:accounts[0].role is not a field of an account; use id, name, roleArn, roleName, externalId, users, userSettings, notifySnsTopicArn.",
      ],
    ],
    [
      "a bad per-user setting",
      [{ id: A, roleName: "R", users: ["alice"], userSettings: { alice: { overlapDays: -1 } } }],
      ["aws-key-rotation:accounts[0].userSettings.alice.overlapDays:"],
    ],
    [
      "an entry that is not an object",
      ["111111111111"],
      ["aws-key-rotation:accounts[0] must be an object with id, roleArn or roleName, and users"],
    ],
    [
      "two bad entries at once",
      [
        { id: "x", roleName: "R", users: ["alice"] },
        { id: B, roleName: "R", users: ["bob", "bob"] },
      ],
      [`aws-key-rotation:accounts[0].id "x"`, `aws-key-rotation:accounts[1].users lists "bob" twice`],
    ],
  ];
  for (const [what, accounts, messages] of bad) {
    it(`fails at preview naming the entry for ${what}`, () => {
      assert.throws(
        () => planStack({ accounts }),
        (err: Error) => {
          for (const m of messages) assert.ok(err.message.includes(m), `${m}\nin\n${err.message}`);
          return err.message.startsWith("Invalid stack config:\n");
        },
      );
    });
  }

  it("fails when accounts is not a list", () => {
    assert.throws(
      () => planStack({ accounts: { id: A } }),
      /aws-key-rotation:accounts must be a list of accounts/,
    );
  });

  it("lets the same user name live in two accounts", () => {
    const plan = planStack({
      roleName: "R",
      accounts: [
        { id: A, users: ["alice"] },
        { id: B, users: ["alice"] },
      ],
    });
    assert.deepStrictEqual(
      plan.accounts.flatMap((a) => a.users.map((u) => u.name)),
      [`${A}/alice`, `${B}/alice`],
    );
  });
});

describe("stack config: notifySnsTopicArn", () => {
  const T = (name: string) => `arn:aws:sns:eu-west-1:${A}:${name}`;
  const topicOf = (plan: ReturnType<typeof planStack>) =>
    Object.fromEntries(
      [...plan.users, ...plan.accounts.flatMap((a) => a.users)].map((u) => [
        u.name,
        u.args.notifySnsTopicArn,
      ]),
    );

  it("the user's own topic wins over the account's, which wins over the stack-wide one; \"\" turns it off", () => {
    const plan = planStack({
      notifySnsTopicArn: T("global"),
      roleName: "R",
      users: ["alice", "bob", "carol"],
      userSettings: { bob: { notifySnsTopicArn: T("bob") }, carol: { notifySnsTopicArn: "" } },
      accounts: [
        {
          id: A,
          notifySnsTopicArn: T("account"),
          users: ["dave", "erin"],
          userSettings: { erin: { notifySnsTopicArn: T("erin") } },
        },
        { id: B, users: ["frank"] },
        { id: "333333333333", notifySnsTopicArn: "", users: ["grace"] },
      ],
    });
    assert.deepStrictEqual(topicOf(plan), {
      alice: T("global"),
      bob: T("bob"),
      carol: undefined,
      [`${A}/dave`]: T("account"),
      [`${A}/erin`]: T("erin"),
      [`${B}/frank`]: T("global"),
      "333333333333/grace": undefined,
    });
    assert.strictEqual("notifySnsTopicArn" in plan.users[2].args, false);
  });

  it("without any topic, no user has one", () => {
    assert.deepStrictEqual(topicOf(planStack({ users: ["alice"] })), { alice: undefined });
  });

  const bad: [string, StackConfigInput, string][] = [
    [
      "stack-wide",
      { users: ["alice"], notifySnsTopicArn: "topic" },
      `aws-key-rotation:notifySnsTopicArn "topic"`,
    ],
    [
      "per user",
      {
        users: ["alice"],
        userSettings: { alice: { notifySnsTopicArn: "arn:aws:sqs:eu-west-1:111111111111:q" } },
      },
      `aws-key-rotation:userSettings.alice.notifySnsTopicArn "arn:aws:sqs:eu-west-1:111111111111:q"`,
    ],
    [
      "per account",
      { roleName: "R", accounts: [{ id: A, notifySnsTopicArn: 7, users: ["alice"] }] },
      `aws-key-rotation:accounts[0] (account ${A}).notifySnsTopicArn a number`,
    ],
    [
      "per user in an account",
      {
        roleName: "R",
        accounts: [{ id: A, users: ["alice"], userSettings: { alice: { notifySnsTopicArn: "x" } } }],
      },
      `aws-key-rotation:accounts[0].userSettings.alice.notifySnsTopicArn "x"`,
    ],
  ];
  for (const [where, config, named] of bad) {
    it(`a bad topic ${where} fails, naming the setting and the fix`, () => {
      assert.throws(
        () => planStack(config),
        (err: Error) =>
          err.message.startsWith("Invalid stack config:\n") &&
          err.message.includes(`${named} is not the ARN of an SNS topic: set `) &&
          err.message.includes("arn:aws:sns:<region>:<12-digit account>:<topic name>"),
      );
    });
  }
});
