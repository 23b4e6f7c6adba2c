/**
 * Pure parts of the audit command: verdict table, credential-report parsing, the report's
 * in-progress state machine (with an injected port: moto generates reports instantly), the CSV
 * writer, argument parsing, progress and error messages.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { parse } from "csv-parse/sync";
import { EndpointUnreachableError, explainAwsError } from "../../audit/client";
import { parseCommand, UsageError } from "../../audit/cli";
import { csvRecords } from "../../audit/format";
import { createProgress } from "../../audit/progress";
import {
  CredentialReportPort,
  fetchCredentialReport,
  parseCredentialReport,
  pathFromArn,
  ReportTimeoutError,
} from "../../audit/report";
import { AuditKey, baseVerdict, Finding, judgeUserKeys, verdictNeedsLastUse } from "../../audit/verdict";

const NOW = new Date("2027-06-01T12:00:00Z");
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString().replace(".000Z", "Z");

function key(over: Partial<AuditKey>): AuditKey {
  return {
    userName: "u",
    accessKeyId: "AKIAAAAAAAAAAAAAAAA1",
    status: "Active",
    createDate: daysAgo(10),
    lastUsedDate: null,
    lastUsedService: null,
    lastUsedRegion: null,
    lastUsedRead: true,
    source: "live",
    ...over,
  };
}

const rules = { maxAgeDays: 90, unusedDays: 30, exemptions: [], now: NOW };

describe("audit verdicts (table)", () => {
  const cases: [string, Partial<AuditKey>, "rotate" | "delete" | "ok"][] = [
    ["Active, 10 days", { createDate: daysAgo(10) }, "ok"],
    ["Active, exactly 90 days", { createDate: daysAgo(90) }, "ok"],
    [
      "Active, 90 days + 1 s",
      { createDate: new Date(NOW.getTime() - 90 * 86_400_000 - 1000).toISOString() },
      "rotate",
    ],
    ["Active, 400 days, used yesterday", { createDate: daysAgo(400), lastUsedDate: daysAgo(1) }, "rotate"],
    ["Inactive, 400 days, never used", { status: "Inactive", createDate: daysAgo(400) }, "delete"],
    ["Inactive, 20 days, never used", { status: "Inactive", createDate: daysAgo(20) }, "ok"],
    [
      "Inactive, 400 days, used 29 days ago",
      { status: "Inactive", createDate: daysAgo(400), lastUsedDate: daysAgo(29) },
      "ok",
    ],
    [
      "Inactive, 400 days, used 31 days ago",
      { status: "Inactive", createDate: daysAgo(400), lastUsedDate: daysAgo(31) },
      "delete",
    ],
  ];
  for (const [name, over, expected] of cases) {
    it(`${name} -> ${expected}`, () => {
      assert.strictEqual(baseVerdict(key(over), rules).verdict, expected);
    });
  }

  it("reasons give whole days, and one decimal on the day the limit is crossed", () => {
    assert.strictEqual(
      baseVerdict(key({ createDate: daysAgo(90.25) }), rules).reason,
      "Active and 90.3 days old, over the 90-day limit.",
    );
    assert.strictEqual(
      baseVerdict(key({ createDate: daysAgo(120.75) }), rules).reason,
      "Active and 120 days old, over the 90-day limit.",
    );
    assert.strictEqual(
      baseVerdict(key({ status: "Inactive", createDate: daysAgo(300), lastUsedDate: daysAgo(30.5) }), rules)
        .reason,
      `Inactive and unused for 30.5 days (last used ${daysAgo(30.5).slice(0, 10)}), over the 30-day threshold.`,
    );
  });

  it("next steps follow the rule and take the user's other key into account", () => {
    const [alone] = judgeUserKeys([key({ createDate: daysAgo(100) })], rules);
    assert.strictEqual(alone.verdict, "rotate");
    assert.strictEqual(alone.ageDays, 100);
    assert.strictEqual(
      alone.nextStep,
      "Create a second key for u, move applications to it, deactivate key AKIAAAAAAAAAAAAAAAA1, " +
        "check with GetAccessKeyLastUsed that nothing still uses it, wait a few days, then delete it.",
    );
    const [old, young] = judgeUserKeys(
      [
        key({ createDate: daysAgo(100) }),
        key({ accessKeyId: "AKIAAAAAAAAAAAAAAAA2", createDate: daysAgo(5) }),
      ],
      rules,
    );
    assert.match(
      old.nextStep,
      /^Move applications to u's newer Active key AKIAAAAAAAAAAAAAAAA2, deactivate key AKIAAAAAAAAAAAAAAAA1/,
    );
    assert.strictEqual(young.nextStep, `None; rotate it before ${daysAgo(-85).slice(0, 10)}.`);
    const [inactive, active] = judgeUserKeys(
      [
        key({ accessKeyId: "AKIAAAAAAAAAAAAAAAA2", status: "Inactive", createDate: daysAgo(200) }),
        key({ createDate: daysAgo(100) }),
      ],
      rules,
    );
    assert.strictEqual(inactive.verdict, "delete");
    assert.strictEqual(
      inactive.nextStep,
      "Check that nothing needs key AKIAAAAAAAAAAAAAAAA2 (never used), then delete it: " +
        "aws iam delete-access-key --user-name u --access-key-id AKIAAAAAAAAAAAAAAAA2",
    );
    assert.match(
      active.nextStep,
      /^u already has two keys \(the IAM limit\): delete the Inactive key AKIAAAAAAAAAAAAAAAA2 first/,
    );
  });

  it("exemptions: a current one makes rotate/delete exempt, an expired one stops applying", () => {
    const exemptions = [
      { accessKeyId: "AKIAAAAAAAAAAAAAAAA1", reason: "vendor appliance, CHG-1", expires: "2027-07-01" },
      { userName: "legacy", reason: "old", expires: "2027-05-01" },
    ];
    const [exempt] = judgeUserKeys([key({ createDate: daysAgo(100) })], { ...rules, exemptions });
    assert.strictEqual(exempt.verdict, "exempt");
    assert.deepStrictEqual(exempt.exemption, {
      matchedBy: "accessKeyId",
      reason: "vendor appliance, CHG-1",
      expires: "2027-07-01",
      expired: false,
    });
    assert.strictEqual(exempt.nextStep, "None until 2027-07-01; then rotate it or renew the exemption.");
    assert.strictEqual(
      exempt.reason,
      "Active and 100 days old, over the 90-day limit, but exempt until 2027-07-01: vendor appliance, CHG-1.",
    );
    const [expired] = judgeUserKeys(
      [key({ userName: "legacy", accessKeyId: null, createDate: daysAgo(100) })],
      {
        ...rules,
        exemptions,
      },
    );
    assert.strictEqual(expired.verdict, "rotate");
    assert.strictEqual(
      expired.nextStep,
      "Create a second key for legacy, move applications to it, deactivate key created " +
        `${daysAgo(100)}, check with GetAccessKeyLastUsed that nothing still uses it, wait a few days, then delete it.`,
    );
    assert.strictEqual(expired.exemption?.expired, true);
    assert.match(expired.reason, /Its exemption expired on 2027-05-01\.$/);
    const [fine] = judgeUserKeys([key({})], { ...rules, exemptions });
    assert.strictEqual(fine.verdict, "ok");
  });
});

describe("audit: which verdicts need the last use (what the live listing may skip)", () => {
  /** Every kind of key: Active young/old, Inactive young/old, used recently, long ago or never. */
  const bare: Partial<AuditKey>[] = [
    { status: "Active", createDate: daysAgo(10) },
    { status: "Active", createDate: daysAgo(10), lastUsedDate: daysAgo(1) },
    { status: "Active", createDate: daysAgo(200) },
    { status: "Active", createDate: daysAgo(200), lastUsedDate: daysAgo(100) },
    { status: "Inactive", createDate: daysAgo(10) },
    { status: "Inactive", createDate: daysAgo(10), lastUsedDate: daysAgo(2) },
    { status: "Inactive", createDate: daysAgo(200) },
    { status: "Inactive", createDate: daysAgo(200), lastUsedDate: daysAgo(5) },
    { status: "Inactive", createDate: daysAgo(200), lastUsedDate: daysAgo(150) },
  ];
  const kinds = bare.map((k) =>
    k.lastUsedDate ? { ...k, lastUsedService: "s3", lastUsedRegion: "eu-west-1" } : k,
  );
  const unread = (k: AuditKey): AuditKey => ({
    ...k,
    lastUsedDate: null,
    lastUsedService: null,
    lastUsedRegion: null,
    lastUsedRead: false,
  });
  /** What a finding says apart from the last-use fields themselves. */
  const judged = (f: Finding) => [
    f.userName,
    f.accessKeyId,
    f.status,
    f.ageDays,
    f.verdict,
    f.reason,
    f.nextStep,
    f.exemption,
  ];
  const exemptionSets = [
    [],
    [{ userName: "u", reason: "ticket 1", expires: "2027-07-01" }],
    [{ userName: "u", reason: "ticket 2", expires: "2027-05-01" }],
  ];

  it("only Inactive keys need it", () => {
    assert.deepStrictEqual(
      kinds.map((k) => verdictNeedsLastUse(key(k))),
      [false, false, false, false, true, true, true, true, true],
    );
  });

  it("skipping it where it is not needed changes no verdict, reason, next step or exemption (every pair of keys)", () => {
    let compared = 0;
    for (const exemptions of exemptionSets) {
      for (const a of kinds) {
        for (const b of [undefined, ...kinds]) {
          const keys = [key(a), ...(b ? [key({ ...b, accessKeyId: "AKIAAAAAAAAAAAAAAAA2" })] : [])];
          const full = judgeUserKeys(keys, { ...rules, exemptions });
          const skipped = judgeUserKeys(
            keys.map((k) => (verdictNeedsLastUse(k) ? k : unread(k))),
            { ...rules, exemptions },
          );
          assert.deepStrictEqual(skipped.map(judged), full.map(judged), JSON.stringify({ a, b, exemptions }));
          compared += full.length;
        }
      }
    }
    assert.strictEqual(compared, 3 * (9 + 9 * 9 * 2));
  });

  it("an Inactive key's verdict does change without it (so it is always read)", () => {
    const used = key({ status: "Inactive", createDate: daysAgo(200), lastUsedDate: daysAgo(5) });
    assert.strictEqual(judgeUserKeys([used], rules)[0].verdict, "ok");
    assert.strictEqual(judgeUserKeys([unread(used)], rules)[0].verdict, "delete");
  });
});

