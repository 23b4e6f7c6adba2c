/**
 * Upgrading the package under a deployed stack: a consumer project deploys with an earlier build
 * (packed at its commit, installed in its node_modules), then installs the current build. No key
 * may be replaced. Resources the new build leaves alone keep the provider code the old build
 * serialized into the state; that code `require()`s modules by their old paths
 * (`pulumi-aws-key-rotation/dist/components/accessKeyOps.js`, ...), so refresh and destroy only
 * work while the current package still answers at those paths. A resource the current build
 * updates stores its compact provider loader instead (components/providers/stored.ts).
 *
 * Two earlier builds: the last with the old layout (everything in components/), and the last
 * release before the compact loader (providers under components/providers/, code in the state).
 */
import * as assert from "assert";
import { addDays } from "../../core/clock";
import { storedProviderText } from "../../components/providers/stored";
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
const KEY_TYPE = "pulumi-nodejs:dynamic/keyrotation:AccessKey";
/** What the current build stores: the loader of the installed package's providers. */
const NEW_PROVIDER = storedProviderText("AccessKey");

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
    /** The provider code stored in each AccessKey's outputs: what refresh (read) and delete run. */
    const storedProviders = async () =>
      Object.fromEntries(
        (await state()).resources
          .filter((r) => r.type === KEY_TYPE)
          .map((r) => [r.id as string, String(r.outputs?.__provider ?? "")]),
      );
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

    it("current build installed: preview and up plan nothing; IAM and the outputs are unchanged", async () => {
      const outputsBefore = await plainOutputs();
      project.install(current);
      await setClock(addDays(T0, 31.05));
      const preview = await ok("preview after the upgrade", stack.preview());
      assert.deepStrictEqual(steps(preview.events), []);
      const up = await ok("up after the upgrade", stack.up());
      assert.deepStrictEqual(steps(up.events), []);
      assert.deepStrictEqual(await iamKeys(), [`${firstKey}:Active`, `${secondKey}:Active`]);
      assert.deepStrictEqual(await plainOutputs(), outputsBefore);
      // Unchanged resources keep their outputs, and with them the old provider code.
      for (const code of Object.values(await storedProviders())) assert.ok(code.includes(OLD_OPS));
    });

    it("refresh runs the stored closures of the previous build and changes nothing", async () => {
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
      // The updated key now holds the current build's code; the second still the previous build's.
      const providers = await storedProviders();
      assert.strictEqual(providers[firstKey], NEW_PROVIDER);
      assert.ok(providers[secondKey].includes(OLD_OPS), providers[secondKey].slice(0, 2000));
    });

    it("destroy deletes both keys, the second through the previous build's stored code", async () => {
      // Both keys were last used at their STS verification (days 0 and 31); a week later the
      // deletion guard's 24 h window is clear, so no forceDelete is needed.
      await setClock(addDays(T0, 45));
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
