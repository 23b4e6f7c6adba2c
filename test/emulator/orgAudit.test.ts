/**
 * The audit of an AWS Organization against the emulator's accounts: an organization of 27 accounts
 * (the management account and 26 members, five of them under an OU with a child OU), users with
 * stale and fresh keys spread over them, one account whose role is missing (AWS refuses
 * AssumeRole; moto does not check that a role exists, so the auditor's policy denies it there as
 * AWS would) and one whose role denies every IAM call. IAM authorization is enforced for the audit
 * (moto's own, switched on through the launcher's /_auth once the organization is set up).
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import * as org from "@aws-sdk/client-organizations";
import * as sts from "@aws-sdk/client-sts";
import { parse } from "csv-parse/sync";
import { AuditResult } from "../../audit/audit";
import { CliIo, main } from "../../audit/cli";
import { ORGANIZATION_CSV_COLUMNS } from "../../audit/format";
import { OrganizationAuditResult } from "../../audit/organization";
import { Finding } from "../../audit/verdict";
import { AuthEmulator, startAuthEmulator } from "../support/moto";
import { registerSecret } from "../support/secretGuard";
import { iamPolicy, PolicyDocument, rolePolicies } from "../../audit/iamPolicy";
import { newestSourceMtime } from "../../core/build";

const DAY = 86_400_000;
const T0 = new Date(Math.ceil(Date.now() / DAY) * DAY + 3_600_000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const AUDIT_AT = at(100.5);
const MEMBERS = 26;
const ROLE = "OrganizationAccountAccessRole";
const ROOT = path.resolve(__dirname, "../..");
const ENDPOINT_VARS = [
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_IAM",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL_ORGANIZATIONS",
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
];
const CREDENTIAL_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a finding says, for comparing an account's findings with its single-account audit. */
const judged = (f: Finding) => [
  f.userName,
  f.accessKeyId,
  f.status,
  f.createDate,
  f.ageDays,
  f.verdict,
  f.reason,
  f.nextStep,
];

/**
 * The document as moto can evaluate it: moto authorizes IAM calls against Resource "*" (FACTS.md),
 * so IAM statements scoped to user ARNs would deny everything there; their scoping is checked on
 * the documents themselves (test/unit/iamPolicy.test.ts, parliament). sts:AssumeRole statements
 * keep their role ARNs, which moto does evaluate.
 */
function widenIam(doc: PolicyDocument): PolicyDocument {
  return {
    ...doc,
    Statement: doc.Statement.map((st) =>
      st.Action.every((a) => a.startsWith("iam:")) ? { ...st, Resource: "*" } : st,
    ),
  };
}

