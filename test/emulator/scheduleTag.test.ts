/**
 * The schedule resource's create, update and delete against the IAM emulator: they write, move and
 * remove the user tag `keyrotation:schedule` that the audit's rotation-stopped verdict reads, never
 * touch other tags, and refuse at IAM's 50-tag limit with the count and the fix.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { checkSchedule, scheduleProvider, ScheduleState } from "../../components/providers/rotationSchedule";
import { KeyRotationError } from "../../core/errors";
import { FaultProxy } from "../support/faultProxy";
import { adminIam, createUser, emulator } from "../support/moto";

const provider = scheduleProvider as Required<typeof scheduleProvider>;

async function userTags(userName: string): Promise<Record<string, string>> {
  const out = await adminIam().send(new iam.ListUserTagsCommand({ UserName: userName }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key as string, t.Value ?? ""]));
}

/** The checked inputs of a first deploy of `userName` with `settings`, as the engine would pass them on. */
async function checked(userName: string, settings: Record<string, unknown> = {}): Promise<ScheduleState> {
  const result = await checkSchedule({}, { userName, ...settings });
  assert.deepStrictEqual(result.failures, []);
  return result.inputs as unknown as ScheduleState;
}

describe("schedule resource: the keyrotation:schedule user tag (emulator)", () => {
  it("check writes nothing; create writes the tag beside other tools' tags; update rewrites it; delete removes only it", async () => {
    const user = await createUser("schedtag");
    await adminIam().send(
      new iam.TagUserCommand({ UserName: user, Tags: [{ Key: "team", Value: "payments" }] }),
    );
    const inputs = await checked(user);
    assert.strictEqual(inputs.scheduleTag, "rotation=30 overlap=7 max=90");
    assert.deepStrictEqual(
      await userTags(user),
      { team: "payments" },
      "check (also at preview) writes no tag",
    );

    const created = await provider.create(inputs);
    assert.strictEqual(created.id, `schedule-${user}`);
    assert.strictEqual(created.outs.scheduleTag, "rotation=30 overlap=7 max=90");
    assert.deepStrictEqual(await userTags(user), {
      team: "payments",
      "keyrotation:schedule": "rotation=30 overlap=7 max=90",
    });

    const changed = await checkSchedule(created.outs, { userName: user, rotationDays: 20, overlapDays: 3 });
    assert.deepStrictEqual(changed.failures, []);
    const news = changed.inputs as unknown as ScheduleState;
    assert.deepStrictEqual(await provider.diff(created.id, created.outs, news), {
      changes: true,
      replaces: [],
    });
    await provider.update(created.id, created.outs, news);
    assert.deepStrictEqual(await userTags(user), {
      team: "payments",
      "keyrotation:schedule": "rotation=20 overlap=3 max=90",
    });

    await provider.delete(created.id, news);
    assert.deepStrictEqual(await userTags(user), { team: "payments" });
  });

  it("a state from before the tag existed is updated by the next deploy, which writes the tag", async () => {
    const user = await createUser("schedtag");
    const inputs = await checked(user);
    const { scheduleTag: _none, ...olderState } = inputs;
    const next = await checkSchedule(olderState, { userName: user });
    const news = next.inputs as unknown as ScheduleState;
    assert.deepStrictEqual(await provider.diff(`schedule-${user}`, olderState as ScheduleState, news), {
      changes: true,
      replaces: [],
    });
    await provider.update(`schedule-${user}`, olderState as ScheduleState, news);
    assert.deepStrictEqual(await userTags(user), { "keyrotation:schedule": "rotation=30 overlap=7 max=90" });
  });

  it("a schedule moved to another user takes its tag along", async () => {
    const first = await createUser("schedtag");
    const second = await createUser("schedtag");
    const created = await provider.create(await checked(first));
    const moved = await checked(second);
    await provider.update(created.id, created.outs, moved);
    assert.deepStrictEqual(await userTags(first), {});
    assert.deepStrictEqual(await userTags(second), {
      "keyrotation:schedule": "rotation=30 overlap=7 max=90",
    });
  });

  it("delete of a user already gone succeeds", async () => {
    const user = await createUser("schedtag");
    const created = await provider.create(await checked(user));
    await adminIam().send(new iam.UntagUserCommand({ UserName: user, TagKeys: ["keyrotation:schedule"] }));
    await adminIam().send(new iam.DeleteUserCommand({ UserName: user }));
    await provider.delete(created.id, created.outs);
  });

  describe("at IAM's tag limit", () => {
    let proxy: FaultProxy;
    let saved: string | undefined;

    before(async () => {
      proxy = new FaultProxy(emulator().endpoint);
      await proxy.start();
      saved = process.env.AWS_ENDPOINT_URL_IAM;
      process.env.AWS_ENDPOINT_URL_IAM = proxy.endpoint;
    });

    after(async () => {
      process.env.AWS_ENDPOINT_URL_IAM = saved;
      await proxy.stop();
    });

    it("refuses with the user's tag count and the fix, and writes nothing", async () => {
      const user = await createUser("schedtag");
      const others = Array.from({ length: 50 }, (_, i) => ({ Key: `team-tag-${i}`, Value: "x" }));
      await adminIam().send(new iam.TagUserCommand({ UserName: user, Tags: others }));
      const inputs = await checked(user);
      // IAM answers a 51st tag with LimitExceeded; the emulator does not count, so the proxy answers as IAM does.
      proxy.add({ action: "TagUser", fault: "limit-exceeded" });
      const err = await provider.create(inputs).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof KeyRotationError, `expected KeyRotationError, got ${String(err)}`);
      assert.strictEqual(
        err.message,
        `IAM user "${user}" has 50 tags, and IAM allows 50; the rotation needs one free for keyrotation:schedule, ` +
          `the schedule that the audit reads to tell when the rotation has stopped (it uses at most five of the ` +
          `user's tags in all). Remove tags that other tools set on the user (aws iam list-user-tags --user-name ` +
          `${user}), then run pulumi up again.`,
      );
      const tags = await userTags(user);
      assert.strictEqual(Object.keys(tags).length, 50);
      assert.strictEqual(tags["keyrotation:schedule"], undefined);
    });
  });
});