describe("audit credential report parsing", () => {
  const header =
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation," +
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region," +
    "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date," +
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
  const csv = [
    header,
    "<root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    "alice,arn:aws:iam::1:user/teams/a/alice,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2027-01-02T03:04:05+00:00,2027-05-30T10:00:00+00:00,eu-west-1,s3,false,2026-01-01T00:00:00+00:00,no_information,N/A,N/A,false,N/A,false,N/A",
    "bob,arn:aws:iam::1:user/bob,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
  ].join("\n");

  it("reads both key slots, maps N/A and no_information to null, skips the root account", () => {
    const users = parseCredentialReport(csv);
    assert.deepStrictEqual(
      users.map((u) => [u.userName, u.path, u.keys.length]),
      [
        ["alice", "/teams/a/", 2],
        ["bob", "/", 0],
      ],
    );
    assert.deepStrictEqual(users[0].keys, [
      {
        userName: "alice",
        accessKeyId: null,
        status: "Active",
        createDate: "2027-01-02T03:04:05Z",
        lastUsedDate: "2027-05-30T10:00:00Z",
        lastUsedService: "s3",
        lastUsedRegion: "eu-west-1",
        lastUsedRead: true,
        source: "report",
      },
      {
        userName: "alice",
        accessKeyId: null,
        status: "Inactive",
        createDate: "2026-01-01T00:00:00Z",
        lastUsedDate: null,
        lastUsedService: null,
        lastUsedRegion: null,
        lastUsedRead: true,
        source: "report",
      },
    ]);
  });

  it("rejects a report without the key columns, naming them", () => {
    assert.throws(
      () => parseCredentialReport("user,arn\nalice,arn:aws:iam::1:user/alice\n"),
      /lacks the column\(s\) access_key_1_active/,
    );
  });

  it("derives IAM paths from ARNs", () => {
    assert.strictEqual(
      pathFromArn("arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob"),
      "/division_abc/subdivision_xyz/",
    );
    assert.strictEqual(pathFromArn("arn:aws-cn:iam::123456789012:user/Bob"), "/");
  });
});

