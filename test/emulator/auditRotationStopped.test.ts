/**
 * The audit's rotation-stopped verdict over users deployed by the provider code (the schedule's
 * check, create and update, and the key provider's create, as the engine calls them) against the
 * IAM emulator, with IAM's clock moved: a rotation that stopped after its first deploy is
 * `rotation-stopped` with its due date and days left; a rotation that goes on, a stale key, a key
 * made outside the rotation and a user without the schedule tag are not. Live and auto agree, the
 * tags are read only for users with a key the verdict could apply to, and `--fail-on` decides the
 * exit code.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { AuditResult } from "../../audit/audit";
import { instrumentClient } from "../../audit/client";
import { CliIo, main } from "../../audit/cli";
import { Finding } from "../../audit/verdict";
import { accessKeyProvider } from "../../components/providers/accessKey";
import { AccessKeyOutputs } from "../../components/providers/accessKeyOps";
import { checkSchedule, scheduleProvider, ScheduleState } from "../../components/providers/rotationSchedule";
import { createIamClient } from "../../core/iam";
import { Slot, SLOTS } from "../../core/types";
import { countCalls } from "../support/countCalls";
import { adminIam, resetClock, resetEmulator, setClock } from "../support/moto";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const DAY = 86_400_000;
// Next UTC midnight + 1 h: ahead of the real clock (the override only moves forward).
const T0 = new Date(Math.ceil(Date.now() / DAY) * DAY + 3_600_000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const AUDIT_AT = at(95);
const isoDay = (d: Date) => d.toISOString().replace(".000Z", "Z");

const keys = accessKeyProvider as Required<typeof accessKeyProvider>;
const schedules = scheduleProvider as Required<typeof scheduleProvider>;

/** One user's resources as the engine's state would hold them. */
interface Deployed {
  schedule: ScheduleState;
  keys: Partial<Record<Slot, AccessKeyOutputs>>;
}

/**
 * One `pulumi up` of one user's RotatingAccessKey at `day`, as the engine drives the providers:
 * the schedule's check (its plan), create or update (which tags the user), then each slot's key:
 * created for a new generation, updated for a new status.
 */
async function deploy(userName: string, day: number, previous?: Deployed): Promise<Deployed> {
  await setClock(at(day));
  const checked = await checkSchedule(previous?.schedule ?? {}, { userName });
  assert.deepStrictEqual(checked.failures, []);
  const news = checked.inputs as unknown as ScheduleState;
  const id = `schedule-${userName}`;
  const schedule = previous
    ? (await schedules.diff(id, previous.schedule, news)).changes
      ? ((await schedules.update(id, previous.schedule, news)).outs as ScheduleState)
      : previous.schedule
    : ((await schedules.create(news)).outs as ScheduleState);
  const deployed: Deployed = { schedule, keys: { ...previous?.keys } };
  for (const slot of SLOTS) {
    const plan = schedule.plan[slot];
    if (!plan.present) continue;
    const args = {
      userName,
      slot,
      generation: plan.generation,
      status: plan.status,
      verifyTimeoutSeconds: 0,
    };
    const had = deployed.keys[slot];
    const inputs = (await keys.check(had ?? {}, args)).inputs as AccessKeyOutputs;
    if (!had || had.generation !== plan.generation) {
      const created = await keys.create(inputs);
      registerSecret(created.outs.secretAccessKey);
      deployed.keys[slot] = created.outs as AccessKeyOutputs;
    } else if (had.status !== plan.status) {
      deployed.keys[slot] = (await keys.update(had.accessKeyId, had, { ...had, ...inputs }))
        .outs as AccessKeyOutputs;
    }
  }
  return deployed;
}

