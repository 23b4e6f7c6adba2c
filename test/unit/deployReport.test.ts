/**
 * deploy-report (runner/deployReport.ts), pure: annotations and exit codes from engine event logs.
 * The fixtures in test/fixtures/event-logs/ were written by the real CLI (v3.276.0) in
 * test/e2e/deployReport.test.ts (`pulumi up --event-log`, kept with KEYROTATION_KEEP_EVENT_LOGS),
 * with the engine's debug events removed (they hold RegisterResource answers, secrets included);
 * refused-undelivered.log is that run's CLI output (secret outputs show as [secret]).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  deployReportCommand,
  escapeData,
  escapeProperty,
  outputErrors,
  plainText,
  renderReport,
  reportDeploy,
  subjectOf,
} from "../../runner/deployReport";

const FIXTURES = path.join(__dirname, "..", "fixtures", "event-logs");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.jsonl`), "utf8");

const line = (event: Record<string, unknown>) => JSON.stringify({ sequence: 1, timestamp: 1, ...event });
const diag = (severity: string, message: string, urn?: string) =>
  line({ diagnosticEvent: { severity, message, ...(urn ? { urn } : {}) } });
const summary = (result: string) => line({ summaryEvent: { resourceChanges: {}, result } });
const SCHEDULE_URN =
  "urn:pulumi:prod::aws-key-rotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:RotationSchedule::ci-schedule";
const COMPONENT_URN = "urn:pulumi:prod::aws-key-rotation::keyrotation:iam:RotatingAccessKey::ci";

describe("deploy-report on event logs the real CLI wrote", () => {
  const recorded: [string, number, [string, RegExp][]][] = [
    ["day0", 0, []],
    ["day30", 0, []],
    ["day37-waits", 0, [["warning", /^Key retirement waits: app-\d+ AKIA[A-Z0-9]{16}$/]]],
    ["refused", 1, [["error", /^Deploy refused \(a person must act\): legacy-\d+ AKIA[A-Z0-9]{16}$/]]],
    ["unreachable", 4, [["error", /^Deploy failed \(transient: try again\): app-\d+$/]]],
  ];
  for (const [name, code, expected] of recorded) {
    it(`${name}: exit ${code}, ${expected.length} annotation(s)`, () => {
      const report = reportDeploy(fixture(name));
      assert.strictEqual(report.exitCode, code);
      assert.strictEqual(report.finished, true);
      assert.strictEqual(report.annotations.length, expected.length, JSON.stringify(report.annotations));
      report.annotations.forEach((a, i) => {
        assert.strictEqual(a.level, expected[i][0]);
        assert.match(a.title, expected[i][1]);
      });
    });
  }

  it("the waiting key's annotation carries the component's message: key, last use, service, region, until when", () => {
    const [waits] = reportDeploy(fixture("day37-waits")).annotations;
    assert.match(
      waits.message,
      /^app-\d+: deactivation waits: (AKIA[A-Z0-9]{16}) was used \S+ by service sts in region us-east-1, within deletionGuardHours 24; it is deactivated by the first deploy after \S+ without a use \(move that application to the current key\)$/,
    );
  });

  it("the refusal's annotation is one GitHub workflow command, its title escaped", () => {
    const text = renderReport(reportDeploy(fixture("refused")), "github");
    const lines = text.trimEnd().split("\n");
    assert.strictEqual(lines.length, 2);
    assert.match(
      lines[0],
      /^::error title=Deploy refused \(a person must act\)%3A legacy-\d+ AKIA[A-Z0-9]{16}::keyrotation:iam:RotationSchedule resource 'legacy-\d+-schedule': property unmanagedKeys value \{fail\} has a problem: IAM user "legacy-\d+" has 1 access key\(s\) that RotatingAccessKey did not create\./,
    );
    assert.strictEqual(lines[1], "::notice title=deploy-report::exit 1: a person must act");
  });

  it("a refusal after which the SDK could not deliver the component's info line: one error, exit 1", () => {
    // The engine stopped on the refusal while the program still logged; the Node SDK wrote its
    // note on the undelivered line to stderr, which the CLI's output repeats under the stack.
    const output = fs.readFileSync(path.join(FIXTURES, "refused-undelivered.log"), "utf8");
    assert.ok(output.includes("error: Error: Channel has been shut down"));
    const report = reportDeploy(fixture("refused-undelivered"), output);
    assert.deepStrictEqual(
      report.annotations.map((a) => `${a.level} ${a.kind} ${a.title.replace(/\d+/g, "N")}`),
      ["error action-needed Deploy refused (a person must act): legacy-N AKIARZPUZDIKHFEBNWB"],
    );
    assert.strictEqual(report.exitCode, 1);
  });
});

describe("deploy-report (table)", () => {
  const rows: [string, string | undefined, string | undefined, number, string[]][] = [
    [
      "a converged deploy with an engine note only",
      [
        diag("warning", "Undefined value (accounts) will not show as a stack output.\n"),
        summary("succeeded"),
      ].join("\n"),
      undefined,
      0,
      [],
    ],
    [
      "the rotation's own warning",
      [
        diag("warning", "deactivate key generation 1 (slot a) now: the age limit wins", COMPONENT_URN),
        summary("succeeded"),
      ].join("\n"),
      undefined,
      0,
      ["warning Rotation warning: ci"],
    ],
    [
      "info lines that do not wait are not annotated",
      [diag("info", "ci: create key generation 1 in slot a\n", COMPONENT_URN), summary("succeeded")].join(
        "\n",
      ),
      undefined,
      0,
      [],
    ],
    [
      "throttling",
      [
        diag(
          "error",
          'Reading when the keys of IAM user "ci" were last used failed: ThrottlingException: Rate exceeded',
          SCHEDULE_URN,
        ),
        diag("error", "update failed"),
        summary("failed"),
      ].join("\n"),
      undefined,
      4,
      ["error Deploy failed (transient: try again): ci"],
    ],
    [
      "access denied",
      [
        diag(
          "error",
          'Listing the access keys of IAM user "ci" failed: AccessDenied: User is not authorized to perform: iam:ListAccessKeys',
          SCHEDULE_URN,
        ),
        summary("failed"),
      ].join("\n"),
      undefined,
      1,
      ["error Deploy refused (a person must act): ci"],
    ],
    [
      "an account that cannot be assumed",
      [
        diag(
          "error",
          "Assuming keyrotation:assumeRole.roleArn arn:aws:iam::111111111111:role/KeyRotation failed: AccessDenied",
        ),
        summary("failed"),
      ].join("\n"),
      undefined,
      3,
      ["error Account unreachable"],
    ],
    [
      "a refusal wins over a transient failure",
      [
        diag("error", 'IAM user "a" ... Refusing to manage the user', SCHEDULE_URN),
        diag("error", 'IAM user "b" failed: socket hang up', SCHEDULE_URN),
        summary("failed"),
      ].join("\n"),
      undefined,
      1,
      ["error Deploy refused (a person must act): a", "error Deploy failed (transient: try again): b"],
    ],
    [
      "an unknown error",
      [diag("error", "something unexpected"), summary("failed")].join("\n"),
      undefined,
      5,
      ["error Deploy failed"],
    ],
    [
      "only the engine's closing error",
      [diag("error", "update failed"), summary("failed")].join("\n"),
      undefined,
      5,
      ["error Deploy failed"],
    ],
    [
      "a mandatory policy violation",
      [
        line({
          policyEvent: {
            message: "Access key AKIAEXAMPLE000000001 of user ci is 91 days old",
            policyName: "iam-access-key-max-age",
            policyPackName: "aws-key-rotation",
            enforcementLevel: "mandatory",
          },
        }),
        summary("failed"),
      ].join("\n"),
      undefined,
      1,
      ["error Policy violation (aws-key-rotation/iam-access-key-max-age): AKIAEXAMPLE000000001"],
    ],
    [
      "an advisory policy finding",
      [
        line({
          policyEvent: {
            message: "stale key outside the stack",
            policyName: "outside",
            policyPackName: "aws-key-rotation",
            enforcementLevel: "advisory",
          },
        }),
        summary("succeeded"),
      ].join("\n"),
      undefined,
      0,
      ["warning Policy advisory (aws-key-rotation/outside)"],
    ],
    [
      "a log cut off (killed deploy)",
      [diag("info", "x", COMPONENT_URN), '{"sequence": 9, "diagnosticEv'].join("\n"),
      undefined,
      5,
      ["error Deploy failed"],
    ],
    [
      "no log, a locked stack in the CLI's output",
      undefined,
      "Updating (prod):\nerror: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n",
      1,
      ["error Deploy refused (a person must act)"],
    ],
    [
      "no log, a backend that cannot be reached",
      undefined,
      "error: failed to load checkpoint: dial tcp: lookup bucket.s3.amazonaws.com: i/o timeout\n",
      4,
      ["error Deploy failed (transient: try again)"],
    ],
    ["no log and no output", undefined, undefined, 5, ["error Deploy failed"]],
    [
      "the CLI repeats the engine's error: counted once",
      [diag("error", "something unexpected"), summary("failed")].join("\n"),
      "error: something unexpected\n",
      5,
      ["error Deploy failed"],
    ],
  ];
  for (const [name, log, output, code, annotations] of rows) {
    it(`${name}: exit ${code}`, () => {
      const report = reportDeploy(log, output);
      assert.deepStrictEqual(
        report.annotations.map((a) => `${a.level} ${a.title}`),
        annotations,
        JSON.stringify(report.annotations),
      );
      assert.strictEqual(report.exitCode, code);
    });
  }

  it("strips the engine's colour directives and terminal escapes", () => {
    assert.strictEqual(plainText("<{%fg 1%}>error<{%reset%}>: \x1b[31mno\x1b[0m"), "error: no");
  });

  it("names the user and the first key id a message names, else the resource", () => {
    assert.strictEqual(
      subjectOf('IAM user "ci" key AKIAABCDEFGHIJKLMNOP and AKIAZZZZZZZZZZZZZZZZ'),
      "ci AKIAABCDEFGHIJKLMNOP",
    );
    assert.strictEqual(subjectOf("no names", SCHEDULE_URN), "ci-schedule");
    assert.strictEqual(subjectOf("no names"), "");
  });

  it("escapes workflow command data and properties", () => {
    assert.strictEqual(escapeData("50% done\r\nnext"), "50%25 done%0D%0Anext");
    assert.strictEqual(escapeProperty("a: b, c"), "a%3A b%2C c");
  });

  it("finds the error lines of the CLI's output", () => {
    assert.deepStrictEqual(outputErrors("ok\n  error: one\nerror: two\nwarning: three\n"), ["one", "two"]);
  });

  it("skips the Node SDK's note on a log message it could not deliver, and finds errors after it", () => {
    const note = [
      "  pulumi:pulumi:Stack (prod):",
      "    failed to deliver log message.",
      "    error: Error: Channel has been shut down",
      "    original message: ci: two lines",
      "    error: of the original message",
      "     message severity: info",
      "error: after the note",
    ].join("\n");
    assert.deepStrictEqual(outputErrors(`error: before\n${note}\n`), ["before", "after the note"]);
  });

  it("--format text: one plain line per annotation, then the exit code's meaning", () => {
    const text = renderReport(reportDeploy(fixture("unreachable")), "text");
    const lines = text.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^error: Deploy failed \(transient: try again\): app-\d+: keyrotation:iam:RotationSchedule resource/,
    );
    assert.strictEqual(lines[1], "deploy-report: exit 4: try again");
  });
});

describe("deploy-report command line", () => {
  const run = (argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = deployReportCommand(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    return { code, stdout, stderr };
  };

  it("reads the event log, prints annotations, exits with the report's code", () => {
    const r = run(["--event-log", path.join(FIXTURES, "refused.jsonl")]);
    assert.strictEqual(r.code, 1);
    assert.ok(r.stdout.startsWith("::error title=Deploy refused"), r.stdout);
    assert.strictEqual(r.stderr, "");
  });

  const bad: [string[], RegExp][] = [
    [[], /^error: --event-log FILE is required: the file pulumi up --event-log FILE wrote\.\n$/],
    [["--event-log", "x", "--format", "xml"], /^error: --format must be github or text, not "xml"\.\n$/],
    [["--verbose"], /^error: Unknown option '--verbose'/],
  ];
  for (const [argv, message] of bad) {
    it(`exit 2 for ${JSON.stringify(argv)}`, () => {
      const r = run(argv);
      assert.strictEqual(r.code, 2);
      assert.match(r.stderr, message);
    });
  }

  it("a missing event log names the file; exit 5", () => {
    const r = run(["--event-log", path.join(FIXTURES, "absent.jsonl")]);
    assert.strictEqual(r.code, 5);
    assert.match(
      r.stdout,
      /^::error title=Deploy failed::No engine event log at \S+absent\.jsonl: pulumi up failed before the engine started/,
    );
  });
});
