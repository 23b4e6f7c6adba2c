/**
 * Onboarding existing users with the real CLI: bad settings fail at preview naming the setting;
 * keys the component did not create stop the deploy, listed, until `unmanagedKeys: "retire"`,
 * which onboards the users in one deploy; the current key is published to Secrets Manager.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sm from "@aws-sdk/client-secrets-manager";
import { addDays } from "../../core/clock";
import { adminIam, emulator, listKeys, setClock } from "../support/moto";
import { REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

describe("e2e: onboarding users that already have keys (root project)", function () {
  this.timeout(1_800_000);
  const one = `legacy-one-${process.pid}`;
  const two = `legacy-two-${process.pid}`;
  const secretId = `keyrotation-e2e/${process.pid}/${one}`;
  const T0 = new Date(Date.now() + 3 * 3_600_000);
  let stack: TestStack;
  const oldKeys: Record<string, string[]> = {};

  before(async () => {
    await setClock(T0);
    for (const user of [one, two]) {
      await adminIam().send(new iam.CreateUserCommand({ UserName: user }));
      oldKeys[user] = [];
    }
    // one: a single key, 120 days old by the time of the deploy. two: two keys, 10 days old.
    const add = async (user: string) => {
      const out = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
      registerSecret(out.AccessKey?.SecretAccessKey);
      oldKeys[user].push(out.AccessKey?.AccessKeyId as string);
    };
    await add(one);
    await setClock(addDays(T0, 110));
    await add(two);
    await setClock(addDays(T0, 110.01));
    await add(two);
    await setClock(addDays(T0, 120));
    stack = new TestStack({ projectDir: REPO_ROOT, stackName: "onboarding" });
    await stack.init();
    await stack.setConfig("aws-key-rotation:users[0]", one, { path: true });
    await stack.setConfig("aws-key-rotation:users[1]", two, { path: true });
  });

  after(async () => {
    await stack?.remove();
  });

  it("bad settings fail at preview, naming the setting and the fix, and touch nothing", async () => {
    await stack.setConfig("aws-key-rotation:rotationDays", "120");
    const preview = await stack.preview();
    assert.notStrictEqual(preview.code, 0);
    assert.ok(preview.visible.includes("aws-key-rotation:rotationDays"), preview.visible);
    assert.ok(
      preview.visible.includes("rotationDays + overlapDays (120 + 7 = 127) must be below maxAgeDays (90)"),
      preview.visible,
    );
    await stack.setConfig("aws-key-rotation:rotationDays", "30");
    await stack.setConfig(`aws-key-rotation:userSettings.${two}.overlapDays`, "30", { path: true });
    const perUser = await stack.preview();
    assert.notStrictEqual(perUser.code, 0);
    assert.ok(perUser.visible.includes(`aws-key-rotation:userSettings.${two}.overlapDays`), perUser.visible);
    assert.ok(
      perUser.visible.includes("overlapDays (30) must be less than rotationDays (30)"),
      perUser.visible,
    );
    await stack.setConfig(`aws-key-rotation:userSettings.${two}.overlapDays`, "7", { path: true });
    assert.deepStrictEqual(
      (await listKeys(one)).map((k) => k.AccessKeyId),
      oldKeys[one],
    );
  });

  it("keys the component did not create stop the deploy at preview, listed with the remedy", async () => {
    const preview = await stack.preview();
    assert.notStrictEqual(preview.code, 0);
    // The engine stops at the first failing user; that user's keys are all listed. (The events
    // are JSON lines, so quotes in messages appear escaped.)
    const listed = [one, two].filter((u) =>
      preview.visible.includes(
        `IAM user \\"${u}\\" has ${oldKeys[u].length} access key(s) that RotatingAccessKey did not create`,
      ),
    );
    assert.ok(listed.length >= 1, preview.visible);
    for (const u of listed)
      for (const id of oldKeys[u]) assert.ok(preview.visible.includes(id), `${id} not listed`);
    assert.ok(
      preview.visible.includes('unmanagedKeys: \\"retire\\"') ||
        preview.visible.includes('unmanagedKeys: "retire"'),
      preview.visible,
    );
    const up = await stack.up();
    assert.notStrictEqual(up.code, 0);
    assert.deepStrictEqual(
      (await listKeys(two)).map((k) => k.AccessKeyId),
      oldKeys[two],
    );
  });

  it("with unmanagedKeys retire, one deploy onboards both users; preview plans exactly that", async () => {
    await stack.setConfig("aws-key-rotation:unmanagedKeys", "retire");
    await stack.setConfig(`aws-key-rotation:userSettings.${one}.secretsManagerSecretId`, secretId, {
      path: true,
    });
    const preview = await stack.preview();
    assert.strictEqual(preview.code, 0, preview.visible);
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.visible);
    assert.deepStrictEqual(steps(up.events), steps(preview.events));
    // The components were registered by the refused deploy; their recorded settings change now.
    assert.deepStrictEqual(steps(up.events), [
      `create ${one}-a`,
      `create ${one}-b`,
      `create ${one}-schedule`,
      `create ${one}-secret`,
      `create ${two}-a`,
      `create ${two}-b`,
      `create ${two}-schedule`,
      `update ${one}`,
      `update ${two}`,
    ]);
    const out = await stack.outputs(true);
    const ids = out.accessKeyIds as Record<string, string>;
    for (const s of Object.values(out.secretAccessKeys as Record<string, string>)) registerSecret(s);

    // one: the 120-day-old key is adopted and deactivated at once (past maxAgeDays); a new key is current.
    const k1 = await listKeys(one);
    assert.deepStrictEqual(
      k1.map((k) => [k.AccessKeyId, k.Status]),
      [
        [oldKeys[one][0], "Inactive"],
        [ids[one], "Active"],
      ],
    );
    // two: the older of its two keys made room (deleted), the newer stays Active for the overlap.
    const k2 = await listKeys(two);
    assert.deepStrictEqual(
      k2.map((k) => [k.AccessKeyId, k.Status]),
      [
        [oldKeys[two][1], "Active"],
        [ids[two], "Active"],
      ],
    );
    assert.strictEqual((out.previousAccessKeyIds as Record<string, string>)[two], oldKeys[two][1]);

    // The current key of `one` is in Secrets Manager for applications to read.
    const client = new sm.SecretsManagerClient({ region: "us-east-1", endpoint: emulator().endpoint });
    const secret = await client.send(new sm.GetSecretValueCommand({ SecretId: secretId }));
    client.destroy();
    const value = JSON.parse(secret.SecretString ?? "{}") as Record<string, string>;
    assert.strictEqual(value.accessKeyId, ids[one]);
    assert.strictEqual(value.secretAccessKey, (out.secretAccessKeys as Record<string, string>)[one]);
    assertNoSecrets((await stack.exportState()).text, "state");
    assertNoSecrets(preview.visible + up.visible, "CLI output");

    // A week later the adopted key of `two` is deactivated; nothing else changes.
    await setClock(addDays(T0, 127));
    const later = await stack.up();
    assert.strictEqual(later.code, 0, later.visible);
    assert.deepStrictEqual(steps(later.events), [`update ${two}-b`, `update ${two}-schedule`]);
    assert.strictEqual((await listKeys(two))[0].Status, "Inactive");
  });

  it("drift is healed: refresh sees changes made outside Pulumi, and the next up restores the plan", async () => {
    const out = await stack.outputs();
    const current = (out.accessKeyIds as Record<string, string>)[two];
    const previous = (out.previousAccessKeyIds as Record<string, string>)[two];
    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: two, AccessKeyId: current, Status: "Inactive" }),
    );
    await adminIam().send(new iam.DeleteAccessKeyCommand({ UserName: two, AccessKeyId: previous }));
    const refresh = await stack.refresh();
    assert.strictEqual(refresh.code, 0, refresh.visible);
    const preview = await stack.preview();
    assert.strictEqual(preview.code, 0, preview.visible);
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.visible);
    // The current key is reactivated; the deleted previous key is forgotten, not recreated.
    assert.deepStrictEqual(steps(up.events), [`update ${two}-a`, `update ${two}-schedule`]);
    assert.deepStrictEqual(steps(preview.events), steps(up.events));
    assert.deepStrictEqual(
      (await listKeys(two)).map((k) => [k.AccessKeyId, k.Status]),
      [[current, "Active"]],
    );
    const after = await stack.outputs();
    assert.strictEqual(
      (after.previousAccessKeyIds as Record<string, string | null>)[two] ?? undefined,
      undefined,
    );
  });
});
