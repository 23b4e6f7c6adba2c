/**
 * The policy pack with the real CLI: `pulumi preview --policy-pack policypack` and `pulumi up`
 * pass on a compliant rotating stack, fail on a key that aged past the limit without being
 * rotated, fail on a schedule that cannot stay under the limit, and honour
 * `--policy-pack-config`. A blocked `up` changes nothing.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as iam from "@aws-sdk/client-iam";
import * as path from "path";
import { addDays } from "../../core/clock";
import { ACCESS_KEY_TOKEN, SCHEDULE_TOKEN } from "../../core/tokens";
import { adminIam, createUser, listKeys, setClock } from "../support/moto";
import { REPO_ROOT, TestStack } from "../support/pulumiCli";
import { assertNoSecrets } from "../support/secretGuard";

const PACK = path.join(REPO_ROOT, "policypack");

describe("e2e: policy pack aws-key-rotation (real CLI)", function () {
  this.timeout(1_800_000);
  const T0 = new Date(Date.now() + 2 * 3_600_000);

  describe("a single key that is never rotated", () => {
    let stack: TestStack;
    let userName: string;
    let keyId: string;
    let created: Date;

    before(async () => {
      await setClock(T0);
      userName = await createUser("policy-stale");
      stack = new TestStack({ projectDir: path.join(__dirname, "programs", "single-key") });
      await stack.init();
      await stack.setConfig("userName", userName);
      const preview = await stack.preview(["--policy-pack", PACK]);
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up(["--policy-pack", PACK]);
      assert.strictEqual(up.code, 0, up.visible);
      const [key] = await listKeys(userName);
      keyId = key.AccessKeyId as string;
      created = key.CreateDate as Date;
    });

    after(async () => {
      await stack?.remove();
    });

    it("passes at 40 days with the default limit, and fails with --policy-pack-config maxAgeDays 30", async () => {
      await setClock(addDays(created, 40.01));
      const ok = await stack.preview(["--policy-pack", PACK]);
      assert.strictEqual(ok.code, 0, ok.visible);
      const configFile = path.join(stack.workDir, "policy-config.json");
      fs.writeFileSync(configFile, JSON.stringify({ "iam-access-key-max-age": { maxAgeDays: 30 } }));
      const blocked = await stack.preview(["--policy-pack", PACK, "--policy-pack-config", configFile]);
      assert.notStrictEqual(blocked.code, 0);
      const text = blocked.visible;
      assert.ok(text.includes("iam-access-key-max-age"), text);
      assert.ok(text.includes(keyId) && text.includes(userName), text);
      assert.ok(/40 days old/.test(text) && text.includes("30"), text);
    });

    it("blocks preview and up at 100 days; the blocked up changes nothing", async () => {
      await setClock(addDays(created, 100.01));
      const preview = await stack.preview(["--policy-pack", PACK]);
      assert.notStrictEqual(preview.code, 0);
      const text = preview.visible;
      assert.ok(text.includes("mandatory"), text);
      assert.ok(text.includes(keyId), text);
      assert.ok(/100 days old/.test(text), text);
      assertNoSecrets(preview.visible, "policy output");

      // A change elsewhere in the stack (a second key): the policy blocks the whole deploy at its
      // preview, so nothing is created. (A change to the stale key itself would be judged after the
      // update: at preview the engine plans the resource's outputs from its inputs, so the
      // key's id and creation date are unknown then. README, "Known limits".)
      await stack.setConfig("secondKey", "true");
      const up = await stack.up(["--policy-pack", PACK]);
      assert.notStrictEqual(up.code, 0);
      assert.ok(up.visible.includes(keyId), up.visible);
      assert.strictEqual(
        (await stack.exportState()).resources.filter((r) => r.type === ACCESS_KEY_TOKEN).length,
        1,
      );
      const keys = await listKeys(userName);
      assert.deepStrictEqual(
        keys.map((k) => [k.AccessKeyId, k.Status]),
        [[keyId, "Active"]],
      );
    });
  });

  describe("a rotating stack (root project)", () => {
    let stack: TestStack;
    const user = `policy-rotating-${process.pid}`;

    before(async () => {
      await setClock(T0);
      await adminIam().send(new iam.CreateUserCommand({ UserName: user }));
      stack = new TestStack({ projectDir: REPO_ROOT, stackName: "policy" });
      await stack.init();
      await stack.setConfig("aws-key-rotation:users[0]", user, { path: true });
      await stack.setConfig("aws-key-rotation:verifyTimeoutSeconds", "0");
    });

    after(async () => {
      await stack?.remove();
    });

    it("passes preview and up while it rotates, even after a long gap", async () => {
      const first = await stack.up(["--policy-pack", PACK]);
      assert.strictEqual(first.code, 0, first.visible);
      await setClock(addDays(T0, 100));
      // The old key is past 90 days; the plan deactivates it and creates a new one, so the
      // deploy leaves no stale Active key and the policy lets it through.
      const preview = await stack.preview(["--policy-pack", PACK]);
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up(["--policy-pack", PACK]);
      assert.strictEqual(up.code, 0, up.visible);
      const keys = await listKeys(user);
      assert.deepStrictEqual(
        keys.map((k) => k.Status),
        ["Inactive", "Active"],
      );
    });

    it("blocks a schedule that cannot stay under the limit, before any key ages", async () => {
      // Valid for the component (85 + 7 < 120), but not under the policy's 90 days.
      await stack.setConfig("aws-key-rotation:rotationDays", "85");
      await stack.setConfig("aws-key-rotation:maxAgeDays", "120");
      const preview = await stack.preview(["--policy-pack", PACK]);
      assert.notStrictEqual(preview.code, 0);
      const text = preview.visible;
      assert.ok(text.includes("rotating-access-key-schedule"), text);
      assert.ok(text.includes("85"), text);
      const before = await stack.exportState();
      const up = await stack.up(["--policy-pack", PACK]);
      assert.notStrictEqual(up.code, 0);
      assert.ok(up.visible.includes("rotating-access-key-schedule"), up.visible);
      const schedule = (state: { resources: { type: string; outputs?: Record<string, unknown> }[] }) =>
        state.resources.find((r) => r.type === SCHEDULE_TOKEN)?.outputs;
      assert.strictEqual(schedule(before)?.rotationDays, 30);
      assert.strictEqual(
        schedule(await stack.exportState())?.rotationDays,
        30,
        "the blocked update was not applied",
      );
    });
  });
});
