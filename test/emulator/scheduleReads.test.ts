/**
 * What the providers ask IAM, counted at a proxy in front of the emulator: the schedule makes one
 * ListAccessKeys per user at every preview when IAM's keys are the ones the previous plan explains
 * (or there are none), and ListUserTags only when they are not; a user's first key, right after
 * the schedule listed the user without keys, costs the intent tag, CreateAccessKey and one TagUser
 * (the key's tag and the cleared intent), and nothing someone does meanwhile makes that unsafe.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { accessKeyProvider } from "../../components/providers/accessKey";
import { AccessKeyInputs, forgetKeyless } from "../../components/providers/accessKeyOps";
import { observeKeys } from "../../components/providers/rotationSchedule";
import { KeyQuotaError, KeyRotationError } from "../../core/errors";
import { nextPlan, Plan } from "../../components/rotation/schedule";
import { DEFAULTS } from "../../core/settings";
import { FaultProxy } from "../support/faultProxy";
import { adminIam, createUser, emulator, listKeys, setClock } from "../support/moto";
import { registerSecret } from "../support/secretGuard";

const provider = accessKeyProvider as Required<typeof accessKeyProvider>;

describe("schedule: IAM reads per preview (emulator)", () => {
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

  const reads = async (userName: string, plan?: Plan) => {
    proxy.log.length = 0;
    const observed = await observeKeys(userName, plan);
    return { observed, calls: [...proxy.log] };
  };

  it("a user without keys: one ListAccessKeys", async () => {
    const user = await createUser("reads");
    const { observed, calls } = await reads(user);
    assert.deepStrictEqual(observed, []);
    assert.deepStrictEqual(calls, ["ListAccessKeys"]);
  });

  it("keys the plan explains: one ListAccessKeys; a key it does not: ListUserTags too", async () => {
    const user = await createUser("reads");
    const at = new Date(Date.now() + 3_600_000);
    at.setUTCMilliseconds(0);
    await setClock(at);
    const plan = nextPlan(undefined, [], at, DEFAULTS).plan;
    const created = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
    const id = created.AccessKey?.AccessKeyId as string;

    const explained = await reads(user, plan);
    assert.deepStrictEqual(explained.calls, ["ListAccessKeys"]);
    assert.deepStrictEqual(
      explained.observed.map((k) => [k.accessKeyId, k.tag]),
      [[id, { slot: "a", generation: 1 }]],
    );

    // A second key nobody planned: the tags decide (it has no slot tag: made outside Pulumi).
    const other = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
    const unexplained = await reads(user, plan);
    assert.deepStrictEqual(unexplained.calls.sort(), ["ListAccessKeys", "ListUserTags"]);
    assert.deepStrictEqual(
      unexplained.observed.map((k) => [k.accessKeyId, k.tag]).sort(),
      [
        [id, undefined],
        [other.AccessKey?.AccessKeyId, undefined],
      ].sort(),
    );
  });

  /** The key provider's check and create of slot a generation 1 (no verification), with the calls each made. */
  const firstKey = async (userName: string) => {
    proxy.log.length = 0;
    const checked = await provider.check({}, { userName, slot: "a", generation: 1, verifyTimeoutSeconds: 0 });
    assert.deepStrictEqual(checked.failures, []);
    const checkCalls = [...proxy.log];
    proxy.log.length = 0;
    try {
      const created = await provider.create(checked.inputs as AccessKeyInputs);
      registerSecret(created.outs.secretAccessKey);
      return { id: created.id, checkCalls, createCalls: [...proxy.log] };
    } catch (err) {
      return { err, checkCalls, createCalls: [...proxy.log] };
    }
  };

  it("a user's first key after the schedule listed no key: nothing read again, two TagUser and one CreateAccessKey", async () => {
    const user = await createUser("reads");
    assert.deepStrictEqual((await reads(user)).calls, ["ListAccessKeys"]);
    const first = await firstKey(user);
    assert.deepStrictEqual(first.checkCalls, []);
    assert.deepStrictEqual(first.createCalls, ["TagUser", "CreateAccessKey", "TagUser"]);
    const tags = (await adminIam().send(new iam.ListUserTagsCommand({ UserName: user }))).Tags ?? [];
    assert.deepStrictEqual(tags.map((t) => [t.Key, t.Value]).sort(), [
      [`keyrotation:${first.id}`, "slot=a generation=1"],
      ["keyrotation:pending-a", ""],
    ]);
    // Without the schedule's listing (another process), the create looks at the user itself.
    const cold = await createUser("reads");
    forgetKeyless();
    const second = await firstKey(cold);
    assert.deepStrictEqual(second.checkCalls, ["ListUserTags"]);
    assert.deepStrictEqual(second.createCalls.sort(), [
      "CreateAccessKey",
      "ListAccessKeys",
      "ListUserTags",
      "TagUser",
      "TagUser",
    ]);
  });

  it("keys made by someone else after the schedule's listing: the create lists again and refuses, or makes its key next to theirs", async () => {
    const user = await createUser("reads");
    await reads(user);
    const theirs = await Promise.all(
      [0, 1].map(() => adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }))),
    );
    const full = await firstKey(user);
    assert.ok(full.err instanceof KeyQuotaError, `expected KeyQuotaError, got ${String(full.err)}`);
    assert.match(
      full.err.message,
      /^IAM user "reads-[^"]+" already has 2 access keys, the most IAM allows: /,
    );
    for (const k of theirs) assert.ok(full.err.message.includes(k.AccessKey?.AccessKeyId as string));
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => k.AccessKeyId).sort(),
      theirs.map((k) => k.AccessKey?.AccessKeyId).sort(),
    );

    const other = await createUser("reads");
    await reads(other);
    const one = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: other }));
    const beside = await firstKey(other);
    assert.strictEqual(beside.err, undefined);
    assert.deepStrictEqual(
      (await listKeys(other)).map((k) => [k.AccessKeyId, k.Status]).sort(),
      [
        [one.AccessKey?.AccessKeyId, "Active"],
        [beside.id, "Active"],
      ].sort(),
    );
  });

  it("at IAM's 50-tag limit after the schedule's listing: refuses before creating anything, with the count", async () => {
    const user = await createUser("reads");
    const others = Array.from({ length: 50 }, (_, i) => ({ Key: `team-tag-${i}`, Value: "x" }));
    await adminIam().send(new iam.TagUserCommand({ UserName: user, Tags: others }));
    await reads(user);
    // IAM answers a 51st tag with LimitExceeded; the emulator does not count, so the proxy answers as IAM does.
    proxy.add({ action: "TagUser", fault: "limit-exceeded" });
    const crowded = await firstKey(user);
    assert.ok(
      crowded.err instanceof KeyRotationError,
      `expected KeyRotationError, got ${String(crowded.err)}`,
    );
    assert.match(
      crowded.err.message,
      /^IAM user "reads-[^"]+" has 50 tags, and IAM allows 50; a new key needs 2 free/,
    );
    assert.deepStrictEqual(await listKeys(user), []);
  });

  it("a lost CreateAccessKey answer after the schedule's listing: the lost key goes, a key made by hand and used meanwhile stays", async () => {
    const user = await createUser("reads");
    await reads(user);
    const theirs = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
    const theirId = theirs.AccessKey?.AccessKeyId as string;
    const signed = new iam.IAMClient({
      region: "us-east-1",
      endpoint: emulator().endpoint,
      credentials: { accessKeyId: theirId, secretAccessKey: theirs.AccessKey?.SecretAccessKey as string },
    });
    await signed.send(new iam.ListUsersCommand({}));
    signed.destroy();
    const use = await adminIam().send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: theirId }));
    assert.strictEqual(use.AccessKeyLastUsed?.ServiceName, "iam");

    proxy.add({ action: "CreateAccessKey", fault: "lose-answer" });
    const made = await firstKey(user);
    assert.strictEqual(made.err, undefined);
    assert.deepStrictEqual(
      made.createCalls.filter((c) => c === "CreateAccessKey" || c === "DeleteAccessKey"),
      ["CreateAccessKey", "DeleteAccessKey", "CreateAccessKey"],
    );
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => k.AccessKeyId).sort(),
      [theirId, made.id].sort(),
    );
  });
});