describe("audit of an AWS Organization (27 emulated accounts, IAM authorization enforced)", function () {
  this.timeout(180_000);
  let emu: AuthEmulator;
  let auditor: Creds;
  const saved: Record<string, string | undefined> = {};
  let management = "";
  const members: string[] = [];
  let missingRole = "";
  let denyingRole = "";
  let ouAccounts: string[] = [];
  let ouId = "";
  /** account -> user -> "stale" | "fresh" */
  const plan = new Map<string, Map<string, "stale" | "fresh">>();

  const config = (creds?: Creds) => ({
    region: "us-east-1",
    endpoint: emu.endpoint,
    credentials: creds ?? { accessKeyId: "AKIAEMULATORADMIN000", secretAccessKey: "emulator-dummy" },
  });

  async function assume(account: string, creds?: Creds): Promise<Creds> {
    const client = new sts.STSClient(config(creds));
    try {
      const { Credentials: c } = await client.send(
        new sts.AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${account}:role/${ROLE}`,
          RoleSessionName: "setup",
        }),
      );
      assert.ok(c?.AccessKeyId && c.SecretAccessKey);
      registerSecret(c.SecretAccessKey);
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    } finally {
      client.destroy();
    }
  }

  function pointEnvAt(creds: Creds): void {
    for (const name of ENDPOINT_VARS) process.env[name] = emu.endpoint;
    delete process.env.AWS_PROFILE;
    process.env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
    if (creds.sessionToken) process.env.AWS_SESSION_TOKEN = creds.sessionToken;
    else delete process.env.AWS_SESSION_TOKEN;
    process.env.KEYROTATION_NOW = AUDIT_AT.toISOString();
  }

  async function run(args: string[], creds: Creds = auditor, extra: Partial<CliIo> = {}): Promise<Run> {
    pointEnvAt(creds);
    let stdout = "";
    let stderr = "";
    const code = await main(args, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { isTTY: false, write: (s: string) => (stderr += s) },
      env: process.env,
      ...extra,
    });
    return { code, stdout, stderr };
  }

  async function orgJson(args: string[]): Promise<{ run: Run; result: OrganizationAuditResult }> {
    const r = await run(["audit", ...args, "--source", "live", "--format", "json"]);
    assert.ok(r.stdout.startsWith("{"), `no JSON on stdout (exit ${r.code}): ${r.stderr}`);
    return { run: r, result: JSON.parse(r.stdout) as OrganizationAuditResult };
  }

  async function seedAccount(account: string, creds: Creds | undefined, index: number): Promise<void> {
    const client = new iam.IAMClient(config(creds));
    const users = new Map<string, "stale" | "fresh">();
    try {
      for (let j = 0; j < (index % 3) + 1; j++) {
        const userName = `app-${index}-${j}`;
        users.set(userName, (index + j) % 4 === 0 ? "stale" : "fresh");
        await client.send(new iam.CreateUserCommand({ UserName: userName }));
      }
      for (const [age, day] of [
        ["stale", 0],
        ["fresh", 95],
      ] as const) {
        await emu.setClock(at(day));
        for (const [userName, kind] of users) {
          if (kind !== age) continue;
          const out = await client.send(new iam.CreateAccessKeyCommand({ UserName: userName }));
          registerSecret(out.AccessKey?.SecretAccessKey);
        }
      }
    } finally {
      client.destroy();
    }
    plan.set(account, users);
  }

  before(async function () {
    for (const name of [...ENDPOINT_VARS, ...CREDENTIAL_VARS, "KEYROTATION_NOW"])
      saved[name] = process.env[name];
    emu = await startAuthEmulator(1_000_000_000);
    const admin = new iam.IAMClient(config());
    const orgs = new org.OrganizationsClient(config());
    try {
      const created = await orgs.send(new org.CreateOrganizationCommand({ FeatureSet: "ALL" }));
      management = created.Organization?.MasterAccountId ?? "";
      assert.match(management, /^\d{12}$/);
      for (let i = 0; i < MEMBERS; i++) {
        const out = await orgs.send(
          new org.CreateAccountCommand({ AccountName: `member-${i}`, Email: `member-${i}@example.com` }),
        );
        members.push(out.CreateAccountStatus?.AccountId ?? "");
      }
      missingRole = members[3];
      denyingRole = members[7];
      // Five accounts under an OU: three in it, two in a child OU of it.
      const roots = await orgs.send(new org.ListRootsCommand({}));
      const rootId = roots.Roots?.[0]?.Id ?? "";
      const ou = await orgs.send(
        new org.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "workloads" }),
      );
      ouId = ou.OrganizationalUnit?.Id ?? "";
      const child = await orgs.send(
        new org.CreateOrganizationalUnitCommand({ ParentId: ouId, Name: "batch" }),
      );
      ouAccounts = members.slice(10, 15);
      for (const [i, account] of ouAccounts.entries()) {
        await orgs.send(
          new org.MoveAccountCommand({
            AccountId: account,
            SourceParentId: rootId,
            DestinationParentId: i < 3 ? ouId : (child.OrganizationalUnit?.Id ?? ""),
          }),
        );
      }
      // The auditor: a user of the management account with what iam-policy --for audit-role prints
      // for the deployer, and a refusal of the missing role (what AWS answers for a role that is not there);
      // each member's role gets the printed role policy.
      const printed = rolePolicies({
        for: "audit-role",
        users: [],
        secrets: [],
        accounts: [],
        roleName: ROLE,
        trustedPrincipal: `arn:aws:iam::${management}:user/org-auditor`,
      });
      await admin.send(new iam.CreateUserCommand({ UserName: "org-auditor" }));
      await admin.send(
        new iam.PutUserPolicyCommand({
          UserName: "org-auditor",
          PolicyName: "audit",
          PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              ...printed.deployerPolicy.Statement,
              // Its own account is audited with its own credentials: iam-policy --for audit.
              ...widenIam(iamPolicy({ for: "audit", users: [], secrets: [] })).Statement,
              {
                Effect: "Deny",
                Action: "sts:AssumeRole",
                Resource: `arn:aws:iam::${missingRole}:role/${ROLE}`,
              },
            ],
          }),
        }),
      );
      await seedAccount(management, undefined, 0);
      // (made at day 95, after the seeding: a fresh key of the management account)
      const key = await admin.send(new iam.CreateAccessKeyCommand({ UserName: "org-auditor" }));
      registerSecret(key.AccessKey?.SecretAccessKey);
      auditor = {
        accessKeyId: key.AccessKey?.AccessKeyId ?? "",
        secretAccessKey: key.AccessKey?.SecretAccessKey ?? "",
      };
      plan.get(management)?.set("org-auditor", "fresh");
      for (const [i, account] of members.entries()) {
        const creds = await assume(account);
        const client = new iam.IAMClient(config(creds));
        try {
          if (account === missingRole) {
            await client.send(new iam.DeleteRoleCommand({ RoleName: ROLE }));
          } else {
            await client.send(
              new iam.PutRolePolicyCommand({
                RoleName: ROLE,
                PolicyName: "audit",
                PolicyDocument: JSON.stringify(
                  account === denyingRole
                    ? {
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Deny", Action: "iam:*", Resource: "*" }],
                      }
                    : widenIam(printed.rolePolicy),
                ),
              }),
            );
          }
        } finally {
          client.destroy();
        }
        await seedAccount(account, creds, i + 1);
      }
    } finally {
      admin.destroy();
      orgs.destroy();
    }
    await emu.setClock(AUDIT_AT);
    const enforced = await fetch(`${emu.endpoint}/_auth`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ enforce: true }),
    });
    assert.strictEqual(enforced.status, 200);
  });

  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    emu?.stop();
  });

  /** What the seeding plan says each reachable account must show. */
  function expected(account: string): { users: number; rotate: number; ok: number } {
    const users = [...(plan.get(account) ?? new Map()).values()];
    return {
      users: users.length,
      rotate: users.filter((k) => k === "stale").length,
      ok: users.filter((k) => k === "fresh").length,
    };
  }

  it("audits every active account, reports the two it cannot reach with the role and the AWS error, exit 3", async () => {
    const { run: r, result } = await orgJson(["--organization"]);
    assert.strictEqual(r.code, 3, r.stderr);
    assert.strictEqual(result.kind, "organization");
    assert.deepStrictEqual(
      [result.summary.accounts, result.summary.audited, result.summary.unreachable],
      [27, 25, 2],
    );
    const reachable = [management, ...members].filter((a) => a !== missingRole && a !== denyingRole);
    const totals = reachable
      .map(expected)
      .reduce((t, e) => ({ users: t.users + e.users, rotate: t.rotate + e.rotate, ok: t.ok + e.ok }), {
        users: 0,
        rotate: 0,
        ok: 0,
      });
    assert.deepStrictEqual(
      [
        result.summary.users,
        result.summary.keys,
        result.summary.rotate,
        result.summary.ok,
        result.summary.delete,
      ],
      [totals.users, totals.users, totals.rotate, totals.ok, 0],
    );
    assert.ok(totals.rotate >= 8 && totals.ok >= 20, `seeded ${JSON.stringify(totals)}`);
    assert.strictEqual(result.summary.compliant, false);
    assert.deepStrictEqual(
      result.accounts.map((a) => a.accountId),
      [management, ...members].sort(),
    );
    const byId = new Map(result.accounts.map((a) => [a.accountId, a]));
    assert.strictEqual(
      byId.get(management)?.roleArn,
      null,
      "the credentials' own account is audited without a role",
    );
    assert.strictEqual(byId.get(members[0])?.accountName, "member-0");

    const missing = byId.get(missingRole);
    const missingArn = `arn:aws:iam::${missingRole}:role/${ROLE}`;
    assert.deepStrictEqual(
      [missing?.status, missing?.roleArn, missing?.error?.step],
      ["unreachable", missingArn, "assume-role"],
    );
    assert.match(
      missing?.error?.message ?? "",
      new RegExp(`^Assuming ${missingArn} failed: AccessDenied: .*sts:AssumeRole`),
    );
    assert.match(missing?.error?.message ?? "", /trust policy/);
    const denying = byId.get(denyingRole);
    const denyingArn = `arn:aws:iam::${denyingRole}:role/${ROLE}`;
    assert.deepStrictEqual(
      [denying?.status, denying?.roleArn, denying?.error?.step, denying?.error?.name],
      ["unreachable", denyingArn, "audit", "AccessDenied"],
    );
    assert.match(denying?.error?.message ?? "", new RegExp(`iam:ListUsers.*\\(as ${denyingArn}\\)$`));
    // Every finding carries its account; an account's findings are its own users.
    for (const f of result.keys) {
      assert.ok(plan.get(f.accountId)?.has(f.userName), `${f.userName} is not a user of ${f.accountId}`);
      assert.strictEqual(f.accountName, byId.get(f.accountId)?.accountName);
    }
    // stderr names each unreachable account once, with its role.
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: account "));
    assert.strictEqual(errors.length, 2, r.stderr);
    assert.ok(errors.some((l) => l.includes(missingArn)) && errors.some((l) => l.includes(denyingArn)));
  });

  it("finds, account by account, what a single-account audit of that account finds", async () => {
    const { result } = await orgJson(["--organization", "--parallel", "8"]);
    for (const outcome of result.accounts.filter((a) => a.status === "audited")) {
      const creds = outcome.accountId === management ? auditor : await assume(outcome.accountId, auditor);
      const single = await run(["audit", "--source", "live", "--format", "json"], creds);
      const alone = JSON.parse(single.stdout) as AuditResult;
      const mine = result.keys.filter((k) => k.accountId === outcome.accountId);
      assert.deepStrictEqual(mine.map(judged), alone.keys.map(judged), `account ${outcome.accountId}`);
      assert.deepStrictEqual(outcome.summary, alone.summary, `account ${outcome.accountId}`);
      const e = expected(outcome.accountId);
      assert.deepStrictEqual(
        [alone.summary.users, alone.summary.rotate, alone.summary.ok],
        [e.users, e.rotate, e.ok],
        `account ${outcome.accountId}`,
      );
      assert.strictEqual(single.code, e.rotate > 0 ? 1 : 0);
    }
  });

  it("table: a summary line per account, the unreachable ones with their role and error; CSV: account id and name first", async () => {
    const table = await run(["audit", "--organization", "--source", "live"]);
    assert.strictEqual(table.code, 3);
    const lines = table.stdout.split("\n");
    const header = lines[0].split(/ {2,}/);
    assert.deepStrictEqual(header, [
      "ACCOUNT",
      "USER",
      "ACCESS KEY ID",
      "STATUS",
      "CREATED",
      "AGE",
      "LAST USED",
      "VERDICT",
    ]);
    const accountLines = lines.filter((l) => /^- \d{12}( \([\w-]+\))?: /.test(l));
    assert.strictEqual(accountLines.length, 27);
    const e0 = expected(members[0]);
    assert.ok(
      accountLines.includes(
        `- ${members[0]} (member-0): ${e0.users} users, ${e0.users} keys: ${e0.rotate} rotate, 0 delete, 0 exempt, ${e0.ok} ok. ${e0.rotate > 0 ? "NOT compliant." : "Compliant."}`,
      ),
      accountLines.join("\n"),
    );
    assert.ok(
      accountLines.some((l) =>
        l.startsWith(`- ${missingRole} (member-3): UNREACHABLE (assume-role): Assuming `),
      ),
    );
    assert.ok(
      accountLines.some((l) =>
        l.startsWith(`- ${denyingRole} (member-7): UNREACHABLE (audit): Access denied`),
      ),
    );
    assert.match(
      table.stdout,
      /\n27 accounts \(25 audited, 2 unreachable\), \d+ users, \d+ keys: .*INCOMPLETE: not every account was audited\.\n/,
    );

    const csv = await run(["audit", "--organization", "--source", "live", "--format", "csv"]);
    const rows = parse(csv.stdout) as string[][];
    assert.deepStrictEqual(rows[0], [...ORGANIZATION_CSV_COLUMNS]);
    const json = await orgJson(["--organization"]);
    assert.strictEqual(rows.length - 1, json.result.keys.length);
    for (const row of rows.slice(1)) {
      const f = json.result.keys.find((k) => k.accessKeyId === row[3]);
      assert.deepStrictEqual([row[0], row[1], row[2]], [f?.accountId, f?.accountName ?? "", f?.userName]);
    }
  });

  it("--ou: only the accounts under the OU and its child OUs", async () => {
    const { run: r, result } = await orgJson(["--organization", "--ou", ouId]);
    assert.deepStrictEqual(
      result.accounts.map((a) => a.accountId),
      [...ouAccounts].sort(),
    );
    assert.deepStrictEqual(result.accountsFrom, { source: "organizations", parentId: ouId, file: null });
    const rotate = ouAccounts.map(expected).reduce((n, e) => n + e.rotate, 0);
    assert.strictEqual(result.summary.rotate, rotate);
    assert.strictEqual(r.code, rotate > 0 ? 1 : 0);
  });

  it("--accounts FILE: the listed accounts with their names and a role of their own; bad entries fail naming them", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "org-audit-"));
    const file = path.join(dir, "accounts.yml");
    fs.writeFileSync(
      file,
      [
        "accounts:",
        `  - id: "${members[0]}"`,
        "    name: payments",
        `  - "${members[1]}"`,
        `  - id: "${members[2]}"`,
        `    roleArn: arn:aws:iam::${members[2]}:role/${ROLE}`,
        "",
      ].join("\n"),
    );
    const { run: r, result } = await orgJson(["--accounts", file, "--role-name", "NotThere"]);
    // --role-name NotThere: moto does not check that a role exists, so the first two are audited too.
    assert.deepStrictEqual(
      result.accounts.map((a) => [a.accountId, a.accountName, a.roleArn]),
      [
        [members[0], "payments", `arn:aws:iam::${members[0]}:role/NotThere`],
        [members[1], null, `arn:aws:iam::${members[1]}:role/NotThere`],
        [members[2], null, `arn:aws:iam::${members[2]}:role/${ROLE}`],
      ],
    );
    assert.deepStrictEqual(result.accountsFrom, { source: "file", parentId: null, file });
    assert.ok([0, 1, 3].includes(r.code), r.stderr);

    fs.writeFileSync(file, `- ${members[0]}\n- "${members[0]}"\n- id: "12"\n  role: x\n`);
    const bad = await run(["audit", "--accounts", file]);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.stderr, /accounts\[0\]: the account id \d+ is a number; write it as a quoted string/);
    assert.match(bad.stderr, /accounts\[2\]: unknown field "role"/);
    assert.match(bad.stderr, /accounts\[2\]: id must be a 12-digit account id in quotes; got "12"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("exit 2 naming the fix when the accounts cannot be listed (a member account's credentials)", async () => {
    // A member account's audit role (the printed role policy) may not list the organization.
    const creds = await assume(members[0], auditor);
    const r = await run(["audit", "--organization"], creds);
    assert.strictEqual(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: Access denied calling organizations:ListAccounts: the accounts of an organization can be listed only from its management account or a delegated administrator account.*--accounts FILE/,
    );
    assert.strictEqual(r.stdout, "");
  });

  it("progress per account on a terminal, one line rewritten in place, cleared at the end", async () => {
    let stderr = "";
    const r = await run(["audit", "--organization", "--source", "live", "--parallel", "1"], auditor, {
      stderr: { isTTY: true, write: (s: string) => (stderr += s) },
    });
    assert.strictEqual(r.code, 3);
    const updates = stderr.split("\r\x1b[2K").filter((u) => u.startsWith("Accounts "));
    assert.ok(updates.length >= 2, `${updates.length} progress updates`);
    for (const u of updates)
      assert.match(u, /^Accounts \d+\/27 done( \([12] unreachable\))?; \d{12} \([\w-]+\): /);
    assert.ok(stderr.startsWith("\r\x1b[2KListing the organization's accounts: 27"), stderr.slice(0, 80));
    assert.ok(stderr.includes("\r\x1b[2Kerror: account "), "the line is cleared before the errors");
    assert.ok(stderr.includes("\r\x1b[2K") && !stderr.includes(auditor.secretAccessKey));
  });

  it("usage errors name the option and the fix", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["audit", "--ou", "ou-ab12-cdefgh12"],
        /--ou selects accounts of the organization: add --organization\./,
      ],
      [
        ["audit", "--organization", "--accounts", "x.yml"],
        /--organization and --accounts FILE both choose the accounts/,
      ],
      [
        ["audit", "--organization", "--role-name", "arn:aws:iam::123456789012:role/X"],
        /--role-name .* pass the name, not the ARN/,
      ],
      [
        ["audit", "--organization", "--ou", "ou-1"],
        /--ou must be a root id \(r-xxxx\) or an organizational unit id/,
      ],
      [
        ["audit", "--organization", "--parallel", "0"],
        /--parallel must be a whole number from 1 to 32, not "0"/,
      ],
      [
        ["audit", "--parallel", "2"],
        /--parallel applies to many accounts: add --organization or --accounts FILE\./,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.strictEqual(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
  });

  it("the real bin: CSV on stdout, the unreachable accounts on stderr, exit 3, no secret", async () => {
    // The built bin when it is newer than its sources (as after npm test's build), else the same file through ts-node.
    const built = path.join(ROOT, "dist/audit/cli.js");
    const fresh =
      fs.existsSync(built) &&
      fs.statSync(built).mtimeMs > newestSourceMtime([path.join(ROOT, "audit"), path.join(ROOT, "core")]);
    const entry = fresh
      ? [built]
      : ["-r", "ts-node/register/transpile-only", path.join(ROOT, "audit/cli.ts")];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: os.tmpdir(),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: auditor.accessKeyId,
      AWS_SECRET_ACCESS_KEY: auditor.secretAccessKey,
      KEYROTATION_NOW: AUDIT_AT.toISOString(),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    for (const name of ENDPOINT_VARS) env[name] = emu.endpoint;
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [...entry, "audit", "--organization", "--format", "csv"], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    assert.strictEqual(r.code, 3, r.stderr);
    const rows = parse(r.stdout) as string[][];
    assert.deepStrictEqual(rows[0].slice(0, 3), ["account_id", "account_name", "user_name"]);
    assert.strictEqual(new Set(rows.slice(1).map((row) => row[0])).size, 25);
    assert.strictEqual(r.stderr.split("\n").filter((l) => l.startsWith("error: account ")).length, 2);
    assert.ok(!r.stdout.includes(auditor.secretAccessKey) && !r.stderr.includes(auditor.secretAccessKey));
  });
});