describe("audit credential report states (injected port: moto generates reports instantly)", () => {
  const notReady = () => new iam.CredentialReportNotReadyException({ message: "in progress", $metadata: {} });
  const notPresent = () => new iam.CredentialReportNotPresentException({ message: "absent", $metadata: {} });
  const content = new Uint8Array(Buffer.from("user,arn\n"));

  function scripted(generates: (string | Error)[], gets: (Error | "ok")[]) {
    const calls: string[] = [];
    const port: CredentialReportPort = {
      async generate() {
        const next = generates.shift();
        calls.push(`generate:${next instanceof Error ? next.name : next}`);
        if (next instanceof Error) throw next;
        return { State: next };
      },
      async get() {
        const next = gets.shift();
        calls.push(`get:${next instanceof Error ? next.name : next}`);
        if (next instanceof Error) throw next;
        return {
          Content: content,
          GeneratedTime: new Date("2027-06-01T11:00:00Z"),
          ReportFormat: "text/csv",
        };
      },
    };
    return { port, calls };
  }

  it("generates when absent, polls with doubling backoff while STARTED/INPROGRESS, then reads", async () => {
    const { port, calls } = scripted(
      ["STARTED", "INPROGRESS", "INPROGRESS", "COMPLETE"],
      [notPresent(), "ok"],
    );
    const sleeps: number[] = [];
    const report = await fetchCredentialReport(port, {
      timeoutMs: 60_000,
      sleep: async (ms) => void sleeps.push(ms),
    });
    assert.deepStrictEqual(calls, [
      "get:CredentialReportNotPresentException",
      "generate:STARTED",
      "generate:INPROGRESS",
      "generate:INPROGRESS",
      "generate:COMPLETE",
      "get:ok",
    ]);
    assert.deepStrictEqual(sleeps, [250, 500, 1000]);
    assert.deepStrictEqual(report.trace, ["absent", "STARTED", "INPROGRESS", "INPROGRESS", "COMPLETE"]);
    assert.strictEqual(report.generated, true);
    assert.strictEqual(report.content, "user,arn\n");
  });

  it("treats ReportInProgress from GetCredentialReport and the generation limit as 'wait and ask again'", async () => {
    const limit = new iam.ReportGenerationLimitExceededException({ message: "limit", $metadata: {} });
    const { port, calls } = scripted([limit, "COMPLETE", "COMPLETE"], [notReady(), notReady(), "ok"]);
    const report = await fetchCredentialReport(port, { timeoutMs: 60_000, sleep: async () => undefined });
    assert.deepStrictEqual(report.trace, ["not-ready", "limit", "COMPLETE", "not-ready", "COMPLETE"]);
    assert.strictEqual(calls.length, 6);
  });

  it("gives up after the timeout with a message that says what to do", async () => {
    let t = 0;
    const { port } = scripted(Array(50).fill("INPROGRESS"), [notPresent()]);
    await assert.rejects(
      fetchCredentialReport(port, {
        timeoutMs: 10_000,
        clock: () => t,
        sleep: async (ms) => {
          t += ms;
        },
      }),
      (err: Error) =>
        err instanceof ReportTimeoutError &&
        /still being generated after \d+ s\. Run the audit again later, raise --report-timeout-seconds, or use --source live\./.test(
          err.message,
        ),
    );
    assert.ok(t <= 10_000);
  });
});