async function run(args: string[], extra: Partial<CliIo> = {}) {
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

/** A CLI client that counts its IAM calls by action. */
function counted() {
  const box: { counter?: ReturnType<typeof countCalls> } = {};
  const extra: Partial<CliIo> = {
    createClient: (o) => {
      const client = instrumentClient(createIamClient(o));
      box.counter = countCalls(client);
      return client;
    },
  };
  return { extra, calls: () => box.counter?.byAction() };
}

const view = (f: Finding) => [f.userName, f.accessKeyId, f.status, f.ageDays, f.verdict];

describe("audit: rotation-stopped over users the rotation deployed (emulator)", function () {
  this.timeout(120_000);
  const ids: Record<string, string> = {};

  before(async () => {
    await resetEmulator();
    await setClock(T0);
    for (const name of ["healthy", "nosched", "outside", "stale", "stopped"]) {
      await adminIam().send(new iam.CreateUserCommand({ UserName: name }));
    }
    // stale: deployed on day 0 and never again: 95 days old at the audit, past the 90-day limit.
    ids.stale = (await deploy("stale", 0)).keys.a?.accessKeyId as string;
    // stopped: deployed on day 50, then the scheduled job died: 45 days old at the audit.
    ids.stopped = (await deploy("stopped", 50)).keys.a?.accessKeyId as string;
    // nosched: deployed on day 50 by a version that wrote no schedule tag.
    ids.nosched = (await deploy("nosched", 50)).keys.a?.accessKeyId as string;
    await adminIam().send(
      new iam.UntagUserCommand({ UserName: "nosched", TagKeys: ["keyrotation:schedule"] }),
    );
    // outside: a key made by hand on day 50, no rotation.
    await setClock(at(50));
    ids.outside = (await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: "outside" }))).AccessKey
      ?.AccessKeyId as string;
    // healthy: deployed daily from day 60; rotated on day 90 (its day 30), so two Active keys.
    let healthy = await deploy("healthy", 60);
    for (const day of [61, 75, 89, 90, 94]) healthy = await deploy("healthy", day, healthy);
    ids.healthy1 = healthy.keys.a?.accessKeyId as string;
    ids.healthy2 = healthy.keys.b?.accessKeyId as string;
    await setClock(AUDIT_AT);
  });

  after(async () => {
    await resetClock();
  });

  it("the deploys tagged each user with its schedule (create on the first deploy; unchanged by later ones)", async () => {
    for (const user of ["healthy", "stale", "stopped"]) {
      const tags = (await adminIam().send(new iam.ListUserTagsCommand({ UserName: user }))).Tags ?? [];
      assert.deepStrictEqual(
        tags.filter((t) => t.Key === "keyrotation:schedule").map((t) => t.Value),
        ["rotation=30 overlap=7 max=90"],
        user,
      );
    }
  });

  const expected = () => [
    ["healthy", ids.healthy1, "Active", 35, "ok"],
    ["healthy", ids.healthy2, "Active", 5, "ok"],
    ["nosched", ids.nosched, "Active", 45, "ok"],
    ["outside", ids.outside, "Active", 45, "ok"],
    ["stale", ids.stale, "Active", 95, "rotate"],
    ["stopped", ids.stopped, "Active", 45, "rotation-stopped"],
  ];

  it("live with --fail-on rotate,rotation-stopped: the stopped rotation has its own verdict, due date and days left; exit 1", async () => {
    const { extra, calls } = counted();
    const r = await run(
      ["audit", "--source", "live", "--fail-on", "rotate,rotation-stopped", "--format", "json"],
      extra,
    );
    assert.strictEqual(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout) as AuditResult;
    assert.deepStrictEqual(result.keys.map(view), expected());
    const stopped = result.keys.find((k) => k.userName === "stopped") as Finding;
    assert.deepStrictEqual(stopped.rotationStopped, {
      rotationDays: 30,
      overlapDays: 7,
      graceDays: 2,
      dueAction: "replace",
      dueDate: isoDay(at(80)),
      daysLeft: 45,
    });
    assert.strictEqual(
      stopped.reason,
      `Active and 45 days old: the rotation that manages it (rotation=30 overlap=7, 2 days' grace) should have ` +
        `replaced it by ${isoDay(at(80)).slice(0, 10)} and has not; 45 days left before the 90-day limit.`,
    );
    assert.deepStrictEqual(
      result.keys.map((k) => k.rotationStopped === null),
      [true, true, true, true, true, false],
    );
    assert.deepStrictEqual(
      [
        result.summary.rotate,
        result.summary["rotation-stopped"],
        result.summary.ok,
        result.summary.compliant,
      ],
      [1, 1, 4, false],
    );
    assert.strictEqual(result.settings.checkSchedule, true);
    // ListUserTags only for users with an Active key from 3 to 90 days old (not stale's 95-day key).
    assert.deepStrictEqual(calls(), { ListUsers: 1, ListAccessKeys: 5, ListUserTags: 4 });
    assertNoSecrets(r.stdout + r.stderr, "audit output");
  });

  it("auto: the report, the tags of the candidates, and a live re-check of the stopped and stale users give the same verdicts", async () => {
    const { extra, calls } = counted();
    // (moto's credential report is always dated 2015: allow its age, as the audit test does.)
    const r = await run(
      [
        "audit",
        "--fail-on",
        "rotate,rotation-stopped",
        "--format",
        "json",
        "--report-max-age-hours",
        "1000000",
      ],
      extra,
    );
    assert.strictEqual(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout) as AuditResult;
    assert.strictEqual(result.source, "report+live");
    assert.deepStrictEqual(
      result.keys.map((k) => [k.userName, k.accessKeyId === null ? null : "id", k.verdict]),
      [
        ["healthy", null, "ok"],
        ["healthy", null, "ok"],
        ["nosched", null, "ok"],
        ["outside", null, "ok"],
        ["stale", "id", "rotate"],
        ["stopped", "id", "rotation-stopped"],
      ],
    );
    assert.deepStrictEqual(
      result.keys.find((k) => k.userName === "stopped")?.rotationStopped?.dueDate,
      isoDay(at(80)),
    );
    assert.match(
      result.sourceReason,
      /re-checked live the 2 user\(s\) it flags \(the schedule check read the tags of 4 user\(s\)\)\.$/,
    );
    const c = calls() ?? {};
    // The stopped user's tags are read twice: once to decide the re-check, once by the re-check.
    assert.deepStrictEqual(
      [c.ListUserTags, c.ListAccessKeys, c.GetAccessKeyLastUsed, c.ListUsers],
      [5, 2, 2, undefined],
    );
  });

  it("the table says ROTATION STOPPED and counts it; the CSV carries the due date and the days left", async () => {
    const table = await run(["audit", "--source", "live", "--check-schedule"]);
    assert.strictEqual(table.code, 1);
    assert.ok(
      table.stdout.includes(
        `stopped  ${ids.stopped}  Active  ${isoDay(at(50)).slice(0, 10)}  45   not read   ROTATION STOPPED\n`,
      ),
      table.stdout,
    );
    assert.ok(
      table.stdout.includes("5 users, 6 keys: 1 rotate, 0 delete, 1 rotation stopped, 0 exempt, 4 ok."),
      table.stdout,
    );
    const csv = await run([
      "audit",
      "--source",
      "live",
      "--check-schedule",
      "--format",
      "csv",
      "--user",
      "stopped",
    ]);
    const [header, row] = csv.stdout.split("\r\n");
    assert.ok(header.endsWith(",rotation_due_date,days_left"), header);
    assert.ok(row.endsWith(`,${isoDay(at(80))},45`), row);
  });

  it("exit codes: the default --fail-on (rotate) does not fail on a stopped rotation; --fail-on rotation-stopped does", async () => {
    const plain = await run(["audit", "--source", "live", "--user", "stopped", "--format", "json"]);
    assert.strictEqual(plain.code, 0);
    const seen = JSON.parse(plain.stdout) as AuditResult;
    // Without the check no tag is read and the key is judged by its age alone.
    assert.deepStrictEqual(seen.keys.map(view), [["stopped", ids.stopped, "Active", 45, "ok"]]);
    assert.strictEqual(seen.settings.checkSchedule, false);
    const shown = await run(["audit", "--source", "live", "--user", "stopped", "--check-schedule"]);
    assert.strictEqual(shown.code, 0, "shown, but not in --fail-on");
    assert.ok(shown.stdout.includes("ROTATION STOPPED"), shown.stdout);
    const failing = await run([
      "audit",
      "--source",
      "live",
      "--user",
      "stopped",
      "--fail-on",
      "rotation-stopped",
    ]);
    assert.strictEqual(failing.code, 1);
    const report = await run(["audit", "--source", "report", "--fail-on", "rotation-stopped"]);
    assert.strictEqual(report.code, 2);
    assert.match(
      report.stderr,
      /^error: --fail-on rotation-stopped needs key ids to match the rotation's key tags/,
    );
  });
});
