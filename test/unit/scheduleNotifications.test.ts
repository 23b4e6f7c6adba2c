/**
 * The schedule with `notifySnsTopicArn`: its check works out what to announce (at preview and at
 * update alike), its create and update publish what was not published before and record the ids,
 * and a refusal found by the check of an update (never of a preview) is published by the update,
 * which then fails with the refusal's reason and keeps the plan. The publisher is replaced here;
 * test/emulator/notifications.test.ts publishes to the emulator's SNS.
 */
import * as assert from "assert";
import {
  applySchedule,
  checkSchedule,
  diffSchedule,
  RefusedDeployError,
  ScheduleSources,
  ScheduleState,
} from "../../components/providers/rotationSchedule";
import { ObservedKey } from "../../components/rotation/schedule";
import { NotificationMessage } from "../../core/notifications";
import {
  setAccountLookup,
  setPublisher,
  setWarningSink,
  stderrWarnings,
  withCallContext,
} from "../../core/notify";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:key-rotation";
const DAY0 = new Date("2027-05-01T12:00:00.000Z");
const day = (d: number) => new Date(DAY0.getTime() + d * 86_400_000);
const K1 = "AKIASCHEDNOTIFY00001";
const K2 = "AKIASCHEDNOTIFY00002";
const USER = "notify-user";
const URN = `urn:pulumi:prod::aws-key-rotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:RotationSchedule::${USER}-schedule`;

const k1: ObservedKey = {
  accessKeyId: K1,
  status: "Active",
  createDate: DAY0.toISOString(),
  tag: { slot: "a", generation: 1 },
};
const k2: ObservedKey = {
  accessKeyId: K2,
  status: "Active",
  createDate: day(30).toISOString(),
  tag: { slot: "b", generation: 2 },
};

function sources(
  at: Date,
  keys: ObservedKey[],
  options: { caller?: string; used?: Record<string, string> } = {},
): ScheduleSources {
  return {
    observe: async () => keys,
    clock: () => at,
    caller: async () => options.caller,
    lastUse: async (id) =>
      options.used?.[id]
        ? { lastUsedDate: options.used[id], serviceName: "s3", region: "eu-west-1" }
        : { serviceName: "N/A", region: "N/A" },
  };
}

/** What the engine hands back: JSON, keys sorted. */
function stored<T>(value: T): T {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sort(JSON.parse(JSON.stringify(value))) as T;
}

