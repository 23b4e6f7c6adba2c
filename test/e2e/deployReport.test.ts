/**
 * The scheduled workflow's deploy step with the real Pulumi CLI: `pulumi up --event-log FILE` of
 * the root project, then `pulumi-aws-key-rotation deploy-report --event-log FILE` (the built bin,
 * as the workflow runs it), which prints GitHub annotations naming the waiting or refused key and
 * exits with the codes of core/exitCodes.ts: 0 a converged deploy (a retirement that waits is a
 * warning), 1 a refused deploy (a person must act), 4 an unreachable IAM endpoint (try again).
 * The first deploy also writes the schedule tag the audit's rotation-stopped verdict reads.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { addDays } from "../../core/clock";
import { adminIam, freePort, setClock } from "../support/moto";
import { REPO_ROOT, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const CLI = path.join(REPO_ROOT, "dist", "audit", "cli.js");

/** Signs a request with the key, as an application would (IAM records the use). */
async function useKey(accessKeyId: string, secretAccessKey: string): Promise<void> {
  const client = new sts.STSClient({ region: "us-east-1", credentials: { accessKeyId, secretAccessKey } });
  try {
    await client.send(new sts.GetCallerIdentityCommand({}));
  } finally {
    client.destroy();
  }
}

describe("e2e: the scheduled deploy step (pulumi up --event-log, then deploy-report)", function () {
  this.timeout(1_800_000);
  let stack: TestStack;
  const app = `app-${process.pid}`;
  const legacy = `legacy-${process.pid}`;
  const T0 = new Date(Date.now() + 5 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let logDir: string;

  /** `pulumi up` with an event log, then deploy-report on it; the log is kept for the fixtures. */
  async function deployAndReport(name: string, env: Record<string, string> = {}) {
    const eventLog = path.join(logDir, `${name}.jsonl`);
    // --event-log is one of the CLI's debug flags (the Automation API uses it too).
    const up = await stack.up(["--event-log", eventLog], { PULUMI_DEBUG_COMMANDS: "true", ...env }, false);
    assert.ok(fs.existsSync(eventLog), `pulumi up wrote no event log (exit ${up.code}):\n${up.visible}`);
    // The CLI's own output, as the workflow tees it: its errors repeat the engine's, counted once.
    const output = path.join(logDir, `${name}.log`);
    fs.writeFileSync(output, `${up.stdout}\n${up.stderr}`);
    const report = spawnSync(
      process.execPath,
      [CLI, "deploy-report", "--event-log", eventLog, "--output", output],
      {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    // The event log holds the engine's debug events, and the Node SDK logs each RegisterResource
    // answer there, a new key's secret included: the workflow never uploads it and deletes it.
    // deploy-report reads only errors, warnings and policy events, which hold none.
    const lines = fs.readFileSync(eventLog, "utf8").split("\n");
    const debug = (l: string) => l.includes('"severity":"debug"');
    assertNoSecrets(lines.filter((l) => !debug(l)).join("\n"), `event log ${name} without debug events`);
    assertNoSecrets(report.stdout + report.stderr, `deploy-report ${name}`);
    return { up, report, eventLog };
  }

  before(async () => {
    await adminIam().send(new iam.CreateUserCommand({ UserName: app }));
    stack = new TestStack({ projectDir: REPO_ROOT, stackName: "deployreport" });
    logDir = path.join(stack.workDir, "event-logs");
    fs.mkdirSync(logDir);
    await stack.init();
    await stack.setConfig("aws-key-rotation:users[0]", app, { path: true });
    await setClock(T0);
  });

  after(async () => {
    if (process.env.KEYROTATION_KEEP_EVENT_LOGS) {
      fs.cpSync(logDir, process.env.KEYROTATION_KEEP_EVENT_LOGS, { recursive: true });
    }
    await stack?.remove();
  });

  const secrets = new Map<string, string>();
  /** Remembers the current key's secret (the application's copy). */
  async function remember(): Promise<string> {
    const out = await stack.outputs(true);
    const id = (out.accessKeyIds as Record<string, string>)[app];
    const secret = (out.secretAccessKeys as Record<string, string>)[app];
    registerSecret(secret);
    secrets.set(id, secret);
    return id;
  }

  it("day 0: converged, no annotation, exit 0; the user carries the schedule tag", async () => {
    const { up, report } = await deployAndReport("day0");
    assert.strictEqual(up.code, 0, up.visible);
    assert.strictEqual(report.status, 0, report.stdout + report.stderr);
    assert.strictEqual(report.stdout, "");
    await remember();
    const tags = (await adminIam().send(new iam.ListUserTagsCommand({ UserName: app }))).Tags ?? [];
    assert.deepStrictEqual(
      tags.filter((t) => t.Key === "keyrotation:schedule").map((t) => t.Value),
      ["rotation=30 overlap=7 max=90"],
    );
  });

  it("day 37 with the old key used an hour ago: the deactivation waits, a warning names the key; exit 0", async () => {
    await setClock(addDays(T0, 30));
    const rotated = await deployAndReport("day30");
    assert.strictEqual(rotated.report.status, 0, rotated.report.stdout);
    const out = await stack.outputs(true);
    const previous = (out.previousAccessKeyIds as Record<string, string>)[app];
    await remember();
    // An application still signs with the old key an hour before the day-37 deploy.
    await setClock(addDays(T0, 36.95));
    await useKey(previous, secrets.get(previous) as string);
    await setClock(addDays(T0, 37));
    const { up, report } = await deployAndReport("day37-waits");
    assert.strictEqual(up.code, 0, up.visible);
    assert.strictEqual(report.status, 0, report.stdout + report.stderr);
    const lines = report.stdout.trimEnd().split("\n");
    assert.strictEqual(lines.length, 1, report.stdout);
    assert.match(lines[0], new RegExp(`^::warning title=Key retirement waits%3A ${app} ${previous}::`));
    assert.ok(lines[0].includes(`deactivation waits: ${previous} was used `), lines[0]);
    assert.ok(lines[0].includes("by service sts in region"), lines[0]);
  });

  it("a user with a key made outside the rotation: the deploy is refused, an error names the user and the key; exit 1", async () => {
    await adminIam().send(new iam.CreateUserCommand({ UserName: legacy }));
    const made = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: legacy }));
    registerSecret(made.AccessKey?.SecretAccessKey);
    const keyId = made.AccessKey?.AccessKeyId as string;
    await stack.setConfig("aws-key-rotation:users[1]", legacy, { path: true });
    const { up, report } = await deployAndReport("refused");
    assert.notStrictEqual(up.code, 0);
    assert.strictEqual(report.status, 1, report.stdout + report.stderr);
    const errors = report.stdout.split("\n").filter((l) => l.startsWith("::error"));
    assert.strictEqual(errors.length, 1, report.stdout);
    assert.match(
      errors[0],
      new RegExp(`^::error title=Deploy refused \\(a person must act\\)%3A ${legacy} ${keyId}::`),
    );
    assert.ok(errors[0].includes(`has 1 access key(s) that RotatingAccessKey did not create`), errors[0]);
    assert.ok(
      report.stdout.endsWith("::notice title=deploy-report::exit 1: a person must act\n"),
      report.stdout,
    );
  });

  it("IAM unreachable: the deploy fails as transient, exit 4 (the workflow retries)", async () => {
    await stack.run(
      [
        "config",
        "rm",
        "--path",
        "aws-key-rotation:users[1]",
        "--stack",
        stack.stackName,
        "--config-file",
        stack.configFile,
      ],
      {},
      false,
    );
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { up, report } = await deployAndReport("unreachable", {
      AWS_ENDPOINT_URL_IAM: closed,
      AWS_ENDPOINT_URL_STS: closed,
    });
    assert.notStrictEqual(up.code, 0);
    assert.strictEqual(report.status, 4, report.stdout + report.stderr);
    assert.match(
      report.stdout,
      /^::error title=Deploy failed \(transient%3A try again\)%3A app-\d+::keyrotation:iam:RotationSchedule resource 'app-\d+-schedule': property userName value \{app-\d+\} has a problem: Listing the access keys of IAM user "app-\d+" failed: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/m,
    );
    assert.ok(report.stdout.endsWith("::notice title=deploy-report::exit 4: try again\n"), report.stdout);
  });

  it("a missing event log (pulumi up never started the engine): exit 5, saying so", () => {
    const r = spawnSync(
      process.execPath,
      [CLI, "deploy-report", "--event-log", path.join(logDir, "none.jsonl")],
      {
        encoding: "utf8",
      },
    );
    assert.strictEqual(r.status, 5);
    assert.match(r.stdout, /^::error title=Deploy failed::No engine event log at /);
  });
});
