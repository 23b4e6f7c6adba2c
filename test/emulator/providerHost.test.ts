/**
 * The AccessKey provider closure, captured from `__provider` under Pulumi mocks, replayed through
 * Pulumi's real dynamic-provider host over gRPC, as the engine does: check, create, read, diff,
 * update and delete of a real key in the IAM emulator.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as iam from "@aws-sdk/client-iam";
import { AccessKey } from "../../components/providers/accessKey";
import { RotationSchedule } from "../../components/providers/rotationSchedule";
import { adminIam, createUser, listKeys } from "../support/moto";
import * as host from "../support/providerHost";
import { findSecrets, registerSecret } from "../support/secretGuard";

const captured = new Map<string, Record<string, unknown>>();

function output<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("AccessKey provider through Pulumi's dynamic-provider host", function () {
  this.timeout(120_000);
  let h: host.Host;
  const urn = "urn:pulumi:test::keyrotation::pulumi-nodejs:dynamic/keyrotation:AccessKey::k";

  before(async () => {
    pulumi.runtime.setMocks(
      {
        newResource(args) {
          captured.set(args.name, args.inputs);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "keyrotation",
      "test",
      false,
    );
    const key = new AccessKey("host-key", { userName: "placeholder" });
    const schedule = new RotationSchedule("host-schedule", { userName: "placeholder" });
    await output(key.urn);
    await output(schedule.urn);
    h = await host.startProviderHost();
  });

  after(async () => {
    await h?.stop();
  });

  function provider(name: string): string {
    const text = captured.get(name)?.__provider;
    assert.strictEqual(typeof text, "string", `no __provider captured for ${name}`);
    return text as string;
  }

  it("creates, reads, updates and deletes a real key with the serialized closure", async () => {
    const userName = await createUser("host");
    const __provider = provider("host-key");
    const checked = await host.check(h, urn, {}, { __provider, userName });
    assert.deepStrictEqual(checked.failures, []);
    assert.strictEqual(checked.inputs.status, "Active");

    const created = await host.create(h, urn, checked.inputs);
    registerSecret(created.properties.secretAccessKey as string);
    const keys = await listKeys(userName);
    assert.deepStrictEqual(
      keys.map((k) => [k.AccessKeyId, k.Status]),
      [[created.id, "Active"]],
    );
    assert.strictEqual(created.properties.accessKeyId, created.id);
    assert.strictEqual((created.properties.secretAccessKey as string).length, 40);
    assert.strictEqual(created.properties.createDate, keys[0].CreateDate?.toISOString());

    await adminIam().send(
      new iam.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: created.id, Status: "Inactive" }),
    );
    const refreshed = await host.read(h, urn, created.id, created.properties);
    assert.strictEqual(refreshed.id, created.id);
    assert.strictEqual(refreshed.properties.status, "Inactive");

    const news = (await host.check(h, urn, checked.inputs, { __provider, userName, status: "Active" }))
      .inputs;
    const d = await host.diff(h, urn, created.id, refreshed.properties, news);
    assert.deepStrictEqual(d, { changes: 2, replaces: [], deleteBeforeReplace: true }); // 2 = DIFF_SOME
    const updated = await host.update(h, urn, created.id, refreshed.properties, news);
    assert.strictEqual(updated.status, "Active");
    assert.strictEqual((await listKeys(userName))[0].Status, "Active");

    await host.destroy(h, urn, created.id, updated);
    assert.deepStrictEqual(await listKeys(userName), []);
    const gone = await host.read(h, urn, created.id, updated);
    assert.strictEqual(gone.id, "");
    assert.deepStrictEqual(findSecrets(h.stderr()), []);
  });

  it("reports check failures and provider errors over gRPC without secrets", async () => {
    const __provider = provider("host-key");
    const bad = await host.check(h, urn, {}, { __provider, userName: "", status: "On" });
    assert.deepStrictEqual(
      bad.failures.map((f) => f.property),
      ["userName", "status"],
    );
    const checked = await host.check(h, urn, {}, { __provider, userName: "missing-user-for-host" });
    await assert.rejects(host.create(h, urn, checked.inputs), (err: Error) => {
      assert.ok(err.message.includes('IAM user "missing-user-for-host" does not exist'), err.message);
      return true;
    });
  });

  it("a refused delete reaches the engine as a full error: key id, last use, service, region, remedy", async () => {
    const userName = await createUser("host-guard");
    const __provider = provider("host-key");
    const checked = await host.check(h, urn, {}, { __provider, userName, verifyTimeoutSeconds: 10 });
    const created = await host.create(h, urn, checked.inputs);
    registerSecret(created.properties.secretAccessKey as string);
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
    const __provider = provider("host-schedule");
    const surn = "urn:pulumi:test::keyrotation::pulumi-nodejs:dynamic/keyrotation:RotationSchedule::s";
    const first = await host.check(h, surn, {}, { __provider, userName });
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
    const refused = await host.check(h, surn, {}, { __provider, userName });
    assert.strictEqual(refused.failures.length, 1);
    assert.strictEqual(refused.failures[0].property, "unmanagedKeys");
    assert.ok(
      refused.failures[0].reason.includes(existing.AccessKey?.AccessKeyId as string),
      refused.failures[0].reason,
    );
    assert.ok(refused.failures[0].reason.includes('unmanagedKeys: "retire"'));
  });
});
