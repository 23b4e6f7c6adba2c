/**
 * The pure parts of the organization audit: the accounts file, the role ARN tried in each account,
 * the command line's account options, and the per-account summary line.
 */
import * as assert from "assert";
import { parseCommand } from "../../audit/cli";
import { accountSummaryLine } from "../../audit/format";
import { AccountOutcome, auditRoleArn, parseAccountsFile } from "../../audit/organization";

describe("organization audit: accounts file", () => {
  const ok: [string, string, ReturnType<typeof parseAccountsFile>][] = [
    [
      "a YAML list of quoted ids",
      `- "012345678901"\n- '111111111111'\n`,
      [{ id: "012345678901" }, { id: "111111111111" }],
    ],
    [
      "an accounts: list of objects",
      `accounts:\n  - id: "111111111111"\n    name: payments\n    externalId: ext-1\n  - id: "222222222222"\n    roleArn: arn:aws:iam::222222222222:role/audit/KeyAudit\n`,
      [
        { id: "111111111111", name: "payments", externalId: "ext-1" },
        { id: "222222222222", roleArn: "arn:aws:iam::222222222222:role/audit/KeyAudit" },
      ],
    ],
    ["JSON", `{"accounts": [{"id": "333333333333", "name": "x"}]}`, [{ id: "333333333333", name: "x" }]],
  ];
  for (const [name, text, expected] of ok) {
    it(`reads ${name}`, () => assert.deepStrictEqual(parseAccountsFile(text, "a.yml"), expected));
  }

  const bad: [string, string, string][] = [
    ["an empty file", "", "--accounts a.yml must hold a non-empty list of accounts"],
    ["not YAML", "accounts: [", "--accounts a.yml is not YAML or JSON"],
    [
      "a number id",
      "- 12345678901\n",
      'accounts[0]: the account id 12345678901 is a number; write it as a quoted string ("012345678901")',
    ],
    ["a short id", '- "1234"\n', 'accounts[0]: id must be a 12-digit account id in quotes; got "1234".'],
    [
      "a duplicate",
      '- "111111111111"\n- id: "111111111111"\n',
      "accounts[1]: account 111111111111 is listed twice (also accounts[0]); keep one entry.",
    ],
    [
      "an unknown field",
      '- id: "111111111111"\n  role: x\n',
      'accounts[0]: unknown field "role" (allowed: id, name, roleArn, externalId).',
    ],
    [
      "a malformed role ARN",
      '- id: "111111111111"\n  roleArn: KeyAudit\n',
      'accounts[0] (111111111111): roleArn "KeyAudit" is not an IAM role ARN (arn:aws:iam::111111111111:role/<name>).',
    ],
    [
      "a role of another account",
      '- id: "111111111111"\n  roleArn: arn:aws:iam::222222222222:role/A\n',
      "accounts[0] (111111111111): roleArn arn:aws:iam::222222222222:role/A is a role of account 222222222222, not of 111111111111.",
    ],
    [
      "an empty name",
      '- id: "111111111111"\n  name: ""\n',
      "accounts[0] (111111111111): name must be a non-empty string.",
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, naming the entry`, () => {
      assert.throws(
        () => parseAccountsFile(text, "a.yml"),
        (err: Error) => err.name === "AccountsFileError" && err.message.includes(message),
      );
    });
  }

  it("reports every bad entry at once", () => {
    assert.throws(
      () => parseAccountsFile('- "1"\n- "2"\n- "111111111111"\n', "a.yml"),
      (err: Error) => (err.message.match(/accounts\[\d\]:/g) ?? []).length === 2,
    );
  });
});

describe("organization audit: role and command line", () => {
  it("the role tried: the entry's own ARN, else the role name in that account", () => {
    assert.strictEqual(
      auditRoleArn({ id: "111111111111" }, "OrganizationAccountAccessRole"),
      "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
    );
    assert.strictEqual(
      auditRoleArn({ id: "111111111111" }, "audit/KeyAudit"),
      "arn:aws:iam::111111111111:role/audit/KeyAudit",
    );
    assert.strictEqual(
      auditRoleArn({ id: "111111111111", roleArn: "arn:aws:iam::111111111111:role/Mine" }, "Other"),
      "arn:aws:iam::111111111111:role/Mine",
    );
  });

  it("parses --organization, --ou, --role-name, --external-id and --parallel with their defaults", () => {
    assert.deepStrictEqual(parseCommand(["audit", "--organization"]).accounts, {
      from: "organizations",
      roleName: "OrganizationAccountAccessRole",
      parallel: 4,
    });
    assert.deepStrictEqual(
      parseCommand([
        "audit",
        "--organization",
        "--ou",
        "ou-ab12-cdefgh12",
        "--role-name",
        "KeyRotationAudit",
        "--external-id",
        "ext-1",
        "--parallel",
        "8",
      ]).accounts,
      {
        from: "organizations",
        parentId: "ou-ab12-cdefgh12",
        roleName: "KeyRotationAudit",
        externalId: "ext-1",
        parallel: 8,
      },
    );
    assert.deepStrictEqual(parseCommand(["audit", "--accounts", "a.yml"]).accounts, {
      from: "file",
      file: "a.yml",
      roleName: "OrganizationAccountAccessRole",
      parallel: 4,
    });
    assert.strictEqual(parseCommand(["audit"]).accounts, undefined);
  });

  const usage: [string[], string][] = [
    [["audit", "--ou", "r-ab12"], "--ou selects accounts of the organization: add --organization."],
    [
      ["audit", "--organization", "--accounts", "a.yml"],
      "--organization and --accounts FILE both choose the accounts",
    ],
    [
      ["audit", "--role-name", "X"],
      "--role-name applies to many accounts: add --organization or --accounts FILE.",
    ],
    [["audit", "--external-id", "abc"], "--external-id applies to many accounts"],
    [
      ["audit", "--organization", "--parallel", "33"],
      '--parallel must be a whole number from 1 to 32, not "33".',
    ],
    [
      ["audit", "--organization", "--ou", "ou-x"],
      "--ou must be a root id (r-xxxx) or an organizational unit id",
    ],
    [["audit", "--organization", "--role-name", "role/"], '--role-name "role/" is not an IAM role name'],
    [["audit", "--organization", "--external-id", "a"], "--external-id must be 2 to 1224 of"],
  ];
  for (const [argv, message] of usage) {
    it(`refuses ${argv.slice(1).join(" ")}`, () => {
      assert.throws(
        () => parseCommand(argv),
        (err: Error) => err.name === "UsageError" && err.message.includes(message),
      );
    });
  }

  it("one summary line per account: counts, or why it could not be audited", () => {
    const audited: AccountOutcome = {
      accountId: "111111111111",
      accountName: "payments",
      roleArn: "arn:aws:iam::111111111111:role/R",
      status: "audited",
      summary: {
        users: 3,
        keys: 4,
        rotate: 1,
        delete: 1,
        ok: 2,
        exempt: 0,
        "rotation-stopped": 0,
        compliant: false,
      },
      source: "live",
      error: null,
      warnings: [],
      notFoundUsers: [],
    };
    assert.strictEqual(
      accountSummaryLine(audited),
      "111111111111 (payments): 3 users, 4 keys: 1 rotate, 1 delete, 0 exempt, 2 ok. NOT compliant.",
    );
    assert.strictEqual(
      accountSummaryLine({
        ...audited,
        accountName: null,
        status: "unreachable",
        summary: null,
        source: null,
        error: {
          step: "assume-role",
          name: "AccessDenied",
          message: "Assuming arn:aws:iam::111111111111:role/R failed: AccessDenied: no.",
        },
      }),
      "111111111111: UNREACHABLE (assume-role): Assuming arn:aws:iam::111111111111:role/R failed: AccessDenied: no.",
    );
  });
});
