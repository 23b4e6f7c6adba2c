/**
 * iam-access-keys-outside-stack against the IAM emulator (moto's server, shared clock): keys on
 * the stack's users that the stack does not manage, many users, and an IAM that cannot be reached.
 */
import * as assert from "assert";
import * as net from "net";
import * as iam from "@aws-sdk/client-iam";
import { iamAccessKeysOutsideStack } from "../../policypack/policies/outsideStack";
import { accountIam, adminIam, createUser, freePort, resetClock, setClock } from "../support/moto";
import { registerSecret } from "../support/secretGuard";
import { CraftedResource, Diagnostic, RunOptions, UNKNOWN, runStackPolicies } from "../support/policyHarness";

const POLICY = "iam-access-keys-outside-stack";
const DESCRIPTION = iamAccessKeysOutsideStack.description;
const DYNAMIC = "pulumi-nodejs:dynamic/keyrotation:AccessKey";
const AWS = "aws:iam/accessKey:AccessKey";
const COMPONENT = "keyrotation:iam:RotatingAccessKey";
const DAY = 86_400_000;

interface Key {
  accessKeyId: string;
  createDate: string;
  secret: string;
}

const secrets: string[] = [];

async function createKey(userName: string): Promise<Key> {
  const out = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }));
  const key = out.AccessKey!;
  registerSecret(key.SecretAccessKey);
  secrets.push(key.SecretAccessKey!);
  return {
    accessKeyId: key.AccessKeyId!,
    createDate: key.CreateDate!.toISOString(),
    secret: key.SecretAccessKey!,
  };
}

function managedKey(userName: string, key: Key, name = `${userName}-key`): CraftedResource {
  return {
    type: DYNAMIC,
    name,
    props: { userName, accessKeyId: key.accessKeyId, status: "Active", createDate: key.createDate },
  };
}

async function run(stack: CraftedResource[], options: RunOptions = {}): Promise<Diagnostic[]> {
  const ds = await runStackPolicies([iamAccessKeysOutsideStack], stack, options);
  for (const d of ds) {
    for (const s of secrets) assert.ok(!d.message.includes(s), "a diagnostic contains a secret access key");
  }
  return ds;
}

function outsideMessage(key: Key, userName: string, age: number, limit = 90): string {
  return (
    `${DESCRIPTION}\nAccess key ${key.accessKeyId} of IAM user ${userName} is Active and ${age} days old ` +
    `(created ${key.createDate}), older than the limit of ${limit} days, and this stack does not manage it ` +
    `(it was made outside Pulumi or by another stack). Deactivate it once nothing uses it ` +
    `(aws iam update-access-key --user-name ${userName} --access-key-id ${key.accessKeyId} --status Inactive), ` +
    `let a RotatingAccessKey retire it, or add an exemption with a reason and an expiry date to the ${POLICY} configuration.`
  );
}

/** Moves the shared clock (IAM and KEYROTATION_NOW) `days` after `from`. */
async function ageBy(from: string, days: number): Promise<void> {
  await setClock(new Date(new Date(from).getTime() + days * DAY + 60_000));
}

