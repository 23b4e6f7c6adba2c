/**
 * The audit command against the IAM emulator (moto), with IAM's clock moved so that keys have
 * known ages: every verdict, each source, pagination, filters, formats parsed back, exemptions,
 * exit codes (in process and as the real bin), an unreachable endpoint, a report being generated,
 * a user deleted mid-audit, and access denied from an emulator that enforces IAM policies.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import { parse } from "csv-parse/sync";
import { AuditResult } from "../../audit/audit";
import { instrumentClient } from "../../audit/client";
import { countCalls } from "../support/countCalls";
import { CliIo, main } from "../../audit/cli";
import { CSV_COLUMNS, TABLE_COLUMNS } from "../../audit/format";
import { fetchCredentialReport, reportPort } from "../../audit/report";
import { Finding } from "../../audit/verdict";
import { createIamClient } from "../../core/iam";
import {
  adminIam,
  AuthEmulator,
  emulator,
  emulatorEnv,
  freePort,
  resetClock,
  resetEmulator,
  setClock,
  startAuthEmulator,
} from "../support/moto";
import { registerSecret } from "../support/secretGuard";
import { newestSourceMtime } from "../../core/build";

const DAY = 86_400_000;
/** The IAM actions docs/audit.md tells people to grant. */
const AUDIT_ACTIONS = [
  "iam:ListUsers",
  "iam:ListAccessKeys",
  "iam:GetAccessKeyLastUsed",
  "iam:GenerateCredentialReport",
  "iam:GetCredentialReport",
  "iam:ListUserTags",
];
const ROOT = path.resolve(__dirname, "../..");
// Next UTC midnight + 1 h: ahead of the real clock (the override only moves forward), and dates
// computed from it never straddle midnight.
const T0 = new Date(Math.ceil(Date.now() / DAY) * DAY + 3_600_000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const AUDIT_AT = at(200.5);
const date = (d: Date) => d.toISOString().slice(0, 10);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], extra: Partial<CliIo> = {}): Promise<Run> {
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

async function runJson(
  args: string[],
  extra: Partial<CliIo> = {},
): Promise<{ run: Run; result: AuditResult }> {
  const r = await run([...args, "--format", "json"], extra);
  assert.ok(r.stdout.startsWith("{"), `no JSON on stdout (exit ${r.code}): ${r.stderr}`);
  return { run: r, result: JSON.parse(r.stdout) as AuditResult };
}

/** The verdict-relevant view of a finding, for exact comparisons. */
const view = (f: Finding) => [
  f.userName,
  f.accessKeyId,
  f.status,
  f.createDate.slice(0, 16),
  f.ageDays,
  f.lastUsedDate?.slice(0, 10) ?? null,
  f.lastUsedRead,
  f.verdict,
];
/** Everything a finding says apart from its last-use fields (the same whether they were read or not). */
const judged = (f: Finding) => [
  f.userName,
  f.accessKeyId,
  f.status,
  f.createDate,
  f.ageDays,
  f.verdict,
  f.reason,
  f.nextStep,
  f.exemption,
  f.source,
];

/**
 * moto 5.2.1 answers ListUsers and ListAccessKeys with every item and IsTruncated=false whatever
 * MaxItems says. This middleware pages moto's real answers by MaxItems/Marker the way IAM does,
 * so the command's paging loop runs over several pages.
 */
function pageLikeIam(client: iam.IAMClient): iam.IAMClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { MaxItems?: number; Marker?: string };
      const result = await next(args);
      const field = { ListUsersCommand: "Users", ListAccessKeysCommand: "AccessKeyMetadata" }[
        context.commandName as string
      ];
      if (!field || !input.MaxItems) return result;
      const output = result.output as unknown as Record<string, unknown>;
      const all = output[field] as unknown[];
      const start = input.Marker ? Number(input.Marker) : 0;
      const end = start + input.MaxItems;
      output[field] = all.slice(start, end);
      output.IsTruncated = end < all.length;
      output.Marker = end < all.length ? String(end) : undefined;
      return result;
    },
    { step: "initialize", name: "testPageLikeIam" },
  );
  return client;
}

