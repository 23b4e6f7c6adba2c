/**
 * The ready project (repository root) across accounts with the real CLI: a stack that rotates a
 * plain `users` entry gains `aws-key-rotation:accounts` with three emulated accounts (two by the
 * stack-wide `roleName`, one by its own `roleArn` and `externalId`). Adding them changes nothing
 * of the plain user; each account gets one explicit provider and its own keys over simulated days
 * 0, 31 and 38; outputs are keyed `<account>/<user>`; a bad entry fails the preview naming it.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { addDays } from "../../core/clock";
import {
  accountIam,
  adminIam,
  callerArn,
  createUser,
  listKeys,
  listKeysWith,
  resetClock,
  setClock,
} from "../support/moto";
import { REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const ACCOUNTS = ["210987654321", "333344445555", "012345678901"];

describe("e2e: the ready project across three accounts (aws-key-rotation:accounts)", function () {
  this.timeout(1_800_000);
  const user = `team-${process.pid}`;
  const T0 = new Date(Date.now() + 5 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let plain: string;
  let stack: TestStack;
  const clients = new Map<string, iam.IAMClient>();
  const generations = new Map<string, string[]>();
  const accounts = [
    { id: ACCOUNTS[0], name: "prod", users: [user] },
    { id: ACCOUNTS[1], users: [user], userSettings: { [user]: { overlapDays: 7 } } },
    {
      id: ACCOUNTS[2],
      name: "sandbox",
      roleArn: `arn:aws:iam::${ACCOUNTS[2]}:role/teams/Rotation`,
      externalId: "keyrotation-e2e",
      users: [user],
    },
  ];
  const name = (account: string) => `${account}/${user}`;

  before(async () => {
    await setClock(T0);
    for (const account of ACCOUNTS) {
      const client = await accountIam(account);
      await client.send(new iam.CreateUserCommand({ UserName: user }));
      clients.set(account, client);
      generations.set(account, []);
    }
    plain = await createUser("plain");
    stack = new TestStack({ projectDir: REPO_ROOT });
    await stack.init();
    await stack.setConfig("aws-key-rotation:users[0]", plain, { path: true });
    await stack.setConfig("aws-key-rotation:verifyTimeoutSeconds", "30");
  });

  after(async () => {
    await resetClock();
    await stack?.remove();
    for (const c of clients.values()) c.destroy();
  });

  it("day 0: the plain users form deploys as before", async () => {
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.visible);
    assert.deepStrictEqual(steps(up.events), [
      `create ${plain}`,
      `create ${plain}-a`,
      `create ${plain}-schedule`,
    ]);
    const out = await stack.outputs();
    assert.deepStrictEqual(Object.keys(out.accessKeyIds as object), [plain]);
    assert.strictEqual(out.accounts, undefined);
  });

  it("a bad entry fails the preview naming it, and changes nothing", async () => {
    await stack.setConfig("aws-key-rotation:roleName", "KeyRotation");
    await stack.setConfig(
      "aws-key-rotation:accounts",
      JSON.stringify([...accounts, { id: ACCOUNTS[0], users: ["other"] }]),
    );
    const preview = await stack.preview();
    assert.notStrictEqual(preview.code, 0);
    assert.ok(
      preview.visible.includes(
        `aws-key-rotation:accounts[3] (account ${ACCOUNTS[0]}) repeats aws-key-rotation:accounts[0]: list each account once, with all its users.`,
      ),
      preview.visible,
    );
    for (const account of ACCOUNTS) {
      assert.deepStrictEqual(await listKeysWith(clients.get(account) as iam.IAMClient, user), []);
    }
  });

  const calendar: { day: number; ops: string[]; plainOps: (p: string) => string[]; keys: string[] }[] = [
    {
      day: 0,
      ops: [
        ...ACCOUNTS.flatMap((a) => [
          `create ${name(a)}`,
          `create ${name(a)}-a`,
          `create ${name(a)}-schedule`,
        ]),
        ...ACCOUNTS.map((a) => `create account-${a}`),
      ],
      // Adding accounts leaves the plain user's resources as they are.
      plainOps: () => [],
      keys: ["1:Active"],
    },
    {
      day: 31,
      ops: ACCOUNTS.flatMap((a) => [`create ${name(a)}-b`, `update ${name(a)}-schedule`]),
      plainOps: (p) => [`create ${p}-b`, `update ${p}-schedule`],
      keys: ["1:Active", "2:Active"],
    },
    {
      day: 38,
      ops: ACCOUNTS.flatMap((a) => [`update ${name(a)}-a`, `update ${name(a)}-schedule`]),
      plainOps: (p) => [`update ${p}-a`, `update ${p}-schedule`],
      keys: ["1:Inactive", "2:Active"],
    },
  ];

  for (const step of calendar) {
    it(`day ${step.day}: each of the three accounts holds ${step.keys.join(", ")} for its user`, async () => {
      if (step.day === 0) await stack.setConfig("aws-key-rotation:accounts", JSON.stringify(accounts));
      await setClock(addDays(T0, step.day));
      const preview = await stack.preview();
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up();
      assert.strictEqual(up.code, 0, up.visible);
      const expected = [...step.ops, ...step.plainOps(plain)].sort();
      assert.deepStrictEqual(steps(preview.events), expected, "preview");
      assert.deepStrictEqual(steps(up.events), expected, "up");

      const out = await stack.outputs(true);
      const ids = out.accessKeyIds as Record<string, string>;
      const secrets = out.secretAccessKeys as Record<string, string>;
      assert.deepStrictEqual(Object.keys(ids).sort(), [plain, ...ACCOUNTS.map(name)].sort());
      assert.deepStrictEqual(out.accounts, {
        [ACCOUNTS[0]]: {
          name: "prod",
          roleArn: `arn:aws:iam::${ACCOUNTS[0]}:role/KeyRotation`,
          users: [user],
        },
        [ACCOUNTS[1]]: { roleArn: `arn:aws:iam::${ACCOUNTS[1]}:role/KeyRotation`, users: [user] },
        [ACCOUNTS[2]]: {
          name: "sandbox",
          roleArn: `arn:aws:iam::${ACCOUNTS[2]}:role/teams/Rotation`,
          users: [user],
        },
      });
      for (const account of ACCOUNTS) {
        registerSecret(secrets[name(account)]);
        const seen = generations.get(account) as string[];
        if (!seen.includes(ids[name(account)])) seen.push(ids[name(account)]);
        const keys = await listKeysWith(clients.get(account) as iam.IAMClient, user);
        assert.deepStrictEqual(
          keys.map((k) => `${seen.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
          step.keys,
          `account ${account}`,
        );
        assert.strictEqual(
          await callerArn(ids[name(account)], secrets[name(account)]),
          `arn:aws:iam::${account}:user/${user}`,
          "the current key works and belongs to the member account's user",
        );
      }
      registerSecret(secrets[plain]);
      assert.strictEqual((await listKeys(plain)).length, step.day === 0 ? 1 : 2);
      assert.strictEqual(new Set(Object.values(ids)).size, 4, "no two users share a key");
      // The default account has no such user: every account user's keys live in its own account.
      await assert.rejects(
        adminIam().send(new iam.ListAccessKeysCommand({ UserName: user })),
        iam.NoSuchEntityException,
      );

      const state = await stack.exportState();
      assertNoSecrets(state.text + preview.visible + up.visible, `the state and output on day ${step.day}`);
      assert.strictEqual(state.text.includes("__provider"), false);
    });
  }

  it("destroy deletes the keys in every account", async () => {
    await setClock(addDays(T0, 45));
    const destroy = await stack.destroy();
    assert.strictEqual(destroy.code, 0, destroy.visible);
    for (const account of ACCOUNTS) {
      assert.deepStrictEqual(await listKeysWith(clients.get(account) as iam.IAMClient, user), []);
    }
    assert.deepStrictEqual(await listKeys(plain), []);
  });
});
