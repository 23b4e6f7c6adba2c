/**
 * Two accounts in one stack with the real CLI: two explicit keyrotation providers whose
 * `assumeRole` points at roles in two emulated accounts, each rotating a user there over simulated
 * days 0, 31 and 38. Each account's keys stay in that account; the current key of each works
 * (STS names the member account's user); no plain secret in the state or the output.
 */
import * as assert from "assert";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import { addDays } from "../../core/clock";
import { accountIam, adminIam, callerArn, listKeysWith, resetClock, setClock } from "../support/moto";
import { steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const ACCOUNTS = ["111122223333", "444455556666"];

describe("e2e: two accounts in one stack (explicit providers with assumeRole)", function () {
  this.timeout(1_800_000);
  const user = `app-${process.pid}`;
  const T0 = new Date(Date.now() + 5 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let stack: TestStack;
  const clients = new Map<string, iam.IAMClient>();
  const generations = new Map<string, string[]>();

  before(async () => {
    for (const account of ACCOUNTS) {
      const client = await accountIam(account);
      await client.send(new iam.CreateUserCommand({ UserName: user }));
      clients.set(account, client);
      generations.set(account, []);
    }
    stack = new TestStack({ projectDir: path.join(__dirname, "programs", "two-accounts") });
    await stack.init();
    await stack.setConfig(
      "accounts",
      JSON.stringify(
        ACCOUNTS.map((a) => ({ roleArn: `arn:aws:iam::${a}:role/KeyRotation`, userName: user })),
      ),
    );
  });

  after(async () => {
    await resetClock(); // the suites after this one start from the real clock
    await stack?.remove();
    for (const c of clients.values()) c.destroy();
  });

  const calendar: { day: number; ops: string[]; keys: string[] }[] = [
    {
      day: 0,
      ops: ACCOUNTS.flatMap((a) => [
        `create ${a}-${user}`,
        `create ${a}-${user}-a`,
        `create ${a}-${user}-schedule`,
      ]),
      keys: ["1:Active"],
    },
    {
      day: 31,
      ops: ACCOUNTS.flatMap((a) => [`create ${a}-${user}-b`, `update ${a}-${user}-schedule`]),
      keys: ["1:Active", "2:Active"],
    },
    {
      day: 38,
      ops: ACCOUNTS.flatMap((a) => [`update ${a}-${user}-a`, `update ${a}-${user}-schedule`]),
      keys: ["1:Inactive", "2:Active"],
    },
  ];

  for (const step of calendar) {
    it(`day ${step.day}: both accounts hold ${step.keys.join(", ")}, each in its own account`, async () => {
      await setClock(addDays(T0, step.day));
      const preview = await stack.preview();
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up();
      assert.strictEqual(up.code, 0, up.visible);
      const expected = [
        ...step.ops,
        ...(step.day === 0 ? ACCOUNTS.map((a) => `create account-${a}`) : []),
      ].sort();
      assert.deepStrictEqual(steps(preview.events), expected, "preview");
      assert.deepStrictEqual(steps(up.events), expected, "up");

      const out = await stack.outputs(true);
      const ids = out.accessKeyIds as Record<string, string>;
      const secrets = out.secretAccessKeys as Record<string, string>;
      for (const account of ACCOUNTS) {
        registerSecret(secrets[account]);
        const seen = generations.get(account) as string[];
        if (!seen.includes(ids[account])) seen.push(ids[account]);
        const keys = await listKeysWith(clients.get(account) as iam.IAMClient, user);
        assert.deepStrictEqual(
          keys.map((k) => `${seen.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
          step.keys,
          `account ${account}`,
        );
        assert.strictEqual(
          await callerArn(ids[account], secrets[account]),
          `arn:aws:iam::${account}:user/${user}`,
          "the current key works and belongs to the member account's user",
        );
      }
      // The two accounts never share a key, and the default account has no such user.
      assert.notStrictEqual(ids[ACCOUNTS[0]], ids[ACCOUNTS[1]]);
      await assert.rejects(
        adminIam().send(new iam.ListAccessKeysCommand({ UserName: user })),
        iam.NoSuchEntityException,
      );

      const state = await stack.exportState();
      assertNoSecrets(state.text, `the state on day ${step.day}`);
      assertNoSecrets(preview.visible + up.visible, `the CLI output on day ${step.day}`);
      assert.strictEqual(state.text.includes("__provider"), false);
    });
  }

  it("destroy deletes the keys in both accounts", async () => {
    await setClock(addDays(T0, 45));
    const destroy = await stack.destroy();
    assert.strictEqual(destroy.code, 0, destroy.visible);
    for (const account of ACCOUNTS) {
      assert.deepStrictEqual(await listKeysWith(clients.get(account) as iam.IAMClient, user), []);
    }
  });
});