describe("audit CSV writer (RFC 4180)", () => {
  it("round-trips commas, quotes, CR/LF and empty values through csv-parse", () => {
    const rows = [
      ["a", "b,c", 'say "hi"', "line1\r\nline2", "", 7, true, null],
      ["x=1+2", "@u", "-", "tail ", " ", 0, false, undefined],
    ];
    const text = csvRecords(rows);
    assert.ok(text.endsWith("\r\n"));
    assert.deepStrictEqual(
      parse(text, { relax_column_count: false }),
      rows.map((r) => r.map((v) => (v === null || v === undefined ? "" : String(v)))),
    );
  });
});

describe("audit command line", () => {
  it("parses every option", () => {
    const parsed = parseCommand([
      "audit",
      "--max-age-days=60",
      "--unused-days",
      "14",
      "--user",
      "alice,bob",
      "--user",
      "carol",
      "--path-prefix",
      "/teams/",
      "--source",
      "live",
      "--format",
      "csv",
      "--exemptions",
      "x.json",
      "--fail-on",
      "rotate,delete",
      "--check-schedule",
      "--profile",
      "audit",
      "--region",
      "eu-west-1",
      "--concurrency",
      "4",
      "--last-used",
      "all",
      "--page-size",
      "50",
      "--report-max-age-hours",
      "1.5",
      "--report-timeout-seconds",
      "30",
      "--max-attempts",
      "3",
    ]);
    assert.deepStrictEqual(parsed, {
      help: false,
      format: "csv",
      exemptionsFile: "x.json",
      client: { profile: "audit", region: "eu-west-1", maxAttempts: 3 },
      audit: {
        maxAgeDays: 60,
        unusedDays: 14,
        userNames: ["alice", "bob", "carol"],
        pathPrefix: "/teams/",
        source: "live",
        failOn: ["rotate", "delete"],
        checkSchedule: true,
        concurrency: 4,
        lastUse: "all",
        pageSize: 50,
        reportMaxAgeHours: 1.5,
        reportTimeoutSeconds: 30,
      },
    });
  });

  const bad: [string[], RegExp][] = [
    [[], /Missing the command/],
    [["scan"], /Unknown command "scan"/],
    [["audit", "--format", "xml"], /--format must be one of table, json, csv, not "xml"/],
    [["audit", "--max-age-days", "0"], /--max-age-days must be a whole number from 1 to 36500, not "0"/],
    [["audit", "--concurrency", "500"], /--concurrency must be a whole number from 1 to 64/],
    [["audit", "--source", "cache"], /--source must be one of auto, live, report/],
    [["audit", "--user", "bad name"], /--user "bad name" is not an IAM user name/],
    [["audit", "--path-prefix", "teams"], /--path-prefix must start with "\/"/],
    [["audit", "--fail-on", "ok"], /--fail-on must be one of rotate, delete, rotation-stopped, not "ok"/],
    [
      ["audit", "--source", "report", "--check-schedule"],
      /^--check-schedule needs key ids to match the rotation's key tags, which the credential report lacks: use --source auto or live\.$/,
    ],
    [
      ["audit", "--source", "report", "--fail-on", "rotate,rotation-stopped"],
      /^--fail-on rotation-stopped needs key ids to match the rotation's key tags, which the credential report lacks/,
    ],
    [["audit", "--last-used", "some"], /--last-used must be one of needed, all, not "some"/],
    [["audit", "--verbose"], /Unknown option '--verbose'/],
    [["audit", "alice"], /Unexpected argument "alice" \(name users with --user\)/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(
        () => parseCommand(argv),
        (err: Error) => err instanceof UsageError && message.test(err.message),
      );
    });
  }
});

