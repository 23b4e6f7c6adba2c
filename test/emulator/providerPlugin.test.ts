/**
 * The keyrotation provider plugin (provider/index.js, as the engine starts it) over gRPC: check,
 * create, read, diff, update and delete of a real key in the IAM emulator; the schedule's plan;
 * secrets marked secret; state of 0.1.x's dynamic resources taken over; the provider
 * configuration (a bad one refused naming the setting; assumeRole reaching another account).
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { adminIam, createUser, emulator, listKeys } from "../support/moto";
import * as host from "../support/providerHost";
import { findSecrets, registerSecret } from "../support/secretGuard";
import { SECRET_SIG, SECRET_SIG_VALUE } from "../../core/connection";
import { storedProviderText } from "../../components/providers/stored";

const isSecret = (v: unknown): v is { value: string } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE;
const reveal = (v: unknown): string => (isSecret(v) ? v.value : (v as string));

describe("the keyrotation provider plugin over gRPC", function () {
  this.timeout(120_000);
  let h: host.Host;
  const urn = "urn:pulumi:test::keyrotation::keyrotation:iam:AccessKey::k";

  before(async () => {
    h = await host.startProviderPlugin();
  });

  after(async () => {
    await h?.stop();
  });

  it("creates, reads, updates and deletes a real key", async () => {
    const userName = await createUser("host");
    const checked = await host.check(h, urn, {}, { userName });
    assert.deepStrictEqual(checked.failures, []);
    assert.strictEqual(checked.inputs.status, "Active");

    const created = await host.create(h, urn, checked.inputs);
    // The provider returns the secret marked secret, so the engine stores it encrypted.
    assert.ok(isSecret(created.properties.secretAccessKey), "secretAccessKey is not returned as a secret");
    const secret = reveal(created.properties.secretAccessKey);
    registerSecret(secret);
    const keys = await listKeys(userName);
    assert.deepStrictEqual(
      keys.map((k) => [k.AccessKeyId, k.Status]),
      [[created.id, "Active"]],
    );
    assert.strictEqual(created.properties.accessKeyId, created.id);
    assert.strictEqual(secret.length, 40);
    assert.strictEqual(created.properties.createDate, keys[0].CreateDate?.toISOString());

    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: created.id, Status: "Inactive" }),
    );
    const refreshed = await host.read(h, urn, created.id, created.properties);
    assert.strictEqual(refreshed.id, created.id);
    assert.strictEqual(refreshed.properties.status, "Inactive");
    assert.strictEqual(reveal(refreshed.properties.secretAccessKey), secret);
    assert.ok(isSecret(refreshed.properties.secretAccessKey));

    const news = (await host.check(h, urn, checked.inputs, { userName, status: "Active" })).inputs;
    const d = await host.diff(h, urn, created.id, refreshed.properties, news);
    assert.deepStrictEqual(d, { changes: 2, replaces: [], deleteBeforeReplace: true }); // 2 = DIFF_SOME
    const updated = await host.update(h, urn, created.id, refreshed.properties, news);
    assert.strictEqual(updated.status, "Active");
    assert.ok(isSecret(updated.secretAccessKey));
    assert.strictEqual(reveal(updated.secretAccessKey), secret);
    assert.strictEqual((await listKeys(userName))[0].Status, "Active");

    await host.destroy(h, urn, created.id, updated);
    assert.deepStrictEqual(await listKeys(userName), []);
    const gone = await host.read(h, urn, created.id, updated);
    assert.strictEqual(gone.id, "");
    assert.deepStrictEqual(findSecrets(h.stderr()), []);
  });

  it("reports check failures and provider errors over gRPC without secrets", async () => {
    const bad = await host.check(h, urn, {}, { userName: "", status: "On" });
    assert.deepStrictEqual(
      bad.failures.map((f) => f.property),
      ["userName", "status"],
    );
    const checked = await host.check(h, urn, {}, { userName: "missing-user-for-host" });
    await assert.rejects(host.create(h, urn, checked.inputs), (err: Error) => {
      assert.ok(err.message.includes('IAM user "missing-user-for-host" does not exist'), err.message);
      return true;
    });
  });

  it("a refused delete reaches the engine as a full error: key id, last use, service, region, remedy", async () => {
    const userName = await createUser("host-guard");
    const checked = await host.check(h, urn, {}, { userName, verifyTimeoutSeconds: 10 });
    const created = await host.create(h, urn, checked.inputs);
    registerSecret(reveal(created.properties.secretAccessKey));
    // Verification signed a request with the new key: IAM recorded a use just now.
    await assert.rejects(host.destroy(h, urn, created.id, created.properties), (err: Error) => {
      for (const part of [
        `Refusing to delete access key ${created.id}`,
        `IAM user "${userName}"`,
        "service sts in region us-east-1",
        "forceDelete: true",
      ]) {
        assert.ok(err.message.includes(part), `missing "${part}" in: ${err.message}`);
      }
      assert.deepStrictEqual(findSecrets(err.message), []);
      return true;
    });
    assert.strictEqual((await listKeys(userName)).length, 1);
    assert.ok(!h.stderr().includes("[object Object]"), "the host printed an error without message");
  });

  it("plans a schedule in check, from IAM and the clock", async () => {
    const userName = await createUser("host-sched");
    const surn = "urn:pulumi:test::keyrotation::keyrotation:iam:RotationSchedule::s";
    const first = await host.check(h, surn, {}, { userName });
    assert.deepStrictEqual(first.failures, []);
    const plan = first.inputs.plan as {
      current: string;
      a: { generation: number; status: string };
      b: { present: boolean };
    };
    assert.strictEqual(plan.current, "a");
    assert.strictEqual(plan.a.generation, 1);
    assert.strictEqual(plan.b.present, false);
    assert.strictEqual(first.inputs.rotationDays, 30);

    const existing = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }));
    registerSecret(existing.AccessKey?.SecretAccessKey);
    const refused = await host.check(h, surn, {}, { userName });
    assert.strictEqual(refused.failures.length, 1);
    assert.strictEqual(refused.failures[0].property, "unmanagedKeys");
    assert.ok(
      refused.failures[0].reason.includes(existing.AccessKey?.AccessKeyId as string),
      refused.failures[0].reason,
    );
    assert.ok(refused.failures[0].reason.includes('unmanagedKeys: "retire"'));
  });

  it("serves a schema that marks both secrets secret and documents every property", async () => {
    const schema = (await host.schema(h)) as {
      name: string;
      resources: Record<
        string,
        {
          properties: Record<string, { secret?: boolean; description?: string }>;
          inputProperties: Record<string, { description?: string }>;
        }
      >;
    };
    assert.strictEqual(schema.name, "keyrotation");
    assert.deepStrictEqual(Object.keys(schema.resources).sort(), [
      "keyrotation:iam:AccessKey",
      "keyrotation:iam:RotatingAccessKey",
      "keyrotation:iam:RotationSchedule",
      "keyrotation:iam:SecretPublication",
    ]);
    assert.strictEqual(schema.resources["keyrotation:iam:AccessKey"].properties.secretAccessKey.secret, true);
    assert.strictEqual(
      schema.resources["keyrotation:iam:RotatingAccessKey"].properties.secretAccessKey.secret,
      true,
    );
    const undocumented = Object.entries(schema.resources).flatMap(([type, r]) =>
      Object.entries({ ...r.inputProperties, ...r.properties })
        .filter(([, p]) => !p.description)
        .map(([name]) => `${type}.${name}`),
    );
    assert.deepStrictEqual(undocumented, []);
  });

  it("takes over a key that 0.1.x deployed as a dynamic resource: same id and secret, the stored provider dropped, no IAM change", async () => {
    const userName = await createUser("host-upgrade");
    const checked = await host.check(h, urn, {}, { userName });
    const created = await host.create(h, urn, checked.inputs);
    const secret = reveal(created.properties.secretAccessKey);
    registerSecret(secret);
    // The state as the dynamic resource stored it: plain outputs plus the stored provider.
    const __provider = storedProviderText("AccessKey");
    const oldOutputs = { ...created.properties, secretAccessKey: secret, __provider };
    const oldInputs = { ...checked.inputs, __provider };
    const news = await host.check(h, urn, oldInputs, { userName });
    assert.deepStrictEqual(news.failures, []);
    assert.strictEqual("__provider" in news.inputs, false);
    const d = await host.diff(h, urn, created.id, oldOutputs, news.inputs);
    assert.deepStrictEqual(d, { changes: 2, replaces: [], deleteBeforeReplace: true });
    const before = await listKeys(userName);
    const updated = await host.update(h, urn, created.id, oldOutputs, news.inputs);
    assert.strictEqual("__provider" in updated, false);
    assert.strictEqual(updated.accessKeyId, created.id);
    assert.strictEqual(reveal(updated.secretAccessKey), secret);
    assert.ok(isSecret(updated.secretAccessKey));
    assert.strictEqual(updated.createDate, created.properties.createDate);
    assert.deepStrictEqual(await listKeys(userName), before);
    // Once rewritten, nothing changes.
    const again = await host.diff(h, urn, created.id, updated, news.inputs);
    assert.strictEqual(again.changes, 1); // DIFF_NONE
  });
});

describe("the keyrotation provider's configuration", function () {
  this.timeout(120_000);
  const urn = "urn:pulumi:test::keyrotation::keyrotation:iam:AccessKey::k";
  const hosts: host.Host[] = [];
  const start = async () => {
    const h = await host.startProviderPlugin();
    hosts.push(h);
    return h;
  };
  after(async () => {
    for (const h of hosts.splice(0)) await h.stop();
  });

  it("refuses a malformed configuration, naming each setting and the fix", async () => {
    const h = await start();
    await assert.rejects(
      host.configure(h, { assumeRole: { roleArn: "arn:aws:iam::12345:role/x", durationSeconds: 60 } }),
      (err: Error) => {
        assert.ok(
          err.message.includes(
            'keyrotation:assumeRole.roleArn "arn:aws:iam::12345:role/x" is not an IAM role ARN',
          ),
          err.message,
        );
        assert.ok(err.message.includes("arn:aws:iam::<12-digit account id>:role/<name>"), err.message);
        assert.ok(
          err.message.includes(
            "keyrotation:assumeRole.durationSeconds must be a whole number from 900 to 43200; got 60",
          ),
          err.message,
        );
        return true;
      },
    );
  });

  it("assumeRole: the calls act in the role's account, with the secret external id never printed", async () => {
    const account = "210987654321";
    const roleArn = `arn:aws:iam::${account}:role/KeyRotation`;
    // The user exists only in the other account (moto keeps accounts apart for assumed-role credentials).
    const stsClient = new sts.STSClient({ endpoint: emulator().endpoint, region: "us-east-1" });
    const session = await stsClient.send(
      new sts.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "setup" }),
    );
    const c = session.Credentials!;
    const member = new iam.IAMClient({
      endpoint: emulator().endpoint,
      region: "us-east-1",
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken,
      },
    });
    const userName = `member-user-${Date.now()}`;
    await member.send(new iam.CreateUserCommand({ UserName: userName }));

    const h = await start();
    const externalId = "external-id-do-not-print";
    await host.configure(h, {
      region: "us-east-1",
      assumeRole: {
        roleArn,
        externalId: { [SECRET_SIG]: SECRET_SIG_VALUE, value: externalId },
        sessionName: "rotation",
      },
    });
    const checked = await host.check(h, urn, {}, { userName });
    const created = await host.create(h, urn, checked.inputs);
    registerSecret(reveal(created.properties.secretAccessKey));
    const inMember = await member.send(new iam.ListAccessKeysCommand({ UserName: userName }));
    assert.deepStrictEqual(
      inMember.AccessKeyMetadata?.map((k) => k.AccessKeyId),
      [created.id],
    );
    // The default account has no such user.
    await assert.rejects(
      adminIam().send(new iam.ListAccessKeysCommand({ UserName: userName })),
      iam.NoSuchEntityException,
    );
    await host.destroy(h, urn, created.id, { ...created.properties, forceDelete: true });
    assert.deepStrictEqual(
      (await member.send(new iam.ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata,
      [],
    );
    assert.strictEqual(h.stderr().includes(externalId), false);
    member.destroy();
    stsClient.destroy();
  });

  it("a default provider reads keyrotation:* config variables", async () => {
    const h = await start();
    await assert.rejects(
      host.configureVariables(h, { "keyrotation:config:assumeRole": '{"roleArn":"not-an-arn"}' }),
      /keyrotation:assumeRole.roleArn "not-an-arn" is not an IAM role ARN/,
    );
  });
});