describe("policy iam-access-keys-outside-stack (IAM emulator)", function () {
  this.timeout(30_000);
  // Other suites share the emulator: start from the real clock whatever they left behind.
  before(resetClock);
  afterEach(resetClock);

  it("reports a stale Active key the stack does not manage, and nothing else", async () => {
    const alice = await createUser("alice");
    const stale = await createKey(alice);
    const bob = await createUser("bob");
    const bobOld = await createKey(bob);
    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: bob, AccessKeyId: bobOld.accessKeyId, Status: "Inactive" }),
    );
    await ageBy(stale.createDate, 100);
    const fresh = await createKey(alice); // made at day 100: managed by the stack
    const bobManaged = await createKey(bob);
    const stack = [
      managedKey(alice, fresh),
      managedKey(bob, bobManaged),
      { type: "aws:iam/user:User", name: "other", props: { name: "not-a-key-user" } },
    ];
    const ds = await run(stack);
    assert.deepStrictEqual(ds, [
      { policyName: POLICY, enforcementLevel: "advisory", message: outsideMessage(stale, alice, 100) },
    ]);

    // The same key managed by the stack (even though stale) is not this policy's business.
    assert.deepStrictEqual(await run([...stack, managedKey(alice, stale, "alice-old")]), []);
  });

  it("finds the stack's users through aws.iam.AccessKey, RotatingAccessKey and RotationSchedule resources", async () => {
    const viaAws = await createUser("viaaws");
    const viaComponent = await createUser("viacomponent");
    const viaSchedule = await createUser("viaschedule");
    const keys = [await createKey(viaAws), await createKey(viaComponent), await createKey(viaSchedule)];
    await ageBy(keys[0].createDate, 95);
    const stack: CraftedResource[] = [
      {
        type: AWS,
        name: "k",
        props: { id: "AKIANOTINIAM00000001", user: viaAws, status: "Active", createDate: keys[0].createDate },
      },
      { type: COMPONENT, name: "c", props: { userName: viaComponent } },
      {
        type: "pulumi-nodejs:dynamic/keyrotation:RotationSchedule",
        name: "s",
        props: { userName: viaSchedule, rotationDays: 30 },
      },
    ];
    const ds = await run(stack);
    assert.deepStrictEqual(
      ds.map((d) => d.message),
      [
        outsideMessage(keys[0], viaAws, 95),
        outsideMessage(keys[1], viaComponent, 95),
        outsideMessage(keys[2], viaSchedule, 95),
      ],
    );
  });

  it("does not report a user whose stack key has no known id yet (being created or replaced at preview)", async () => {
    const carol = await createUser("carol");
    const old = await createKey(carol);
    await ageBy(old.createDate, 100);
    const replaced: CraftedResource = {
      type: DYNAMIC,
      name: "carol-key",
      props: {
        userName: carol,
        accessKeyId: UNKNOWN,
        status: UNKNOWN,
        createDate: UNKNOWN,
        secretAccessKey: UNKNOWN,
      },
    };
    assert.deepStrictEqual(await run([replaced]), []);
    const planned: CraftedResource = {
      type: DYNAMIC,
      name: "carol-key",
      props: { userName: carol, status: "Inactive" },
    };
    assert.deepStrictEqual(await run([planned]), []);
    // A key resource whose user is unknown adds no user and stops nothing.
    const unknownUser: CraftedResource = {
      type: DYNAMIC,
      name: "x",
      props: { userName: UNKNOWN, accessKeyId: UNKNOWN },
    };
    assert.deepStrictEqual(
      (await run([unknownUser, { type: COMPONENT, name: "c", props: { userName: carol } }])).length,
      1,
    );
  });

  it("is silent for users that do not exist in IAM and for stacks without key users", async () => {
    const ghost = { type: COMPONENT, name: "g", props: { userName: `ghost-${process.pid}` } };
    assert.deepStrictEqual(await run([ghost]), []);
    assert.deepStrictEqual(await run([]), []);
  });

  it("applies exemptions, and reports expired ones", async () => {
    const dave = await createUser("dave");
    const key = await createKey(dave);
    await ageBy(key.createDate, 120);
    const stack = [{ type: COMPONENT, name: "d", props: { userName: dave } }];
    const later = new Date(Date.now() + 200 * DAY).toISOString().slice(0, 10);
    assert.deepStrictEqual(
      await run(stack, {
        config: {
          [POLICY]: { exemptions: [{ userName: dave, reason: "OPS-1: legacy batch", expires: later }] },
        },
      }),
      [],
    );
    const ds = await run(stack, {
      config: {
        [POLICY]: {
          exemptions: [{ accessKeyId: key.accessKeyId, reason: "OPS-2: done", expires: "2024-01-01" }],
        },
      },
    });
    assert.deepStrictEqual(
      ds.map((d) => [d.enforcementLevel, d.message]),
      [
        [
          "advisory",
          `The exemption for access key ${key.accessKeyId} (reason: "OPS-2: done") expired on 2024-01-01 and no longer ` +
            `applies. Renew it with a later expires date or remove it from the ${POLICY} configuration.`,
        ],
        ["advisory", outsideMessage(key, dave, 120) + " Its exemption expired on 2024-01-01."],
      ],
    );
  });

  it("follows maxAgeDays and enforcementLevel from the config", async () => {
    const erin = await createUser("erin");
    const key = await createKey(erin);
    await ageBy(key.createDate, 40);
    const stack = [{ type: COMPONENT, name: "e", props: { userName: erin } }];
    assert.deepStrictEqual(await run(stack), []);
    assert.deepStrictEqual(
      await run(stack, { config: { [POLICY]: { maxAgeDays: 30, enforcementLevel: "mandatory" } } }),
      [{ policyName: POLICY, enforcementLevel: "mandatory", message: outsideMessage(key, erin, 40, 30) }],
    );
    assert.deepStrictEqual(
      await run(stack, { config: { [POLICY]: { maxAgeDays: 30 } }, rawConfig: undefined }),
      [{ policyName: POLICY, enforcementLevel: "advisory", message: outsideMessage(key, erin, 40, 30) }],
    );
    assert.deepStrictEqual(
      await run(stack, { rawConfig: { [POLICY]: { maxAgeDays: 30 } } }).then((d) => d.length),
      1,
    );
    assert.deepStrictEqual(await run(stack, { config: { [POLICY]: "disabled", all: "mandatory" } }), []);
  });

  it("lists many users (30, concurrency 4) and reports each stale key once", async function () {
    const users: string[] = [];
    const keys: Key[] = [];
    for (let i = 0; i < 30; i++) users.push(await createUser("many"));
    for (const user of users) keys.push(await createKey(user));
    // A second key on one user: both listed.
    const extra = await createKey(users[0]);
    await ageBy(keys[keys.length - 1].createDate, 91);
    const stack = users.map((u) => ({ type: COMPONENT, name: u, props: { userName: u } }));
    const started = Date.now();
    const ds = await run(stack, { config: { [POLICY]: { concurrency: 4 } } });
    const ids = ds.map((d) => /Access key (\S+) of IAM user/.exec(d.message)?.[1]);
    assert.deepStrictEqual(ids.sort(), [...keys, extra].map((k) => k.accessKeyId).sort());
    assert.ok(Date.now() - started < 10_000, `listing 30 users took ${Date.now() - started} ms`);
  });

  describe("across accounts (keyrotation providers assuming a role in each)", () => {
    const A = "121212121212";
    const B = "343434343434";
    const C = "565656565656";
    const providerOf = (account: string, props: Record<string, unknown> = {}) => ({
      type: "pulumi:providers:keyrotation",
      name: `account-${account}`,
      props: {
        version: "0.2.0",
        assumeRole: JSON.stringify({ roleArn: `arn:aws:iam::${account}:role/KeyRotation` }),
        ...props,
      },
    });

    async function keyIn(client: iam.IAMClient, userName: string): Promise<Key> {
      const out = await client.send(new iam.CreateAccessKeyCommand({ UserName: userName }));
      registerSecret(out.AccessKey!.SecretAccessKey);
      secrets.push(out.AccessKey!.SecretAccessKey!);
      return {
        accessKeyId: out.AccessKey!.AccessKeyId!,
        createDate: out.AccessKey!.CreateDate!.toISOString(),
        secret: out.AccessKey!.SecretAccessKey!,
      };
    }

    it("lists each account's users through that account's provider, and names the account", async () => {
      const user = `shared-${process.pid}`;
      const [inA, inB] = [await accountIam(A), await accountIam(B)];
      try {
        for (const c of [inA, inB]) await c.send(new iam.CreateUserCommand({ UserName: user }));
        const staleInA = await keyIn(inA, user);
        const staleInB = await keyIn(inB, user);
        await ageBy(staleInA.createDate, 100);
        const managedInA = await keyIn(inA, user);
        const managedInB = await keyIn(inB, user);
        const stack: CraftedResource[] = [
          {
            ...managedKey(user, managedInA, `${A}/${user}-a`),
            type: "keyrotation:iam:AccessKey",
            provider: providerOf(A),
          },
          {
            ...managedKey(user, managedInB, `${B}/${user}-a`),
            type: "keyrotation:iam:AccessKey",
            provider: providerOf(B),
          },
          // The component carries no provider; its user is its schedule child's, in account B.
          { type: COMPONENT, name: `${B}/${user}`, props: { userName: user } },
          {
            type: "keyrotation:iam:RotationSchedule",
            name: `${B}/${user}-schedule`,
            props: { userName: user },
            provider: providerOf(B),
          },
        ];
        const ds = await run(stack);
        // The user does not exist in the default account: only the providers' roles find the keys.
        assert.deepStrictEqual(
          ds.map((d) => d.message.split("\n")[1]?.split(" is Active")[0]).sort(),
          [
            `Access key ${staleInA.accessKeyId} of IAM user ${user} in account ${A} (provider account-${A})`,
            `Access key ${staleInB.accessKeyId} of IAM user ${user} in account ${B} (provider account-${B})`,
          ].sort(),
        );
        assert.strictEqual(ds.length, 2);
        // Managed in B: only A's stale key is outside the stack.
        const withB = await run([
          ...stack,
          {
            ...managedKey(user, staleInB, `${B}/${user}-b`),
            type: "keyrotation:iam:AccessKey",
            provider: providerOf(B),
          },
        ]);
        assert.deepStrictEqual(
          withB.map((d) => d.message.includes(staleInA.accessKeyId) && d.message.includes(`in account ${A}`)),
          [true],
        );
      } finally {
        inA.destroy();
        inB.destroy();
      }
    });

    it("an account it cannot reach is one advisory line naming it; the others are still checked", async () => {
      const user = `reach-${process.pid}`;
      const inA = await accountIam(A);
      try {
        await inA.send(new iam.CreateUserCommand({ UserName: user }));
        const stale = await keyIn(inA, user);
        await ageBy(stale.createDate, 100);
        const managed = await keyIn(inA, user);
        const unreachable = providerOf(C, { profile: `no-such-profile-${process.pid}` });
        const malformed = {
          type: "pulumi:providers:keyrotation",
          name: "typo",
          props: { assumeRole: JSON.stringify({ roleArn: "arn:aws:iam::role/KeyRotation" }) },
        };
        const ds = await run([
          {
            ...managedKey(user, managed, `${A}/${user}-a`),
            type: "keyrotation:iam:AccessKey",
            provider: providerOf(A),
          },
          {
            type: "keyrotation:iam:RotationSchedule",
            name: `${C}/carol-schedule`,
            props: { userName: "carol" },
            provider: unreachable,
          },
          {
            type: "keyrotation:iam:RotationSchedule",
            name: "dave-schedule",
            props: { userName: "dave" },
            provider: malformed,
          },
        ]);
        assert.strictEqual(ds.length, 3, JSON.stringify(ds));
        const [outside, ...advisories] = [
          ds.find((d) => d.message.includes(stale.accessKeyId)),
          ...ds.filter((d) => d.message.startsWith("Could not list")),
        ];
        assert.ok(
          outside?.message.includes(`of IAM user ${user} in account ${A} (provider account-${A}) is Active`),
        );
        assert.deepStrictEqual(
          advisories.map((d) => d.enforcementLevel),
          ["advisory", "advisory"],
        );
        const reach = advisories.find((d) => d.message.includes("carol"));
        assert.match(
          reach?.message ?? "",
          new RegExp(
            `^Could not list the access keys of 1 IAM user of this stack \\(carol\\) in account ${C} \\(provider account-${C}\\) to look for keys made outside Pulumi: assuming arn:aws:iam::${C}:role/KeyRotation failed: CredentialsProviderError: [^.]+\\. This check was skipped for them; .*Check that the role arn:aws:iam::${C}:role/KeyRotation can be assumed`,
          ),
        );
        const typo = advisories.find((d) => d.message.includes("dave"));
        assert.match(
          typo?.message ?? "",
          /^Could not list the access keys of 1 IAM user of this stack \(dave\) \(provider typo\) to look for keys made outside Pulumi: keyrotation:assumeRole.roleArn "arn:aws:iam::role\/KeyRotation" is not an IAM role ARN/,
        );
      } finally {
        inA.destroy();
      }
    });
  });

  describe("when IAM cannot be reached", () => {
    let saved: string | undefined;
    beforeEach(() => {
      saved = process.env.AWS_ENDPOINT_URL_IAM;
    });
    afterEach(() => {
      process.env.AWS_ENDPOINT_URL_IAM = saved;
    });
    const stack = [
      { type: COMPONENT, name: "a", props: { userName: "frank" } },
      {
        type: DYNAMIC,
        name: "k",
        props: { userName: "grace", accessKeyId: "AKIAGRACE00000000001", status: "Active" },
      },
    ];

    it("a closed port gives exactly one advisory line, quickly", async () => {
      process.env.AWS_ENDPOINT_URL_IAM = `http://127.0.0.1:${await freePort()}`;
      const started = Date.now();
      const ds = await run(stack, { config: { [POLICY]: "mandatory" } });
      const elapsed = Date.now() - started;
      assert.strictEqual(ds.length, 1, JSON.stringify(ds));
      assert.strictEqual(ds[0].enforcementLevel, "advisory");
      assert.match(
        ds[0].message,
        /^Could not list the access keys of 2 IAM users of this stack \(frank, grace\) to look for keys made outside Pulumi: .*ECONNREFUSED.*\. This check was skipped; the keys in the stack itself are still checked by iam-access-key-max-age\./,
      );
      assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
    });

    it("a server that accepts and never answers is cut off by the deadline", async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((s) => sockets.push(s));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        process.env.AWS_ENDPOINT_URL_IAM = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        const started = Date.now();
        const ds = await run(stack, { config: { [POLICY]: { deadlineSeconds: 1 } } });
        const elapsed = Date.now() - started;
        assert.strictEqual(ds.length, 1);
        assert.strictEqual(ds[0].enforcementLevel, "advisory");
        assert.match(
          ds[0].message,
          /: Error: the listing did not finish within 1 seconds \(deadlineSeconds\)\. This check was skipped/,
        );
        assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
    });

    it("a request timeout with one attempt fails fast too", async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((s) => sockets.push(s));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        process.env.AWS_ENDPOINT_URL_IAM = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        const started = Date.now();
        const ds = await run(stack, { config: { [POLICY]: { requestTimeoutMs: 300, maxAttempts: 1 } } });
        assert.strictEqual(ds.length, 1);
        assert.match(ds[0].message, /^Could not list the access keys of 2 IAM users/);
        assert.doesNotMatch(ds[0].message, /deadlineSeconds/);
        assert.ok(Date.now() - started < 3_000);
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
    });
  });
});