describe("audit progress and errors", () => {
  it("shows progress only on a terminal, throttled, and clears it", () => {
    const written: string[] = [];
    let t = 0;
    const tty = createProgress({ isTTY: true, write: (s: string) => written.push(s) }, { clock: () => t });
    tty.update("a");
    tty.update("b");
    t = 150;
    tty.update("c");
    tty.done();
    assert.deepStrictEqual(written, ["\r\x1b[2Ka", "\r\x1b[2Kc", "\r\x1b[2K"]);
    const piped: string[] = [];
    const pipe = createProgress({ isTTY: false, write: (s: string) => piped.push(s) });
    pipe.update("a");
    pipe.done();
    assert.deepStrictEqual(piped, []);
  });

  it("names the IAM action in an access-denied message and the endpoint when unreachable", () => {
    const denied = Object.assign(
      new Error("User: arn:aws:iam::1:user/ci is not authorized to perform: iam:ListAccessKeys"),
      {
        name: "AccessDenied",
        $iamAction: "iam:ListAccessKeys",
      },
    );
    assert.match(
      explainAwsError(denied, {}),
      /^Access denied \(calling iam:ListAccessKeys\): the audit's credentials may not call iam:ListAccessKeys\. Grant iam:ListAccessKeys/,
    );
    const down = Object.assign(
      new EndpointUnreachableError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9"),
      {
        $iamAction: "iam:ListUsers",
      },
    );
    assert.strictEqual(
      explainAwsError(down, { AWS_ENDPOINT_URL_IAM: "http://127.0.0.1:9" }),
      "Could not reach the IAM endpoint http://127.0.0.1:9 (from AWS_ENDPOINT_URL_IAM/AWS_ENDPOINT_URL) (calling iam:ListUsers): " +
        "connect ECONNREFUSED 127.0.0.1:9. Check the network, proxy settings, --region, and AWS_ENDPOINT_URL_IAM if you set it.",
    );
    const creds = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    assert.match(explainAwsError(creds, {}), /^No AWS credentials found: .*Pass --profile NAME/);
  });
});
