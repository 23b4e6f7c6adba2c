/**
 * Simulated months with the real Pulumi CLI, the IAM emulator and one clock shared by IAM and
 * the code (`KEYROTATION_NOW`): the root project rotates a user's keys on the lifecycle of the
 * README ("The key lifecycle"). Before every `up`, `preview` must plan exactly the operations the
 * `up` performs.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { addDays, MS_PER_DAY } from "../../core/clock";
import { ACCESS_KEY_TOKEN } from "../../core/tokens";
import { adminIam, listKeys, setClock } from "../support/moto";
import { diagnostics, REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

/** Signs a request with the key, as an application would; returns the ARN STS reports. */
async function useKey(accessKeyId: string, secretAccessKey: string): Promise<string> {
  const client = new sts.STSClient({ region: "us-east-1", credentials: { accessKeyId, secretAccessKey } });
  try {
    return (await client.send(new sts.GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    client.destroy();
  }
}

interface Step {
  day: number;
  /** Operations the up performs (and the preview plans), besides `same`. */
  ops: string[];
  /** IAM afterwards, oldest first: generation and status. */
  keys: string[];
}

describe("e2e: rotation over simulated months (root project)", function () {
  this.timeout(1_800_000);
  let stack: TestStack;
  const user = `alice-${process.pid}`;
  const T0 = new Date(Date.now() + 3_600_000);
  T0.setUTCMilliseconds(0);
  const secrets = new Map<string, string>();
  const generationOf = new Map<string, number>();

  before(async () => {
    await adminIam().send(new iam.CreateUserCommand({ UserName: user }));
    stack = new TestStack({ projectDir: REPO_ROOT });
    await stack.init();
    await stack.setConfig("aws-key-rotation:users[0]", user, { path: true });
    await setClock(T0);
  });

  after(async () => {
    await stack?.remove();
  });

  const c = (s: string) => `create ${s}`;
  const calendar: Step[] = [
    { day: 0, ops: [c(user), c(`${user}-a`), c(`${user}-schedule`)], keys: ["1:Active"] },
    { day: 1, ops: [], keys: ["1:Active"] },
    { day: 29, ops: [], keys: ["1:Active"] },
    { day: 30, ops: [c(`${user}-b`), `update ${user}-schedule`], keys: ["1:Active", "2:Active"] },
    { day: 31, ops: [], keys: ["1:Active", "2:Active"] },
    { day: 36, ops: [], keys: ["1:Active", "2:Active"] },
    { day: 37, ops: [`update ${user}-a`, `update ${user}-schedule`], keys: ["1:Inactive", "2:Active"] },
    { day: 38, ops: [], keys: ["1:Inactive", "2:Active"] },
    { day: 59, ops: [], keys: ["1:Inactive", "2:Active"] },
    {
      day: 60,
      ops: [
        `create-replacement ${user}-a`,
        `delete-replaced ${user}-a`,
        `replace ${user}-a`,
        `update ${user}-schedule`,
      ],
      keys: ["2:Active", "3:Active"],
    },
    { day: 61, ops: [], keys: ["2:Active", "3:Active"] },
    {
      // No deploy on day 67, so key 2 was never deactivated; its slot is refilled now.
      day: 95,
      ops: [
        `create-replacement ${user}-b`,
        `delete-replaced ${user}-b`,
        `replace ${user}-b`,
        `update ${user}-schedule`,
      ],
      keys: ["3:Active", "4:Active"],
    },
    {
      // A 200-day gap: key 3 (older, unused) is deleted and key 5 takes its slot; key 4, which
      // the application used minutes ago, is 200 days old: deactivated, not deleted.
      day: 295,
      ops: [
        `create-replacement ${user}-a`,
        `delete-replaced ${user}-a`,
        `replace ${user}-a`,
        `update ${user}-b`,
        `update ${user}-schedule`,
      ],
      keys: ["4:Inactive", "5:Active"],
    },
  ];

  let generation = 0;
  for (const step of calendar) {
    it(`day ${step.day}: preview plans exactly what up does; IAM holds ${step.keys.join(", ")}`, async () => {
      const at = addDays(T0, step.day);
      await setClock(at);
      // The application uses the current key minutes before the deploy.
      const before = await stack.outputs(true).catch(() => ({}) as Record<string, unknown>);
      const currentId = (before.accessKeyIds as Record<string, string> | undefined)?.[user];
      if (currentId) {
        assert.ok((await useKey(currentId, secrets.get(currentId) as string)).endsWith(`:user/${user}`));
      }

      const preview = await stack.preview();
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up();
      assert.strictEqual(up.code, 0, up.visible);
      assert.deepStrictEqual(steps(preview.events), [...step.ops].sort(), "preview");
      assert.deepStrictEqual(steps(up.events), [...step.ops].sort(), "up");

      const out = await stack.outputs(true);
      const ids = out.accessKeyIds as Record<string, string>;
      const secret = (out.secretAccessKeys as Record<string, string>)[user];
      registerSecret(secret);
      if (!secrets.has(ids[user])) {
        secrets.set(ids[user], secret);
        generation += 1;
        generationOf.set(ids[user], generation);
      }

      // Invariants, read from IAM itself.
      const keys = await listKeys(user);
      // The schedule tag the audit's rotation-stopped verdict reads: written by the first deploy,
      // kept by every key creation's clean-up of stale key tags.
      const tags = (await adminIam().send(new iam.ListUserTagsCommand({ UserName: user }))).Tags ?? [];
      assert.deepStrictEqual(
        tags.filter((t) => t.Key === "keyrotation:schedule").map((t) => t.Value),
        ["rotation=30 overlap=7 max=90"],
      );
      assert.ok(keys.length <= 2, `${keys.length} keys`);
      assert.deepStrictEqual(
        keys.map((k) => `${generationOf.get(k.AccessKeyId as string)}:${k.Status}`),
        step.keys,
      );
      for (const k of keys) {
        const age = (at.getTime() - (k.CreateDate as Date).getTime()) / MS_PER_DAY;
        if (k.Status === "Active") assert.ok(age <= 90, `key ${k.AccessKeyId} Active at ${age} days`);
      }
      const current = keys.find((k) => k.AccessKeyId === ids[user]);
      assert.strictEqual(current?.Status, "Active", "the current key is Active");
      assert.ok((await useKey(ids[user], secret)).endsWith(`:user/${user}`), "the current key works");
      const previousId = (out.previousAccessKeyIds as Record<string, string | null>)[user] ?? undefined;
      const previous = keys.find((k) => k.AccessKeyId !== ids[user]);
      assert.strictEqual(previousId, previous?.AccessKeyId);
      // (The previous key is not signed with here: applications have moved to the current key, and
      // a use would rightly make its deactivation wait; its status is read from IAM above.)
      const next = (out.nextRotationDates as Record<string, string>)[user];
      assert.ok(
        new Date(next).getTime() > at.getTime(),
        `next rotation ${next} is after ${at.toISOString()}`,
      );

      // Order: the previous key's resource depends on the current one, so it is changed (deactivated)
      // only after the new key exists and works.
      const state = await stack.exportState();
      const keyUrn = (id: string) =>
        state.resources.find((r) => r.type === ACCESS_KEY_TOKEN && r.id === id)?.urn as string;
      if (previous) {
        assert.ok(
          state.resources
            .find((r) => r.urn === keyUrn(previous.AccessKeyId as string))
            ?.dependencies?.includes(keyUrn(ids[user])),
          "the previous key depends on the current key",
        );
      }

      // No plain secret in state or in what the CLI printed.
      assertNoSecrets(state.text, `the state on day ${step.day}`);
      assertNoSecrets(preview.visible + up.visible, `CLI output on day ${step.day}`);
      if (step.day === 295) {
        assert.ok(
          diagnostics(up.events).some((m) => m.includes("the age limit wins over the overlap")),
          diagnostics(up.events).join("\n"),
        );
      }
    });
  }

  it("a second preview at the same instant plans nothing", async () => {
    const preview = await stack.preview();
    assert.strictEqual(preview.code, 0, preview.stderr);
    assert.deepStrictEqual(steps(preview.events), []);
  });

  it("destroy refuses to delete the key the application just used, and says how to proceed", async () => {
    const out = await stack.outputs(true);
    const id = (out.accessKeyIds as Record<string, string>)[user];
    const previous = (out.previousAccessKeyIds as Record<string, string>)[user];
    await useKey(id, secrets.get(id) as string);
    const destroy = await stack.destroy();
    assert.notStrictEqual(destroy.code, 0);
    const text = destroy.visible;
    // The previous key (which depends on the current one) goes first; the application used it
    // minutes before the day-295 deploy, so the guard stops the destroy there.
    assert.ok(text.includes(`Refusing to delete access key ${previous}`), text);
    assert.ok(text.includes("forceDelete: true"), text);
    assertNoSecrets(destroy.visible, "destroy output");
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => k.AccessKeyId),
      [previous, id],
    );
    await stack.setConfig("aws-key-rotation:forceDelete", "true");
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.stderr);
    const again = await stack.destroy();
    assert.strictEqual(again.code, 0, again.visible);
    assert.deepStrictEqual(await listKeys(user), []);
    // Every tag of this package is gone with the stack, the schedule tag included.
    const users = await adminIam().send(new iam.ListUserTagsCommand({ UserName: user }));
    assert.deepStrictEqual(users.Tags, []);
  });
});
