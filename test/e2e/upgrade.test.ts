/**
 * Upgrading the package under a deployed stack: a consumer project deploys with an earlier build
 * (packed at its commit, installed in its node_modules: dynamic resources whose state holds
 * provider code), then installs the current build (the keyrotation provider plugin; the project
 * declares it in Pulumi.yaml, as the README says). No key may be replaced: each resource follows
 * its alias from `pulumi-nodejs:dynamic/keyrotation:<type>` to `keyrotation:iam:<type>` with the
 * same id and stored secret, the first deploy rewrites its state without the stored provider code
 * (an in-place update, no IAM call), and the rotation goes on with the plugin.
 *
 * Two earlier builds: the last with the old layout (everything in components/), and the last
 * release before the compact loader (providers under components/providers/, code in the state).
 */
import * as assert from "assert";
import { addDays } from "../../core/clock";
import { cleanUpPacks, ConsumerProject, packCurrent, packPrevious } from "../support/consumer";
import { createUser, listKeys, setClock } from "../support/moto";
import { RunResult, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const PREVIOUS_BUILDS = [
  {
    label: "the old layout (7bfc4a4)",
    commit: "7bfc4a4c3de3a6cc087e63e9b1042121361b508d",
    /** What a closure of that build requires. */
    oldOps: 'require("pulumi-aws-key-rotation/dist/components/accessKeyOps.js")',
  },
  {
    label: "the last release with code in the state (34d6187)",
    commit: "34d61879a40b711a0fc4b721d2834531e8a568bd",
    oldOps: 'require("pulumi-aws-key-rotation/dist/components/providers/accessKeyOps.js")',
  },
];
const OLD_KEY_TYPE = "pulumi-nodejs:dynamic/keyrotation:AccessKey";
const KEY_TYPE = "keyrotation:iam:AccessKey";

for (const { label, commit: PREVIOUS_COMMIT, oldOps: OLD_OPS } of PREVIOUS_BUILDS)
  describe(`e2e: upgrade from ${label} keeps every key`, function () {
    this.timeout(1_800_000);
    const T0 = new Date(Date.now() + 4 * 3_600_000);
    T0.setUTCMilliseconds(0);
    let project: ConsumerProject;
    let stack: TestStack;
    let user: string;
    let current: string;
    /** Every CLI run, for the secret check at the end. */
    const runs: RunResult[] = [];
    /** The key created on day 0 (slot a) and the one created by the rotation on day 31 (slot b). */
    let firstKey: string;
    let secondKey: string;

    const ok = async (what: string, result: Promise<RunResult>): Promise<RunResult> => {
      const r = await result;
      runs.push(r);
      // On failure, the CLI's messages (not the whole JSON event stream).
      const messages = r.events
        .map((e) => e.diagnosticEvent)
        .filter((d) => d !== undefined && d.severity !== "debug")
        .map((d) => d?.message.trimEnd());
      assert.strictEqual(r.code, 0, `${what} failed:\n${[...messages, r.stderr].join("\n")}`);
      return r;
    };
    const iamKeys = async () => (await listKeys(user)).map((k) => `${k.AccessKeyId}:${k.Status}`);
    /** The exported state, checked for secrets in plain text every time it is read. */
    const state = async () => {
      const exported = await stack.exportState();
      assertNoSecrets(exported.text, "the exported state");
      return exported;
    };
    /** The provider code stored in each 0.1.x AccessKey's outputs: what its refresh (read) and delete ran. */
    const storedProviders = async () =>
      Object.fromEntries(
        (await state()).resources
          .filter((r) => r.type === OLD_KEY_TYPE)
          .map((r) => [r.id as string, String(r.outputs?.__provider ?? "")]),
      );
    /** Each key resource's type, id and stored secret (the secret as the state's ciphertext). */
    const keyResources = async () =>
      (await state()).resources
        .filter((r) => r.type === KEY_TYPE || r.type === OLD_KEY_TYPE)
        .map((r) => ({ type: r.type, id: r.id, secret: JSON.stringify(r.outputs?.secretAccessKey) }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    /** What refresh may not change: each resource's id and status. */
    const idsAndStatuses = async () => (await state()).resources.map((r) => [r.urn, r.id, r.outputs?.status]);
    const plainOutputs = async () => {
      const out = await stack.outputs(false);
      delete out.secretAccessKey;
      return out;
    };
    const upAt = async (day: number): Promise<RunResult> => {
      await setClock(addDays(T0, day));
      const up = await ok(`up on day ${day}`, stack.up());
      const secret = (await stack.outputs(true)).secretAccessKey as string;
      assert.strictEqual(secret.length, 40, "the current key's secret is known");
      registerSecret(secret);
      await state();
      return up;
    };

    before(async () => {
      // Both builds are compiled from clean copies (a few seconds each; no type-check).
      const previous = packPrevious(PREVIOUS_COMMIT);
      current = packCurrent();
      project = new ConsumerProject();
      project.install(previous);
      user = await createUser("upgrade");
      stack = new TestStack({ projectDir: project.dir });
      await stack.init();
      await stack.setConfig("userName", user);
    });

    after(async () => {
      await stack?.remove();
      cleanUpPacks();
    });

    it("previous build: day 0 creates a key, day 31 rotates (the first key stays Active)", async () => {
      const day0 = await upAt(0);
      assert.deepStrictEqual(steps(day0.events), ["create app", "create app-a", "create app-schedule"]);
      const keys = await listKeys(user);
      assert.strictEqual(keys.length, 1);
      firstKey = keys[0].AccessKeyId as string;

      const day31 = await upAt(31);
      assert.deepStrictEqual(steps(day31.events), ["create app-b", "update app-schedule"]);
      secondKey = (await listKeys(user))[1]?.AccessKeyId as string;
      assert.deepStrictEqual(await iamKeys(), [`${firstKey}:Active`, `${secondKey}:Active`]);
      const out = await stack.outputs(false);
      assert.strictEqual(out.accessKeyId, secondKey);
      assert.strictEqual(out.previousAccessKeyId, firstKey);
      // Both keys' state holds the previous build's code, which requires the old module paths.
      const providers = await storedProviders();
      assert.deepStrictEqual(Object.keys(providers).sort(), [firstKey, secondKey].sort());
      for (const code of Object.values(providers)) assert.ok(code.includes(OLD_OPS), code.slice(0, 2000));
    });

    it("current build installed: each resource is taken over in place, same ids and secrets, no code left in the state", async () => {
      const outputsBefore = await plainOutputs();
      const secretBefore = (await stack.outputs(true)).secretAccessKey;
      const keysBefore = await keyResources();
      project.install(current);
      await setClock(addDays(T0, 31.05));
      // One in-place update per resource (the state drops the stored provider), nothing created or replaced.
      const expected = ["update app-a", "update app-b", "update app-schedule"];
      const preview = await ok("preview after the upgrade", stack.preview());
      assert.deepStrictEqual(steps(preview.events), expected, "preview");
      const up = await ok("up after the upgrade", stack.up());
      assert.deepStrictEqual(steps(up.events), expected, "up");
      assert.deepStrictEqual(await iamKeys(), [`${firstKey}:Active`, `${secondKey}:Active`]);
      assert.deepStrictEqual(await plainOutputs(), outputsBefore);
      assert.strictEqual((await stack.outputs(true)).secretAccessKey, secretBefore);
      const keysAfter = await keyResources();
      assert.deepStrictEqual(
        keysAfter.map((k) => [k.type, k.id]),
        keysBefore.map((k) => [KEY_TYPE, k.id]),
      );
      const exported = await state();
      assert.strictEqual(
        exported.text.includes("__provider"),
        false,
        "the state still holds a stored provider",
      );
      assert.strictEqual(
        exported.text.includes("pulumi-nodejs:dynamic"),
        false,
        "the state still holds a dynamic type",
      );
      // A second deploy changes nothing.
      const again = await ok("up again", stack.up());
      assert.deepStrictEqual(steps(again.events), []);
    });

    it("refresh with the plugin changes nothing", async () => {
      const stateBefore = await idsAndStatuses();
      const outputsBefore = await plainOutputs();
      const refresh = await ok("refresh", stack.refresh());
      assert.deepStrictEqual(steps(refresh.events), []);
      const summary = refresh.events.find((e) => e.summaryEvent)?.summaryEvent;
      assert.deepStrictEqual(Object.keys(summary?.resourceChanges ?? {}), ["same"], JSON.stringify(summary));
      assert.deepStrictEqual(await idsAndStatuses(), stateBefore);
      assert.deepStrictEqual(await plainOutputs(), outputsBefore);
      assert.deepStrictEqual(await iamKeys(), [`${firstKey}:Active`, `${secondKey}:Active`]);
    });

    it("day 38 with the current build: the first key is deactivated in place", async () => {
      await setClock(addDays(T0, 38));
      const expected = ["update app-a", "update app-schedule"];
      const preview = await ok("preview on day 38", stack.preview());
      assert.deepStrictEqual(steps(preview.events), expected, "preview");
      const up = await upAt(38);
      assert.deepStrictEqual(steps(up.events), expected, "up");
      assert.deepStrictEqual(await iamKeys(), [`${firstKey}:Inactive`, `${secondKey}:Active`]);
    });

    it("day 61: the next rotation deletes the first key and creates a third in its slot", async () => {
      const day61 = await upAt(61);
      assert.deepStrictEqual(steps(day61.events), [
        "create-replacement app-a",
        "delete-replaced app-a",
        "replace app-a",
        "update app-schedule",
      ]);
      const keys = await listKeys(user);
      assert.strictEqual(keys.length, 2);
      assert.ok(!keys.some((k) => k.AccessKeyId === firstKey), "the first key was deleted");
      assert.ok(keys.some((k) => k.AccessKeyId === secondKey && k.Status === "Active"));
      const out = await stack.outputs(false);
      assert.notStrictEqual(out.accessKeyId, secondKey);
      assert.strictEqual(out.previousAccessKeyId, secondKey);
    });

    it("destroy deletes both keys with the plugin", async () => {
      await setClock(addDays(T0, 70));
      const destroy = await ok("destroy", stack.destroy());
      assert.deepStrictEqual(steps(destroy.events), [
        "delete app",
        "delete app-a",
        "delete app-b",
        "delete app-schedule",
      ]);
      assert.deepStrictEqual(await listKeys(user), []);
    });

    it("no secret access key appears in any CLI output (nor in the state, checked at every export)", async () => {
      runs.forEach((r, i) => assertNoSecrets(r.visible, `the output of CLI run ${i + 1}`));
    });
  });
