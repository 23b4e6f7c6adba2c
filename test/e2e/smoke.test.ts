/**
 * Foundation smoke test: the real Pulumi CLI, a local file backend and the IAM emulator. A
 * program with one AccessKey (served by the keyrotation provider plugin) goes up, previews with no changes and is destroyed.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as path from "path";
import { adminIam, createUser, listKeys, resetClock } from "../support/moto";
import { diagnostics, REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

describe("e2e: smoke (one AccessKey, real CLI)", function () {
  let stack: TestStack;
  let userName: string;

  before(async function () {
    this.timeout(1_800_000); // the first run may build the CLI
    userName = await createUser("smoke");
    stack = new TestStack({ projectDir: path.join(__dirname, "programs", "single-key") });
    await stack.init();
    await stack.setConfig("userName", userName);
  });

  after(async () => {
    await stack?.remove();
  });

  it("goes up, previews with no changes, refresh sees an out-of-band deactivation, destroys", async () => {
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.visible);
    assert.deepStrictEqual(steps(up.events), ["create key"]);
    const keys = await listKeys(userName);
    assert.strictEqual(keys.length, 1);
    const out = await stack.outputs(true);
    registerSecret(out.secretAccessKey as string);
    assert.strictEqual(out.accessKeyId, keys[0].AccessKeyId);
    assert.strictEqual((out.secretAccessKey as string).length, 40);

    const plain = await stack.outputs(false);
    assert.strictEqual(plain.secretAccessKey, "[secret]");
    const state = await stack.exportState();
    assertNoSecrets(state.text, "the exported state");
    const key = state.resources.find((r) => r.type === "keyrotation:iam:AccessKey");
    // The plugin's state holds no provider code.
    assert.strictEqual(state.text.includes("__provider"), false);
    assert.strictEqual(key?.id, keys[0].AccessKeyId);
    assert.strictEqual(key?.outputs?.status, "Active");
    assertNoSecrets(up.visible, "pulumi up output");

    const preview = await stack.preview();
    assert.strictEqual(preview.code, 0, preview.stderr);
    assert.deepStrictEqual(steps(preview.events), []);

    await adminIam().send(
      new iam.UpdateAccessKeyCommand({
        UserName: userName,
        AccessKeyId: keys[0].AccessKeyId,
        Status: "Inactive",
      }),
    );
    const refresh = await stack.refresh({}, false);
    assert.strictEqual(refresh.code, 0, refresh.stderr);
    const refreshed = (await stack.exportState()).resources.find((r) => r.type.endsWith(":AccessKey"));
    assert.strictEqual(refreshed?.outputs?.status, "Inactive");

    // The next up restores the intended state.
    const heal = await stack.up([], {}, false);
    assert.strictEqual(heal.code, 0, heal.visible);
    assert.ok(/1 updated/.test(heal.stdout), heal.stdout);
    assert.strictEqual((await listKeys(userName))[0].Status, "Active");

    const destroy = await stack.destroy({}, false);
    assert.strictEqual(destroy.code, 0, destroy.visible);
    assert.deepStrictEqual(await listKeys(userName), []);
    // Plain (human) output of refresh, up and destroy, and the preview's events.
    assertNoSecrets(preview.visible + refresh.visible + destroy.visible + heal.visible, "pulumi output");
  });

  it("a stray KEYROTATION_NOW in a real deploy (no simulation opt-in) fails the preview, naming it; nothing is created", async () => {
    await resetClock(); // the real clock, in IAM and here
    const user = await createUser("stray-clock");
    const root = new TestStack({ projectDir: REPO_ROOT });
    try {
      await root.init();
      await root.setConfig("aws-key-rotation:users[0]", user, { path: true });
      const stray = {
        KEYROTATION_NOW: new Date(Date.now() + 400 * 86_400_000).toISOString(),
        KEYROTATION_SIMULATION: "",
      };
      const preview = await root.preview([], stray);
      assert.notStrictEqual(preview.code, 0);
      assert.match(
        diagnostics(preview.events).join("\n"),
        /KEYROTATION_NOW=\S+ is set, but the rotation component honours it only in a simulation: KEYROTATION_SIMULATION=1/,
      );
      const up = await root.up([], stray);
      assert.notStrictEqual(up.code, 0);
      assert.deepStrictEqual(await listKeys(user), []);
      // The same deploy without the stray value goes through.
      const clean = await root.up([], { KEYROTATION_NOW: "", KEYROTATION_SIMULATION: "" });
      assert.strictEqual(clean.code, 0, diagnostics(clean.events).join("\n"));
      assert.strictEqual((await listKeys(user)).length, 1);
    } finally {
      await root.remove();
    }
  });
});
