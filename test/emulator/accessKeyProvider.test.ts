/**
 * The AccessKey provider's methods against the IAM emulator (moto's server on loopback).
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { accessKeyProvider } from "../../components/providers/accessKey";
import {
  AccessKeyInputs,
  AccessKeyOutputs,
  checkAccessKeyInputs,
} from "../../components/providers/accessKeyOps";
import { KeyInUseError, KeyQuotaError, KeyRotationError } from "../../core/errors";
import { adminIam, createUser, emulator, freePort, listKeys, resetClock, setClock } from "../support/moto";
import { registerSecret, findSecrets } from "../support/secretGuard";

const provider = accessKeyProvider as Required<typeof accessKeyProvider>;

async function checked(news: Record<string, unknown>): Promise<AccessKeyInputs> {
  const result = await provider.check({}, news);
  assert.deepStrictEqual(result.failures, []);
  return result.inputs as AccessKeyInputs;
}

async function create(news: Record<string, unknown>): Promise<{ id: string; outs: AccessKeyOutputs }> {
  const result = await provider.create(await checked(news));
  registerSecret(result.outs.secretAccessKey);
  return result as { id: string; outs: AccessKeyOutputs };
}

/** Signs a real request with the key, so IAM records its last use (service sts). */
async function useKey(outs: AccessKeyOutputs): Promise<void> {
  const client = new sts.STSClient({
    region: "eu-west-1",
    credentials: { accessKeyId: outs.accessKeyId, secretAccessKey: outs.secretAccessKey },
  });
  await client.send(new sts.GetCallerIdentityCommand({}));
  client.destroy();
}

async function expectError<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    return err as T;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

describe("AccessKey provider: check", () => {
  const table: { name: string; news: Record<string, unknown>; property: string; fragment: string }[] = [
    { name: "empty user name", news: { userName: "" }, property: "userName", fragment: "userName is empty" },
    { name: "missing user name", news: {}, property: "userName", fragment: "userName is empty" },
    {
      name: "malformed user name",
      news: { userName: "bad name!" },
      property: "userName",
      fragment: "not a valid IAM user name",
    },
    {
      name: "too long user name",
      news: { userName: "u".repeat(65) },
      property: "userName",
      fragment: "1-64",
    },
    {
      name: "unknown status",
      news: { userName: "u", status: "Enabled" },
      property: "status",
      fragment: '"Active" or "Inactive"',
    },
    {
      name: "negative guard hours",
      news: { userName: "u", deletionGuardHours: -1 },
      property: "deletionGuardHours",
      fragment: "from 0 to 8760",
    },
    {
      name: "fractional guard hours",
      news: { userName: "u", deletionGuardHours: 1.5 },
      property: "deletionGuardHours",
      fragment: "whole number",
    },
    {
      name: "non-boolean forceDelete",
      news: { userName: "u", forceDelete: "yes" },
      property: "forceDelete",
      fragment: "true or false",
    },
    {
      name: "unknown slot",
      news: { userName: "u", slot: "c" },
      property: "slot",
      fragment: '"a", "b" or empty',
    },
    {
      name: "negative generation",
      news: { userName: "u", generation: -2 },
      property: "generation",
      fragment: "from 0",
    },
    {
      name: "malformed adopted key id",
      news: { userName: "u", adoptAccessKeyId: "akia-lower" },
      property: "adoptAccessKeyId",
      fragment: "access key id",
    },
    {
      name: "verify timeout too long",
      news: { userName: "u", verifyTimeoutSeconds: 901 },
      property: "verifyTimeoutSeconds",
      fragment: "from 0 to 900",
    },
  ];
  for (const row of table) {
    it(`rejects ${row.name}, naming the property`, async () => {
      const result = await provider.check({}, row.news);
      assert.strictEqual(result.failures?.length, 1, JSON.stringify(result.failures));
      assert.strictEqual(result.failures?.[0].property, row.property);
      assert.ok(result.failures?.[0].reason.includes(row.fragment), result.failures?.[0].reason);
    });
  }

  it("fills the defaults", () => {
    assert.deepStrictEqual(checkAccessKeyInputs({ userName: "alice" }), {
      inputs: {
        userName: "alice",
        status: "Active",
        deletionGuardHours: 24,
        forceDelete: false,
        slot: "",
        generation: 0,
        adoptAccessKeyId: "",
        replacesAccessKeyId: "",
        verifyTimeoutSeconds: 0,
      },
      failures: [],
    });
  });
});