describe("schedule notifications: check, create and update", () => {
  const sent: { topic: string; message: NotificationMessage; subject: string }[] = [];
  const warned: { message: string; urn?: string }[] = [];
  let failing = false;

  beforeEach(() => {
    sent.length = 0;
    warned.length = 0;
    failing = false;
    setAccountLookup(async () => "123456789012");
    setPublisher(async (topic, message, subject) => {
      if (failing) throw Object.assign(new Error("Topic does not exist"), { name: "NotFoundException" });
      sent.push({ topic, message, subject });
    });
    setWarningSink((message, urn) => warned.push({ message, urn }));
  });

  afterEach(() => {
    setPublisher(undefined);
    setAccountLookup(undefined);
    setWarningSink(stderrWarnings);
  });

  const news = (dryRun?: boolean, topic: string | undefined = TOPIC) => ({
    userName: USER,
    ...(topic !== undefined ? { notifySnsTopicArn: topic } : {}),
    ...(dryRun !== undefined ? { dryRun } : {}),
  });

  /** The state after deploys on days 0 and 30: K1 in slot a, K2 current in slot b. */
  async function afterRotation(): Promise<ScheduleState> {
    const first = await checkSchedule({}, news(false), sources(DAY0, []));
    const created = stored(
      await applySchedule("schedule-x", undefined, first.inputs as unknown as ScheduleState),
    );
    const second = await checkSchedule(created, news(false), sources(day(30), [k1]));
    assert.deepStrictEqual(second.failures, []);
    return stored(await applySchedule("schedule-x", created, second.inputs as unknown as ScheduleState));
  }

  it("the check never stores the dryRun input; the topic is stored only when set", async () => {
    const withTopic = await checkSchedule({}, news(true), sources(DAY0, []));
    assert.strictEqual("dryRun" in withTopic.inputs, false);
    assert.strictEqual(withTopic.inputs.notifySnsTopicArn, TOPIC);
    assert.deepStrictEqual(withTopic.inputs.notifications, []);
    const without = await checkSchedule({}, news(false, ""), sources(DAY0, []));
    assert.strictEqual("notifySnsTopicArn" in without.inputs, false);
    assert.strictEqual("notifications" in without.inputs, false);
    assert.strictEqual("dryRun" in without.inputs, false);
  });

  it("a bad topic fails the check, naming notifySnsTopicArn", async () => {
    const r = await checkSchedule({}, news(false, "arn:aws:sqs:us-east-1:123456789012:q"), sources(DAY0, []));
    assert.deepStrictEqual(
      r.failures.map((f) => f.property),
      ["notifySnsTopicArn"],
    );
  });

  it("a wait is announced once by the update; a repeated deploy sends nothing; stack and project from the URN", async () => {
    const state = await afterRotation();
    assert.strictEqual(sent.length, 0);
    const used = { [K1]: day(37).toISOString() };
    const wait = await checkSchedule(state, news(false), sources(day(37.01), [k1, k2], { used }));
    assert.deepStrictEqual(wait.failures, []);
    const checked = wait.inputs as unknown as ScheduleState;
    assert.strictEqual(diffSchedule(state, checked).changes, true);
    const updated = stored(
      await withCallContext({ urn: URN }, () => applySchedule("schedule-x", state, checked)),
    );
    assert.deepStrictEqual(
      sent.map((s) => [s.topic, s.message.type, s.message.accessKeyId, s.message.waitsFor]),
      [[TOPIC, "retirement.waiting", K1, "deactivate"]],
    );
    assert.deepStrictEqual(
      [sent[0].message.stack, sent[0].message.project, sent[0].message.account, sent[0].message.userName],
      ["prod", "aws-key-rotation", "123456789012", USER],
    );
    assert.deepStrictEqual(updated.notified, [`retirement.waiting/${K1}/deactivate`]);
    const again = await checkSchedule(updated, news(false), sources(day(37.02), [k1, k2], { used }));
    await applySchedule("schedule-x", updated, again.inputs as unknown as ScheduleState);
    assert.strictEqual(sent.length, 1);
  });

  it("a publish that fails is a warning on the resource, not a failed update; the event is sent when it recurs", async () => {
    const state = await afterRotation();
    const used = { [K1]: day(37).toISOString() };
    failing = true;
    const wait = await checkSchedule(state, news(false), sources(day(37.01), [k1, k2], { used }));
    const updated = stored(
      await withCallContext({ urn: URN }, () =>
        applySchedule("schedule-x", state, wait.inputs as unknown as ScheduleState),
      ),
    );
    assert.deepStrictEqual(updated.notified, []);
    assert.deepStrictEqual(warned, [
      {
        message:
          `The retirement.waiting notification for access key ${K1} of IAM user "${USER}" could not be published to SNS topic ${TOPIC}: ` +
          `NotFoundException: Topic does not exist. The deploy goes on without it. Check that the topic exists in its region and that ` +
          `the deployer may call sns:Publish on it, or fix notifySnsTopicArn.`,
        urn: URN,
      },
    ]);
    failing = false;
    const again = await checkSchedule(updated, news(false), sources(day(37.5), [k1, k2], { used }));
    const retried = stored(
      await applySchedule("schedule-x", updated, again.inputs as unknown as ScheduleState),
    );
    assert.deepStrictEqual(
      sent.map((s) => s.message.type),
      ["retirement.waiting"],
    );
    assert.deepStrictEqual(retried.notified, [`retirement.waiting/${K1}/deactivate`]);
  });

  it("a refusal (the deployer's own key): the preview's check fails and nothing is sent", async () => {
    const state = await afterRotation();
    const preview = await checkSchedule(state, news(true), sources(day(37.01), [k1, k2], { caller: K1 }));
    assert.deepStrictEqual(
      preview.failures.map((f) => f.property),
      ["userName"],
    );
    assert.match(preview.failures[0].reason, new RegExp(`This deploy would deactivate access key ${K1}`));
    assert.strictEqual(sent.length, 0);
  });

  it("without a topic, or from a run that does not say it is an update, a refusal fails the check as before", async () => {
    const state = await afterRotation();
    for (const n of [news(false, ""), news(undefined)]) {
      const r = await checkSchedule(state, n, sources(day(37.01), [k1, k2], { caller: K1 }));
      assert.deepStrictEqual(
        r.failures.map((f) => f.property),
        ["userName"],
      );
    }
  });

  it("a refusal at an update: the update publishes it, then fails with the reason and keeps the plan; the next refused update sends nothing", async () => {
    const state = await afterRotation();
    const check = await checkSchedule(state, news(false), sources(day(37.01), [k1, k2], { caller: K1 }));
    assert.deepStrictEqual(check.failures, []);
    const checked = check.inputs as unknown as ScheduleState;
    assert.deepStrictEqual(checked.plan, state.plan);
    assert.strictEqual(checked.refusal?.property, "userName");
    assert.strictEqual(diffSchedule(state, checked).changes, true);
    let failure: RefusedDeployError | undefined;
    await applySchedule("schedule-x", state, checked).catch((err: RefusedDeployError) => (failure = err));
    assert.ok(failure instanceof RefusedDeployError);
    assert.strictEqual(failure.message, checked.refusal?.reason);
    assert.strictEqual(failure.id, "schedule-x");
    assert.deepStrictEqual(
      sent.map((s) => [s.message.type, s.message.accessKeyId, s.message.reason, s.message.wouldRetire]),
      [["deploy.refused", K1, "self-key", "deactivate"]],
    );
    const partial = stored(failure.properties) as unknown as ScheduleState;
    assert.deepStrictEqual(partial.plan, state.plan);
    assert.deepStrictEqual(partial.notified, [`deploy.refused/self-key/${K1}`]);
    // The same refusal the next day: failed again, announced once.
    const next = await checkSchedule(partial, news(false), sources(day(38), [k1, k2], { caller: K1 }));
    await assert.rejects(
      applySchedule("schedule-x", partial, next.inputs as unknown as ScheduleState),
      RefusedDeployError,
    );
    assert.strictEqual(sent.length, 1);
    // With other credentials the deploy succeeds, and the refusal's id is forgotten.
    const fixed = await checkSchedule(partial, news(false), sources(day(38), [k1, k2], { caller: K2 }));
    assert.deepStrictEqual(fixed.failures, []);
    const fixedState = fixed.inputs as unknown as ScheduleState;
    assert.strictEqual(diffSchedule(partial, fixedState).changes, true);
    const done = await applySchedule("schedule-x", partial, fixedState);
    assert.deepStrictEqual(done.notified, []);
    assert.strictEqual(done.refusal, undefined);
  });

  it("unmanaged keys on a first deploy: the create publishes them and fails, storing no plan (the next check onboards again)", async () => {
    const outside: ObservedKey = { accessKeyId: K1, status: "Active", createDate: DAY0.toISOString() };
    const check = await checkSchedule({}, news(false), sources(day(1), [outside]));
    assert.deepStrictEqual(check.failures, []);
    const checked = check.inputs as unknown as ScheduleState;
    assert.strictEqual("plan" in checked, false);
    let failure: RefusedDeployError | undefined;
    await applySchedule("schedule-x", undefined, checked).catch((err: RefusedDeployError) => (failure = err));
    assert.ok(failure instanceof RefusedDeployError);
    assert.match(failure.message, /has 1 access key\(s\) that RotatingAccessKey did not create/);
    assert.deepStrictEqual(
      sent.map((s) => [s.message.type, s.message.accessKeyId, s.message.accessKeyIds, s.message.action]),
      [["unmanaged-keys.found", null, [K1], "refused"]],
    );
    const partial = stored(failure.properties) as unknown as ScheduleState;
    const retire = await checkSchedule(
      partial,
      { ...news(false), unmanagedKeys: "retire" },
      sources(day(2), [outside]),
    );
    assert.deepStrictEqual(retire.failures, []);
    const adopted = retire.inputs as unknown as ScheduleState;
    assert.deepStrictEqual(adopted.plan.b.adoptedKeyId, K1);
    await applySchedule("schedule-x", partial, adopted);
    assert.deepStrictEqual(
      sent.map((s) => [s.message.type, s.message.action]),
      [
        ["unmanaged-keys.found", "refused"],
        ["unmanaged-keys.found", "retire"],
      ],
    );
  });

  it("diff: a changed topic is an update; a refusal always reaches the update", async () => {
    const state = await afterRotation();
    assert.strictEqual(diffSchedule(state, { ...state, notifySnsTopicArn: `${TOPIC}-2` }).changes, true);
    assert.strictEqual(diffSchedule(state, state).changes, false);
    assert.strictEqual(
      diffSchedule(state, { ...state, refusal: { property: "userName", reason: "r", at: "", notices: [] } })
        .changes,
      true,
    );
  });
});