describe("audit command (IAM emulator)", function () {
  this.timeout(30_000);
  const ids: Record<string, string> = {};
  let tmp: string;
  let exemptionsFile: string;
  let authEmulator: Promise<AuthEmulator> | undefined;

  /** A second emulator that enforces IAM policies after its first 8 requests; boots while other tests run. */
  function startAuthEmulatorEarly(): void {
    const starting = startAuthEmulator(8);
    starting.catch(() => undefined);
    authEmulator = starting;
  }

  const admin = () => adminIam();
  async function user(name: string, p = "/") {
    await admin().send(new iam.CreateUserCommand({ UserName: name, Path: p }));
  }
  async function key(name: string, label: string) {
    const out = await admin().send(new iam.CreateAccessKeyCommand({ UserName: name }));
    registerSecret(out.AccessKey?.SecretAccessKey);
    ids[label] = out.AccessKey?.AccessKeyId ?? "";
  }
  async function deactivate(name: string, label: string) {
    await admin().send(
      new iam.UpdateAccessKeyCommand({ UserName: name, AccessKeyId: ids[label], Status: "Inactive" }),
    );
  }
  /** Signs one request with the key: moto records it as the key's last use (service iam). */
  async function use(label: string) {
    const client = new iam.IAMClient({
      region: "us-east-1",
      endpoint: emulator().endpoint,
      credentials: { accessKeyId: ids[label], secretAccessKey: "not-checked-by-moto-without-auth" },
    });
    await client.send(new iam.GetUserCommand({}));
    client.destroy();
  }

  before(async () => {
    startAuthEmulatorEarly();
    await resetEmulator();
    await setClock(T0);
    await user("alice", "/team-a/");
    await user("bob", "/team-a/");
    for (const name of ["carol", "dave", "erin", "frank", "grace", "heidi"]) await user(name);
    await key("alice", "alice");
    await key("bob", "bob1");
    await key("carol", "carol1");
    await deactivate("carol", "carol1");
    await key("erin", "erin");
    await key("frank", "frank");
    await key("heidi", "heidi1");
    await deactivate("heidi", "heidi1");
    await setClock(at(50));
    await key("heidi", "heidi2");
    await setClock(at(150));
    await key("bob", "bob2");
    await key("dave", "dave");
    await setClock(at(185));
    await use("dave");
    await deactivate("dave", "dave");
    await setClock(at(190));
    await key("carol", "carol2");
    await setClock(at(199));
    await use("bob1");
    await setClock(AUDIT_AT);

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "audit-test-"));
    exemptionsFile = path.join(tmp, "exemptions.json");
    fs.writeFileSync(
      exemptionsFile,
      JSON.stringify([
        { accessKeyId: ids.erin, reason: "vendor appliance, CHG-42", expires: date(at(230)) },
        { userName: "frank", reason: "migration", expires: date(at(100)) },
      ]),
    );
  });

  after(async () => {
    (await authEmulator?.catch(() => undefined))?.stop();
    await resetClock();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Every verdict kind, as `view` shows it. `all`: every key's last use read (as `--last-used all`,
   * the report and auto's re-check); `needed` (live default): only the Inactive keys' (carol1,
   * dave, heidi1), so bob1's use on day 199 is not read, and the Active keys say "not read".
   */
  const expectedLive = (lastUse: "needed" | "all" = "needed") => {
    const read = lastUse === "all";
    return [
      ["alice", ids.alice, "Active", T0.toISOString().slice(0, 16), 200, null, read, "rotate"],
      [
        "bob",
        ids.bob1,
        "Active",
        T0.toISOString().slice(0, 16),
        200,
        read ? date(at(199)) : null,
        read,
        "rotate",
      ],
      ["bob", ids.bob2, "Active", at(150).toISOString().slice(0, 16), 50, null, read, "ok"],
      ["carol", ids.carol1, "Inactive", T0.toISOString().slice(0, 16), 200, null, true, "delete"],
      ["carol", ids.carol2, "Active", at(190).toISOString().slice(0, 16), 10, null, read, "ok"],
      ["dave", ids.dave, "Inactive", at(150).toISOString().slice(0, 16), 50, date(at(185)), true, "ok"],
      ["erin", ids.erin, "Active", T0.toISOString().slice(0, 16), 200, null, read, "exempt"],
      ["frank", ids.frank, "Active", T0.toISOString().slice(0, 16), 200, null, read, "rotate"],
      ["heidi", ids.heidi1, "Inactive", T0.toISOString().slice(0, 16), 200, null, true, "delete"],
      ["heidi", ids.heidi2, "Active", at(50).toISOString().slice(0, 16), 150, null, read, "rotate"],
    ];
  };
  /** A CLI client that counts its IAM calls by action. */
  function counted(wrap: (c: iam.IAMClient) => iam.IAMClient = (c) => c) {
    const box: { counter?: ReturnType<typeof countCalls> } = {};
    const extra: Partial<CliIo> = {
      createClient: (o) => {
        const client = wrap(instrumentClient(createIamClient(o)));
        box.counter = countCalls(client);
        return client;
      },
    };
    return { extra, calls: () => box.counter?.byAction() };
  }

  it("a report being generated: absent, then STARTED, polled until COMPLETE (moto's real answers)", async () => {
    const sleeps: number[] = [];
    const report = await fetchCredentialReport(reportPort(admin()), {
      timeoutMs: 10_000,
      sleep: async (ms) => void sleeps.push(ms),
    });
    assert.deepStrictEqual(report.trace, ["absent", "STARTED", "COMPLETE"]);
    assert.deepStrictEqual(sleeps, [250]);
    assert.strictEqual(report.generated, true);
  });

  it("live: every verdict, with last use, exemptions and the next step; exit 1", async () => {
    const { extra, calls } = counted();
    const { run: r, result } = await runJson(
      ["audit", "--source", "live", "--exemptions", exemptionsFile, "--last-used", "all"],
      extra,
    );
    assert.strictEqual(r.code, 1);
    assert.deepStrictEqual(calls(), { ListUsers: 1, ListAccessKeys: 8, GetAccessKeyLastUsed: 10 });
    assert.deepStrictEqual(result.keys.map(view), expectedLive("all"));
    assert.strictEqual(
      result.sourceReason,
      "--source live: ListUsers, ListAccessKeys and GetAccessKeyLastUsed for every key.",
    );
    assert.deepStrictEqual(result.summary, {
      users: 8,
      keys: 10,
      rotate: 4,
      delete: 2,
      ok: 3,
      exempt: 1,
      "rotation-stopped": 0,
      compliant: false,
    });
    assert.strictEqual(result.source, "live");
    assert.strictEqual(result.generatedAt, AUDIT_AT.toISOString().replace(".000Z", "Z"));
    const bob1 = result.keys[1];
    assert.deepStrictEqual([bob1.lastUsedService, bob1.lastUsedRegion], ["iam", "us-east-1"]);
    assert.strictEqual(
      bob1.nextStep,
      `Move applications to bob's newer Active key ${ids.bob2}, deactivate key ${ids.bob1}, check with ` +
        `GetAccessKeyLastUsed that nothing still uses it, wait a few days, then delete it.`,
    );
    assert.strictEqual(bob1.reason, "Active and 200 days old, over the 90-day limit.");
    const heidi2 = result.keys[9];
    assert.match(
      heidi2.nextStep,
      new RegExp(
        `^heidi already has two keys \\(the IAM limit\\): delete the Inactive key ${ids.heidi1} first`,
      ),
    );
    const carol1 = result.keys[3];
    assert.strictEqual(
      carol1.nextStep,
      `Check that nothing needs key ${ids.carol1} (never used), then delete it: aws iam delete-access-key --user-name carol --access-key-id ${ids.carol1}`,
    );
    assert.strictEqual(
      result.keys[5].reason,
      `Inactive, unused for 15 days (last used ${date(at(185))}), within the 30-day threshold.`,
    );
    assert.deepStrictEqual(result.keys[6].exemption, {
      matchedBy: "accessKeyId",
      reason: "vendor appliance, CHG-42",
      expires: date(at(230)),
      expired: false,
    });
    // frank's exemption expired: it stops applying and is reported.
    assert.deepStrictEqual(result.keys[7].exemption, {
      matchedBy: "userName",
      reason: "migration",
      expires: date(at(100)),
      expired: true,
    });
    assert.deepStrictEqual(result.expiredExemptions, [
      { userName: "frank", reason: "migration", expires: date(at(100)) },
    ]);
    assert.match(
      r.stderr,
      new RegExp(`warning: The exemption for user frank expired on ${date(at(100))} and no longer applies`),
    );
    assert.deepStrictEqual([result.notFoundUsers, result.vanishedUsers], [[], []]);
  });

  it("live by default reads the last use of Inactive keys only: 1 + users + Inactive keys calls, the same findings", async () => {
    const args = ["audit", "--source", "live", "--exemptions", exemptionsFile];
    const fast = counted();
    const { run: r, result } = await runJson(args, fast.extra);
    const full = counted();
    const { result: all } = await runJson([...args, "--last-used", "all"], full.extra);
    assert.strictEqual(r.code, 1);
    // 8 users, 10 keys of which 3 are Inactive (carol1, dave, heidi1).
    assert.deepStrictEqual(fast.calls(), { ListUsers: 1, ListAccessKeys: 8, GetAccessKeyLastUsed: 3 });
    assert.deepStrictEqual(full.calls(), { ListUsers: 1, ListAccessKeys: 8, GetAccessKeyLastUsed: 10 });
    assert.deepStrictEqual(result.keys.map(view), expectedLive("needed"));
    // Same verdicts, reasons, next steps and exemptions as when every last use is read.
    assert.deepStrictEqual(result.keys.map(judged), all.keys.map(judged));
    assert.deepStrictEqual(result.summary, all.summary);
    assert.deepStrictEqual(result.summary, {
      users: 8,
      keys: 10,
      rotate: 4,
      delete: 2,
      ok: 3,
      exempt: 1,
      "rotation-stopped": 0,
      compliant: false,
    });
    // The Inactive keys' last use is read in full; the Active keys' is null and says "not read".
    assert.deepStrictEqual(
      result.keys.map((k) => [
        k.accessKeyId,
        k.lastUsedDate,
        k.lastUsedService,
        k.lastUsedRegion,
        k.lastUsedRead,
      ]),
      all.keys.map((k) =>
        k.status === "Inactive"
          ? [k.accessKeyId, k.lastUsedDate, k.lastUsedService, k.lastUsedRegion, true]
          : [k.accessKeyId, null, null, null, false],
      ),
    );
    assert.deepStrictEqual(
      [result.keys[5].lastUsedService, result.keys[5].lastUsedRegion],
      ["iam", "us-east-1"],
      "dave's use is read",
    );
    assert.strictEqual(
      result.sourceReason,
      "--source live: ListUsers, ListAccessKeys and GetAccessKeyLastUsed for Inactive keys " +
        "(Active keys' last use not read: --last-used all reads it).",
    );
    assert.strictEqual(
      r.stderr,
      `warning: The exemption for user frank expired on ${date(at(100))} and no longer applies: renew it with a new date or remove it.\n`,
    );
  });

  it("report: the same verdicts from one call, without key ids (so key-id exemptions cannot apply)", async () => {
    let counter: ReturnType<typeof countCalls> | undefined;
    const { run: r, result } = await runJson(
      ["audit", "--source", "report", "--exemptions", exemptionsFile],
      {
        createClient: (o) => {
          const client = instrumentClient(createIamClient(o));
          counter = countCalls(client);
          return client;
        },
      },
    );
    assert.strictEqual(r.code, 1);
    assert.deepStrictEqual(counter?.byAction(), { GetCredentialReport: 1 }, "a present report is one call");
    const expected = expectedLive("all").map((row) => [row[0], null, ...row.slice(2)]);
    expected[6][7] = "rotate"; // erin's exemption names her key id, which the report lacks
    assert.deepStrictEqual(result.keys.map(view), expected);
    assert.ok(result.keys.every((k) => k.source === "report" && k.lastUsedService === null));
    assert.deepStrictEqual(result.credentialReport, {
      generatedTime: "2015-02-02T20:02:02Z", // moto's fixed value
      ageHours: result.credentialReport?.ageHours,
      generatedByThisRun: false,
    });
    assert.match(r.stderr, /exemptions by accessKeyId cannot apply in --source report/);
    assert.match(r.stderr, /The credential report was generated 2015-02-02T20:02:02Z, \d+(\.\d)? hours ago/);
  });

  it("auto: live when the report is too old; report plus a live re-check of flagged users when fresh enough", async () => {
    const staleCalls = counted();
    const { result: stale } = await runJson(["audit", "--exemptions", exemptionsFile], staleCalls.extra);
    assert.strictEqual(stale.source, "live");
    assert.match(
      stale.sourceReason,
      /^--source auto chose live listing: the credential report was generated 2015-02-02T20:02:02Z/,
    );
    assert.deepStrictEqual(stale.keys.map(view), expectedLive("needed"));
    assert.deepStrictEqual(staleCalls.calls(), {
      GetCredentialReport: 1,
      ListUsers: 1,
      ListAccessKeys: 8,
      GetAccessKeyLastUsed: 3,
    });

    const freshCalls = counted();
    const { result: fresh } = await runJson(
      ["audit", "--exemptions", exemptionsFile, "--report-max-age-hours", "1000000"],
      freshCalls.extra,
    );
    assert.strictEqual(fresh.source, "report+live");
    assert.match(fresh.sourceReason, /re-checked live the 6 user\(s\) it flags\.$/);
    // The re-check reads every key's last use of the 6 flagged users (9 keys): they are the ones to act on.
    assert.deepStrictEqual(freshCalls.calls(), {
      GetCredentialReport: 1,
      ListAccessKeys: 6,
      GetAccessKeyLastUsed: 9,
    });
    // dave's only key is fine in the report, so it is not re-checked and has no id.
    assert.deepStrictEqual(
      fresh.keys.map(view),
      expectedLive("all").map((row) => (row[0] === "dave" ? [row[0], null, ...row.slice(2)] : row)),
    );
    assert.deepStrictEqual(
      fresh.keys.map((k) => k.source),
      ["live", "live", "live", "live", "live", "report", "live", "live", "live", "live"],
    );
    assert.strictEqual(fresh.summary.users, 8);
  });

  it("pages through ListUsers and ListAccessKeys (page size 1), with the same findings", async () => {
    let counter: ReturnType<typeof countCalls> | undefined;
    const { result } = await runJson(
      ["audit", "--source", "live", "--page-size", "1", "--exemptions", exemptionsFile],
      {
        createClient: (o) => {
          const client = pageLikeIam(instrumentClient(createIamClient(o)));
          counter = countCalls(client);
          return client;
        },
      },
    );
    assert.deepStrictEqual(result.keys.map(view), expectedLive("needed"));
    // 8 users one a page; ListAccessKeys: one page per user, two for the 3 users with two keys;
    // GetAccessKeyLastUsed for the 3 Inactive keys only.
    assert.deepStrictEqual(counter?.byAction(), {
      ListUsers: 8,
      ListAccessKeys: 11,
      GetAccessKeyLastUsed: 3,
    });
  });

  it("filters users by name and by IAM path prefix, in both sources", async () => {
    const byName = await runJson(["audit", "--source", "live", "--user", "bob,dave"]);
    assert.deepStrictEqual(
      byName.result.keys.map((k) => k.accessKeyId),
      [ids.bob1, ids.bob2, ids.dave],
    );
    for (const source of ["live", "report"]) {
      const byPath = await runJson(["audit", "--source", source, "--path-prefix", "/team-a/"]);
      assert.deepStrictEqual(
        byPath.result.keys.map((k) => [k.userName, k.verdict]),
        [
          ["alice", "rotate"],
          ["bob", "rotate"],
          ["bob", "ok"],
        ],
        source,
      );
      assert.strictEqual(byPath.result.summary.users, 2);
    }
    const both = await runJson([
      "audit",
      "--source",
      "report",
      "--path-prefix",
      "/team-a/",
      "--user",
      "bob,carol",
    ]);
    assert.deepStrictEqual(
      both.result.keys.map((k) => k.userName),
      ["bob", "bob"],
    );
    assert.deepStrictEqual(both.result.notFoundUsers, ["carol"]);
    assert.strictEqual(both.run.code, 2);
  });

  it("every output format parses back to the same findings", async () => {
    const args = ["audit", "--source", "live", "--exemptions", exemptionsFile];
    const json = (await runJson(args)).result;
    const csv = await run([...args, "--format", "csv"]);
    assert.strictEqual(csv.code, 1);
    const records = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    assert.deepStrictEqual(Object.keys(records[0]), [...CSV_COLUMNS]);
    assert.deepStrictEqual(
      records.map((r) => [
        r.user_name,
        r.access_key_id,
        r.status,
        r.create_date,
        r.age_days,
        r.last_used_date,
        r.verdict,
        r.next_step,
        r.last_used_read,
      ]),
      json.keys.map((k) => [
        k.userName,
        k.accessKeyId,
        k.status,
        k.createDate,
        String(k.ageDays),
        k.lastUsedDate ?? "",
        k.verdict,
        k.nextStep,
        String(k.lastUsedRead),
      ]),
    );
    assert.strictEqual(records[6].exemption_reason, "vendor appliance, CHG-42"); // has a comma: quoted
    assert.strictEqual(records[7].exemption_expired, "true");
    assert.deepStrictEqual(
      records.map((r) => r.last_used_read),
      ["false", "false", "false", "true", "false", "true", "false", "false", "true", "false"],
    );

    const table = await run([...args, "--format", "table"]);
    assert.strictEqual(table.code, 1);
    const lines = table.stdout.split("\n");
    assert.deepStrictEqual(lines[0].split(/\s{2,}/), [...TABLE_COLUMNS]);
    const rows = lines.slice(1, 11).map((l) => l.split(/\s{2,}/));
    assert.deepStrictEqual(
      rows,
      json.keys.map((k) => [
        k.userName,
        k.accessKeyId,
        k.status,
        k.createDate.slice(0, 10),
        String(k.ageDays),
        k.lastUsedDate?.slice(0, 10) ?? (k.lastUsedRead ? "never" : "not read"),
        k.verdict.toUpperCase(),
      ]),
    );
    assert.strictEqual(lines[11], "");
    assert.strictEqual(
      lines[12],
      "8 users, 10 keys: 4 rotate, 2 delete, 1 exempt, 3 ok. Limit 90 days, source live. NOT compliant.",
    );
    assert.match(table.stdout, new RegExp(`\\n- alice ${ids.alice}: ROTATE\\. Active and 200 days old`));
    // Not read (Active, live default) and never used (Inactive carol1) are told apart.
    assert.deepStrictEqual([rows[0][5], rows[3][5], rows[5][5]], ["not read", "never", date(at(185))]);
  });

  it("exit codes: 0 compliant, 1 violations (per --fail-on), 2 bad usage, unknown user or bad exemptions", async () => {
    assert.strictEqual((await run(["audit", "--source", "live", "--user", "dave"])).code, 0);
    assert.strictEqual((await run(["audit", "--source", "live", "--user", "carol"])).code, 0);
    assert.strictEqual(
      (await run(["audit", "--source", "live", "--user", "carol", "--fail-on", "rotate,delete"])).code,
      1,
    );
    assert.strictEqual(
      (await run(["audit", "--source", "live", "--max-age-days", "365", "--user", "alice"])).code,
      0,
    );
    const usage = await run(["audit", "--format", "xml"]);
    assert.deepStrictEqual([usage.code, usage.stdout], [2, ""]);
    assert.match(
      usage.stderr,
      /^error: --format must be one of table, json, csv, not "xml"\.\nRun with --help/,
    );
    const unknown = await run(["audit", "--source", "live", "--user", "nobody,dave"]);
    assert.strictEqual(unknown.code, 2);
    assert.match(unknown.stderr, /error: no IAM user named nobody\./);
    const badFile = path.join(tmp, "bad.json");
    fs.writeFileSync(badFile, JSON.stringify([{ userName: "x", expires: "soon" }]));
    const bad = await run(["audit", "--exemptions", badFile]);
    assert.strictEqual(bad.code, 2);
    assert.match(
      bad.stderr,
      /exemptions\[0\]\.reason is missing.*exemptions\[0\]\.expires must be an ISO-8601 date/,
    );
  });

  it("a user deleted mid-audit is reported and the rest is audited", async () => {
    await user("zed");
    const { run: r, result } = await runJson(["audit", "--source", "live", "--exemptions", exemptionsFile], {
      createClient: (o) => {
        const client = instrumentClient(createIamClient(o));
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const out = await next(args);
            if (context.commandName === "ListUsersCommand") {
              await admin().send(new iam.DeleteUserCommand({ UserName: "zed" }));
            }
            return out;
          },
          { step: "initialize", name: "testDeleteZed" },
        );
        return client;
      },
    });
    assert.strictEqual(r.code, 1);
    assert.deepStrictEqual(result.vanishedUsers, ["zed"]);
    assert.deepStrictEqual(result.keys.map(view), expectedLive());
    assert.match(r.stderr, /warning: User zed was deleted while the audit ran; it is left out\./);
  });

  it("a key deleted between ListAccessKeys and GetAccessKeyLastUsed is left out with a warning", async () => {
    await user("yara");
    await key("yara", "yara");
    await deactivate("yara", "yara");
    try {
      const { extra, calls } = counted((client) => {
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const out = await next(args);
            if (
              context.commandName === "ListAccessKeysCommand" &&
              (args.input as { UserName?: string }).UserName === "yara"
            ) {
              await admin().send(new iam.DeleteAccessKeyCommand({ UserName: "yara", AccessKeyId: ids.yara }));
            }
            return out;
          },
          { step: "initialize", name: "testDeleteYaraKey" },
        );
        return client;
      });
      const { run: r, result } = await runJson(
        ["audit", "--source", "live", "--exemptions", exemptionsFile],
        extra,
      );
      assert.strictEqual(r.code, 1);
      assert.deepStrictEqual(calls(), { ListUsers: 1, ListAccessKeys: 9, GetAccessKeyLastUsed: 4 });
      assert.deepStrictEqual(result.keys.map(view), expectedLive("needed"));
      assert.strictEqual(result.summary.users, 9);
      assert.ok(
        result.warnings.includes(
          `Key ${ids.yara} of user yara was deleted while the audit ran; it is left out.`,
        ),
        result.warnings.join("\n"),
      );
    } finally {
      await admin().send(new iam.DeleteUserCommand({ UserName: "yara" }));
    }
  });

  describe("as the real bin, in a child process", () => {
    /**
     * The built bin (dist/audit/cli.js, what package.json's `bin` runs) when it is newer
     * than every source under audit/ and core/ (as after `npm test`'s build), else the same file through
     * ts-node: the same code, only slower to start.
     */
    function binEntry(): string[] {
      const built = path.join(ROOT, "dist/audit/cli.js");
      if (
        fs.existsSync(built) &&
        fs.statSync(built).mtimeMs > newestSourceMtime([path.join(ROOT, "audit"), path.join(ROOT, "core")])
      )
        return [built];
      return ["-r", "ts-node/register/transpile-only", path.join(ROOT, "audit/cli.ts")];
    }

    function bin(args: string[], env: Record<string, string>): Promise<Run & { ms: number }> {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const child: ChildProcess = spawn(process.execPath, [...binEntry(), ...args], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
      });
    }

    it("exit 1 with JSON on stdout and nothing but warnings on stderr; exit 2 fast on an unreachable endpoint", async () => {
      const closedPort = await freePort();
      const env = {
        ...emulatorEnv(emulator().endpoint),
        KEYROTATION_NOW: AUDIT_AT.toISOString(),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      };
      const [violations, unreachable] = await Promise.all([
        bin(["audit", "--source", "live", "--format", "json"], env),
        bin(["audit"], { ...env, AWS_ENDPOINT_URL_IAM: `http://127.0.0.1:${closedPort}` }),
      ]);
      assert.strictEqual(violations.code, 1, violations.stderr);
      const result = JSON.parse(violations.stdout) as AuditResult;
      assert.deepStrictEqual([result.summary.rotate, result.summary.delete, result.summary.keys], [5, 2, 10]);
      assert.strictEqual(violations.stderr, "");

      assert.strictEqual(unreachable.code, 2);
      assert.strictEqual(unreachable.stdout, "");
      assert.strictEqual(
        unreachable.stderr,
        `error: Could not reach the IAM endpoint http://127.0.0.1:${closedPort} (from AWS_ENDPOINT_URL_IAM/AWS_ENDPOINT_URL) ` +
          `(calling iam:GetCredentialReport): connect ECONNREFUSED 127.0.0.1:${closedPort}. ` +
          `Check the network, proxy settings, --region, and AWS_ENDPOINT_URL_IAM if you set it.\n`,
      );
      assert.ok(unreachable.ms < 8000, `took ${unreachable.ms} ms`);
    });
  });

  describe("with an emulator that enforces IAM policies", () => {
    it("the documented policy is enough for every source; without iam:ListAccessKeys the error names it (exit 2)", async () => {
      const { endpoint } = await (authEmulator as Promise<AuthEmulator>);
      const boot = new iam.IAMClient({ region: "us-east-1", endpoint });
      // The first 8 requests run unchecked: two auditors, one with the documented policy, one
      // that may only list users. Everything after that is checked against their policies.
      const auditors: Record<string, { accessKeyId: string; secretAccessKey: string }> = {};
      for (const [name, actions] of [
        ["auditor-full", AUDIT_ACTIONS],
        ["auditor-limited", ["iam:ListUsers"]],
      ] as const) {
        await boot.send(new iam.CreateUserCommand({ UserName: name }));
        const policy = await boot.send(
          new iam.CreatePolicyCommand({
            PolicyName: `${name}-policy`,
            PolicyDocument: JSON.stringify({
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }],
            }),
          }),
        );
        await boot.send(new iam.AttachUserPolicyCommand({ UserName: name, PolicyArn: policy.Policy?.Arn }));
        const created = await boot.send(new iam.CreateAccessKeyCommand({ UserName: name }));
        registerSecret(created.AccessKey?.SecretAccessKey);
        auditors[name] = {
          accessKeyId: created.AccessKey?.AccessKeyId ?? "",
          secretAccessKey: created.AccessKey?.SecretAccessKey ?? "",
        };
      }
      boot.destroy();
      const as = (name: string): Partial<CliIo> => ({
        // This emulator's clock is the real one.
        env: { ...process.env, KEYROTATION_NOW: "" },
        createClient: (o) =>
          instrumentClient(createIamClient({ ...o, endpoint, credentials: auditors[name] })),
      });
      for (const source of ["live", "report", "auto"]) {
        const r = await run(["audit", "--source", source], as("auditor-full"));
        assert.deepStrictEqual([source, r.code, r.stderr.replace(/^warning: .*\n/gm, "")], [source, 0, ""]);
      }
      for (const source of ["live", "auto"]) {
        const r = await run(["audit", "--source", source], as("auditor-limited"));
        assert.strictEqual(r.code, 2);
        assert.strictEqual(r.stdout, "");
        assert.match(
          r.stderr,
          /^error: Access denied \(calling iam:ListAccessKeys\): the audit's credentials may not call iam:ListAccessKeys\. Grant iam:ListAccessKeys .* IAM said: User: arn:aws:iam::123456789012:user\/auditor-limited is not authorized to perform: iam:ListAccessKeys/,
        );
      }
      const report = await run(["audit", "--source", "report"], as("auditor-limited"));
      assert.strictEqual(report.code, 2);
      assert.match(report.stderr, /^error: Access denied \(calling iam:GetCredentialReport\)/);
    });
  });
});