describe("AccessKey provider against the IAM emulator", () => {
  afterEach(async () => {
    await resetClock();
  });

  it("creates, reads, updates and deletes a key", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName, verifyTimeoutSeconds: 10 });
    const keys = await listKeys(userName);
    assert.strictEqual(keys.length, 1);
    assert.strictEqual(keys[0].AccessKeyId, id);
    assert.strictEqual(outs.accessKeyId, id);
    assert.strictEqual(outs.status, "Active");
    assert.strictEqual(outs.userName, userName);
    assert.strictEqual(outs.secretAccessKey.length, 40);
    assert.strictEqual(outs.createDate, keys[0].CreateDate?.toISOString());

    const read = await provider.read(id, outs);
    assert.strictEqual(read.id, id);
    assert.strictEqual(read.props.status, "Active");

    const diff = await provider.diff(id, outs, await checked({ userName, status: "Inactive" }));
    assert.deepStrictEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: true });
    const updated = await provider.update(id, outs, await checked({ userName, status: "Inactive" }));
    assert.strictEqual(updated.outs.status, "Inactive");
    assert.strictEqual(updated.outs.secretAccessKey, outs.secretAccessKey);
    assert.strictEqual((await listKeys(userName))[0].Status, "Inactive");

    // Verification signed a request with the new key, so IAM recorded a use (service sts):
    // the last-used guard holds the delete until the window has passed.
    const lastUse = await adminIam().send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
    assert.strictEqual(lastUse.AccessKeyLastUsed?.ServiceName, "sts");
    await expectError(provider.delete(id, updated.outs), KeyInUseError);
    await setClock(new Date(Date.now() + 25 * 3_600_000));
    await provider.delete(id, updated.outs);
    assert.deepStrictEqual(await listKeys(userName), []);
    const tags = await adminIam().send(new iam.ListUserTagsCommand({ UserName: userName }));
    assert.deepStrictEqual(tags.Tags, []);
  });

  it("tags the user with the key's slot and generation, and creates an Inactive key when asked", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName, slot: "b", generation: 3, status: "Inactive" });
    assert.strictEqual(outs.status, "Inactive");
    assert.strictEqual((await listKeys(userName))[0].Status, "Inactive");
    const tags = await adminIam().send(new iam.ListUserTagsCommand({ UserName: userName }));
    // The intent tag written before CreateAccessKey is cleared (empty value) by the call that tags the key.
    assert.deepStrictEqual(
      [...(tags.Tags ?? [])].sort((x, y) => (x.Key ?? "").localeCompare(y.Key ?? "")),
      [
        { Key: `keyrotation:${id}`, Value: "slot=b generation=3" },
        { Key: "keyrotation:pending-b", Value: "" },
      ],
    );
  });

  it("a user change replaces the key; a generation change replaces it; guard settings update in place", async () => {
    const userName = await createUser();
    const olds = {
      ...(await checked({ userName })),
      accessKeyId: "AKIAEXAMPLE000000000",
      secretAccessKey: "",
      createDate: "",
    };
    assert.deepStrictEqual((await provider.diff("x", olds, await checked({ userName: "other" }))).replaces, [
      "userName",
    ]);
    assert.deepStrictEqual(
      (await provider.diff("x", olds, await checked({ userName, generation: 1 }))).replaces,
      ["generation"],
    );
    assert.deepStrictEqual(await provider.diff("x", olds, await checked({ userName, forceDelete: true })), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
    assert.deepStrictEqual(await provider.diff("x", olds, await checked({ userName })), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  it("refuses a third key, naming the two keys that fill the slots, and creates nothing", async () => {
    const userName = await createUser();
    const a = await create({ userName });
    const b = await create({ userName });
    const err = await expectError(provider.create(await checked({ userName })), KeyQuotaError);
    assert.deepStrictEqual(err.keyIds, [a.id, b.id]);
    assert.ok(err.message.includes(`IAM user "${userName}" already has 2 access keys`), err.message);
    assert.ok(err.message.includes(a.id) && err.message.includes(b.id), err.message);
    assert.strictEqual((await listKeys(userName)).length, 2);
  });

  it("refresh reports a key deactivated, reactivated or deleted outside Pulumi", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName });
    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: id, Status: "Inactive" }),
    );
    const inactive = await provider.read(id, outs);
    assert.strictEqual(inactive.props.status, "Inactive");
    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: id, Status: "Active" }),
    );
    assert.strictEqual((await provider.read(id, inactive.props)).props.status, "Active");
    await adminIam().send(new iam.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: id }));
    assert.deepStrictEqual(await provider.read(id, outs), {});
  });

  it("refresh of a key whose user was deleted reports the key gone", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName });
    await adminIam().send(new iam.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: id }));
    await adminIam().send(new iam.DeleteUserCommand({ UserName: userName }));
    assert.deepStrictEqual(await provider.read(id, outs), {});
  });

  it("refuses to delete a key used within deletionGuardHours, naming id, last use, service, region and remedy", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName });
    await useKey(outs);
    const err = await expectError(provider.delete(id, outs), KeyInUseError);
    const lastUse = await adminIam().send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
    const lastUsed = lastUse.AccessKeyLastUsed?.LastUsedDate?.toISOString() as string;
    assert.strictEqual(err.accessKeyId, id);
    assert.strictEqual(err.lastUsedDate, lastUsed);
    for (const part of [
      id,
      userName,
      lastUsed,
      "service sts",
      "region eu-west-1",
      "deletionGuardHours 24",
      "forceDelete: true",
    ]) {
      assert.ok(err.message.includes(part), `missing "${part}" in: ${err.message}`);
    }
    assert.deepStrictEqual(findSecrets(err.message), []);
    assert.strictEqual((await listKeys(userName)).length, 1);
  });

  it("deletes a used key once the guard window has passed (shared clock)", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName });
    await useKey(outs);
    await setClock(new Date(Date.now() + 25 * 3_600_000));
    await provider.delete(id, outs);
    assert.deepStrictEqual(await listKeys(userName), []);
  });

  it("deletes a recently used key with forceDelete, or with deletionGuardHours 0", async () => {
    const userName = await createUser();
    const first = await create({ userName, forceDelete: true });
    const second = await create({ userName, deletionGuardHours: 0 });
    await useKey(first.outs);
    await useKey(second.outs);
    await provider.delete(first.id, first.outs);
    await provider.delete(second.id, second.outs);
    assert.deepStrictEqual(await listKeys(userName), []);
  });

  it("a forceDelete seen by check applies to the delete of the same deploy's replacement", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName, slot: "a", generation: 1 });
    await useKey(outs);
    await expectError(provider.delete(id, outs), KeyInUseError);
    await provider.check(outs as unknown as Record<string, unknown>, {
      userName,
      slot: "a",
      generation: 2,
      forceDelete: true,
    });
    await provider.delete(id, outs);
    assert.deepStrictEqual(await listKeys(userName), []);
    await provider.check({}, { userName, slot: "a", generation: 2, forceDelete: false });
  });

  it("two standalone keys on one user keep their own guard settings: one's forceDelete never deletes the other", async () => {
    const userName = await createUser();
    const a = await create({ userName, forceDelete: true });
    const b = await create({ userName });
    await useKey(b.outs);
    // The same deploy checks both resources (B, then A with forceDelete), then deletes B.
    await provider.check(b.outs as unknown as Record<string, unknown>, { userName });
    await provider.check(a.outs as unknown as Record<string, unknown>, { userName, forceDelete: true });
    await expectError(provider.delete(b.id, b.outs), KeyInUseError);
    assert.deepStrictEqual((await listKeys(userName)).map((k) => k.AccessKeyId).sort(), [a.id, b.id].sort());
  });

  it("removes tags of keys that no longer exist, and refuses at IAM's 50-tag limit before creating anything", async () => {
    const userName = await createUser();
    const tags = async () =>
      ((await adminIam().send(new iam.ListUserTagsCommand({ UserName: userName }))).Tags ?? []).map(
        (t) => t.Key,
      );
    await adminIam().send(
      new iam.TagUserCommand({
        UserName: userName,
        Tags: [{ Key: "keyrotation:AKIAGONE000000000001", Value: "slot=a generation=9" }],
      }),
    );
    const { id } = await create({ userName, slot: "a", generation: 1 });
    assert.deepStrictEqual((await tags()).sort(), [`keyrotation:${id}`, "keyrotation:pending-a"]);

    const crowded = await createUser();
    const others = Array.from({ length: 49 }, (_, i) => ({ Key: `team-tag-${i}`, Value: "x" }));
    await adminIam().send(new iam.TagUserCommand({ UserName: crowded, Tags: others }));
    const err = await expectError(
      provider.create(await checked({ userName: crowded, slot: "a", generation: 1 })),
      KeyRotationError,
    );
    assert.match(err.message, /^IAM user "[^"]+" has 49 tags, and IAM allows 50; a new key needs 2 free/);
    assert.deepStrictEqual(await listKeys(crowded), []);
  });

  it("deletes the key an interrupted create left behind (intent, time, no tag), then creates the slot's key", async () => {
    const userName = await createUser();
    const at = new Date().toISOString();
    await adminIam().send(
      new iam.TagUserCommand({
        UserName: userName,
        Tags: [{ Key: "keyrotation:pending-a", Value: `generation=1 at=${at}` }],
      }),
    );
    const orphan = (await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    registerSecret(orphan?.SecretAccessKey);
    const { id } = await create({ userName, slot: "a", generation: 1 });
    assert.deepStrictEqual(
      (await listKeys(userName)).map((k) => k.AccessKeyId),
      [id],
    );
    assert.notStrictEqual(id, orphan?.AccessKeyId);
  });

  it("keeps a would-be leftover that something other than the verification used, and says who", async () => {
    const userName = await createUser();
    await adminIam().send(
      new iam.TagUserCommand({
        UserName: userName,
        Tags: [{ Key: "keyrotation:pending-a", Value: `generation=1 at=${new Date().toISOString()}` }],
      }),
    );
    const orphan = (await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    registerSecret(orphan?.SecretAccessKey);
    const client = new iam.IAMClient({
      region: "us-east-1",
      endpoint: emulator().endpoint,
      credentials: { accessKeyId: orphan?.AccessKeyId ?? "", secretAccessKey: orphan?.SecretAccessKey ?? "" },
    });
    await client.send(new iam.GetUserCommand({}));
    client.destroy();
    const err = await expectError(
      provider.create(await checked({ userName, slot: "a", generation: 1 })),
      KeyRotationError,
    );
    assert.match(
      err.message,
      new RegExp(
        `^Access key ${orphan?.AccessKeyId} of IAM user "${userName}" looks left behind by an interrupted deploy .* by service iam in region us-east-1, so something holds its secret\\. It is not deleted\\.`,
      ),
    );
    assert.deepStrictEqual(
      (await listKeys(userName)).map((k) => k.AccessKeyId),
      [orphan?.AccessKeyId],
    );
  });

  it("treats a key that is already gone as deleted", async () => {
    const userName = await createUser();
    const { id, outs } = await create({ userName });
    await adminIam().send(new iam.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: id }));
    await provider.delete(id, outs);
    assert.deepStrictEqual(await listKeys(userName), []);
  });

  it("fails clearly for a user that does not exist", async () => {
    const err = await expectError(
      provider.create(await checked({ userName: "no-such-user-42" })),
      KeyRotationError,
    );
    assert.strictEqual(
      err.message,
      'IAM user "no-such-user-42" does not exist. Create the user first, or fix the userName property.',
    );
    assert.ok(err.cause instanceof iam.NoSuchEntityException);
  });

  it("leaves no orphan key when the new key cannot be verified", async () => {
    const userName = await createUser();
    const saved = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${await freePort()}`;
    try {
      const err = await expectError(
        provider.create(await checked({ userName, verifyTimeoutSeconds: 1 })),
        KeyRotationError,
      );
      assert.match(err.message, /^New access key [A-Z0-9]+ of IAM user ".*" did not work within 1 s/);
      assert.ok(err.message.includes("It was deleted again"), err.message);
    } finally {
      process.env.AWS_ENDPOINT_URL_STS = saved;
    }
    assert.deepStrictEqual(await listKeys(userName), []);
    const tags = await adminIam().send(new iam.ListUserTagsCommand({ UserName: userName }));
    assert.deepStrictEqual(tags.Tags, []);
    assert.ok(emulator().endpoint.startsWith("http://127.0.0.1:"));
  });

  it("adopts an existing key without knowing its secret, and deletes a key it replaces first", async () => {
    const userName = await createUser();
    const old1 = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }));
    const old2 = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }));
    registerSecret(old1.AccessKey?.SecretAccessKey);
    registerSecret(old2.AccessKey?.SecretAccessKey);
    const adopted = await create({ userName, slot: "b", adoptAccessKeyId: old2.AccessKey?.AccessKeyId });
    assert.strictEqual(adopted.id, old2.AccessKey?.AccessKeyId);
    assert.strictEqual(adopted.outs.secretAccessKey, "");
    const fresh = await create({
      userName,
      slot: "a",
      generation: 1,
      replacesAccessKeyId: old1.AccessKey?.AccessKeyId,
    });
    const ids = (await listKeys(userName)).map((k) => k.AccessKeyId);
    assert.deepStrictEqual(ids, [old2.AccessKey?.AccessKeyId, fresh.id]);
  });
});
