/**
 * `pulumi-aws-key-rotation/testing`: keyRotationMocks plays the schedule (its real planning logic),
 * the keys and the publication against an in-memory IAM, so a consumer's mocks test sees keys.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { RotatingAccessKey } from "../../components";
import { keyRotationMocks, KeyRotationMocks } from "../../components/testing";

function value<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const NOW = "2027-03-01T12:00:00.000Z";

describe("keyRotationMocks (pulumi-aws-key-rotation/testing)", () => {
  let mocks: KeyRotationMocks;
  let fallbackTypes: string[];

  beforeEach(() => {
    fallbackTypes = [];
    mocks = keyRotationMocks({
      now: NOW,
      keys: { "legacy-user": [{ accessKeyId: "AKIALEGACY0000000001", createDate: "2026-01-01T00:00:00Z" }] },
      fallback: {
        newResource: (args) => {
          fallbackTypes.push(args.type);
          return { id: "other-id", state: { ...args.inputs, extra: 1 } };
        },
        call: (args) => args.inputs,
      },
    });
    pulumi.runtime.setMocks(mocks, "consumer", "test", false);
  });

  it("a first deploy: one Active key in slot a, created now, with its id, secret and next rotation", async () => {
    const rotation = new RotatingAccessKey("ci", { userName: "ci-deployer" });
    const [id, keys, next, previous] = await Promise.all([
      value(rotation.accessKeyId),
      value(rotation.keys),
      value(rotation.nextRotationDate),
      value(rotation.previousAccessKeyId),
    ]);
    assert.strictEqual(id, "AKIAMOCK000000000001");
    assert.deepStrictEqual(keys, [
      {
        slot: "a",
        id: "AKIAMOCK000000000001",
        accessKeyId: "AKIAMOCK000000000001",
        status: "Active",
        createDate: NOW,
        generation: 1,
        current: true,
      },
    ]);
    assert.strictEqual(next, "2027-03-31T12:00:00.000Z");
    assert.strictEqual(previous, undefined);
    assert.strictEqual(await value(rotation.secretAccessKey), "mock-secret-AKIAMOCK000000000001");
    assert.deepStrictEqual(mocks.keysOf("ci-deployer"), [
      { userName: "ci-deployer", accessKeyId: "AKIAMOCK000000000001", status: "Active", createDate: NOW },
    ]);
  });

  it("existing keys: the schedule is refused by default like a real preview, naming the key and the setting", async () => {
    // (Through the mocks object itself: a refused registration surfaces in Pulumi's runtime as
    // rejected outputs and unhandled rejections, which a test cannot await.)
    await assert.rejects(
      Promise.resolve(
        mocks.newResource({
          type: "pulumi-nodejs:dynamic/keyrotation:RotationSchedule",
          name: "legacy-schedule",
          inputs: { userName: "legacy-user" },
          custom: true,
        }),
      ),
      /unmanagedKeys: IAM user "legacy-user" has 1 access key\(s\) that RotatingAccessKey did not create\. The user's keys: AKIALEGACY0000000001 \(made outside Pulumi; Active, created 2026-01-01T00:00:00.000Z, 424 days old\)\. Refusing to manage the user while they exist\. Set unmanagedKeys: "retire"/,
    );
  });

  it("existing keys with unmanagedKeys retire: adopted as the previous key, deactivated past the age limit", async () => {
    const rotation = new RotatingAccessKey("legacy", { userName: "legacy-user", unmanagedKeys: "retire" });
    const keys = await value(rotation.keys);
    assert.deepStrictEqual(
      keys.map((k) => [k.slot, k.id, k.status, k.current]),
      [
        ["a", "AKIAMOCK000000000001", "Active", true],
        ["b", "AKIALEGACY0000000001", "Inactive", false],
      ],
    );
    assert.strictEqual(await value(rotation.previousAccessKeyId), "AKIALEGACY0000000001");
  });

  it("publishes to Secrets Manager and sends other resource types to the fallback", async () => {
    const rotation = new RotatingAccessKey("app", { userName: "app", secretsManagerSecretId: "app/key" });
    const publication = await value(rotation.publication);
    assert.ok(publication);
    assert.strictEqual(
      await value(publication.secretArn),
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/key",
    );
    class Thing extends pulumi.CustomResource {
      constructor(name: string) {
        super("example:index:Thing", name, { a: 1 });
      }
    }
    const other = new Thing("thing");
    assert.strictEqual(await value(other.id), "other-id");
    assert.deepStrictEqual(fallbackTypes, ["example:index:Thing"]);
  });

  it("rejects a malformed clock", () => {
    assert.throws(
      () => keyRotationMocks({ now: "next tuesday" }),
      /now "next tuesday" is not an ISO-8601 instant/,
    );
  });
});
