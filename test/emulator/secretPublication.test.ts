/**
 * Publishing the current key to Secrets Manager, against the emulator.
 */
import * as assert from "assert";
import * as sm from "@aws-sdk/client-secrets-manager";
import { publicationProvider, publishKey } from "../../components/providers/secretPublication";
import { KeyRotationError } from "../../core/errors";
import { emulator, freePort } from "../support/moto";
import { findSecrets, registerSecret } from "../support/secretGuard";

const SECRET_A = "publication-test-secret-aaaaaaaaaaaaaaaaaaa";
const SECRET_B = "publication-test-secret-bbbbbbbbbbbbbbbbbbb";

async function secretValue(id: string): Promise<Record<string, string>> {
  const client = new sm.SecretsManagerClient({ region: "us-east-1", endpoint: emulator().endpoint });
  try {
    const out = await client.send(new sm.GetSecretValueCommand({ SecretId: id }));
    return JSON.parse(out.SecretString ?? "{}") as Record<string, string>;
  } finally {
    client.destroy();
  }
}

describe("SecretPublication against the emulator", () => {
  before(() => {
    registerSecret(SECRET_A);
    registerSecret(SECRET_B);
  });

  it("creates the secret on first publication, then writes new versions", async () => {
    const secretId = `keyrotation-test/${process.pid}/svc`;
    const first = await publishKey({
      secretId,
      userName: "svc",
      accessKeyId: "AKIAFIRST00000000001",
      secretAccessKey: SECRET_A,
    });
    assert.ok(first.secretArn.includes(secretId), first.secretArn);
    assert.deepStrictEqual(await secretValue(secretId), {
      userName: "svc",
      accessKeyId: "AKIAFIRST00000000001",
      secretAccessKey: SECRET_A,
    });
    const second = await publishKey({
      secretId,
      userName: "svc",
      accessKeyId: "AKIASECOND0000000002",
      secretAccessKey: SECRET_B,
    });
    assert.strictEqual(second.secretArn, first.secretArn);
    assert.notStrictEqual(second.versionId, first.versionId);
    assert.strictEqual((await secretValue(secretId)).accessKeyId, "AKIASECOND0000000002");
  });

  it("diffs on the key, replaces on another secret, and rejects an empty secret id", async () => {
    const olds = {
      secretId: "s",
      userName: "u",
      accessKeyId: "AKIAFIRST00000000001",
      secretAccessKey: SECRET_A,
      secretArn: "arn",
      versionId: "v",
    };
    const diff = publicationProvider.diff as NonNullable<typeof publicationProvider.diff>;
    assert.deepStrictEqual(await diff("id", olds, { ...olds, accessKeyId: "AKIASECOND0000000002" }), {
      changes: true,
      replaces: [],
    });
    assert.deepStrictEqual(await diff("id", olds, { ...olds, secretId: "t" }), {
      changes: true,
      replaces: ["secretId"],
    });
    assert.deepStrictEqual(await diff("id", olds, { ...olds }), { changes: false, replaces: [] });
    const check = publicationProvider.check as NonNullable<typeof publicationProvider.check>;
    const result = await check({}, { secretId: " ", userName: "u" });
    assert.strictEqual(result.failures?.[0].property, "secretsManagerSecretId");
  });

  it("fails with the key id and the fix, never the secret, when Secrets Manager is unreachable", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${await freePort()}`;
    try {
      await assert.rejects(
        publishKey({
          secretId: "x",
          userName: "svc",
          accessKeyId: "AKIAFIRST00000000001",
          secretAccessKey: SECRET_A,
        }),
        (err: Error) => {
          assert.ok(err instanceof KeyRotationError);
          assert.ok(
            err.message.startsWith(
              'Publishing access key AKIAFIRST00000000001 to Secrets Manager secret "x" failed',
            ),
          );
          assert.ok(
            err.message.includes(
              "secretsmanager:DescribeSecret, PutSecretValue, CreateSecret and TagResource",
            ),
          );
          assert.deepStrictEqual(findSecrets(err.message), []);
          return true;
        },
      );
    } finally {
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
  });

  describe("ownership: a publication writes only to a secret it created or was handed", () => {
    const check = (news: Record<string, unknown>, olds: Record<string, unknown> = {}) =>
      (publicationProvider.check as NonNullable<typeof publicationProvider.check>)(olds, news);
    const admin = () => new sm.SecretsManagerClient({ region: "us-east-1", endpoint: emulator().endpoint });
    let othersSecret: string;

    before(async () => {
      othersSecret = `keyrotation-test/${process.pid}/another-team`;
      const client = admin();
      await client.send(
        new sm.CreateSecretCommand({ Name: othersSecret, SecretString: "another team's value" }),
      );
      client.destroy();
    });

    it("refuses at check (preview) another team's existing secret, with the reason and the setting", async () => {
      const result = await check({ secretId: othersSecret, userName: "svc" });
      assert.deepStrictEqual(result.failures, [
        {
          property: "secretsManagerSecretId",
          reason:
            `Secrets Manager secret "${othersSecret}" already exists and was not created by pulumi-aws-key-rotation for IAM user "svc" ` +
            `(it has no keyrotation:owner tag for that user), so publishing the key would overwrite another secret. Point ` +
            `secretsManagerSecretId at a new name (it is created), or set adoptExistingSecret: true to hand this secret over ` +
            `to the rotation (it is then tagged as the rotation's).`,
        },
      ]);
      await assert.rejects(
        publishKey({
          secretId: othersSecret,
          userName: "svc",
          accessKeyId: "AKIAFIRST00000000001",
          secretAccessKey: SECRET_A,
        }),
        /already exists and was not created by pulumi-aws-key-rotation/,
      );
      const client = admin();
      const value = await client.send(new sm.GetSecretValueCommand({ SecretId: othersSecret }));
      client.destroy();
      assert.strictEqual(value.SecretString, "another team's value");
    });

    it("accepts a secret it created (tagged for the user), and one handed over with adoptExistingSecret", async () => {
      const own = `keyrotation-test/${process.pid}/own`;
      await publishKey({
        secretId: own,
        userName: "svc",
        accessKeyId: "AKIAFIRST00000000001",
        secretAccessKey: SECRET_A,
      });
      assert.deepStrictEqual((await check({ secretId: own, userName: "svc" })).failures, []);
      // Another user's rotation may not take it over either.
      assert.strictEqual((await check({ secretId: own, userName: "other-user" })).failures?.length, 1);
      assert.deepStrictEqual(
        (await check({ secretId: othersSecret, userName: "svc", adoptExisting: true })).failures,
        [],
      );
      await publishKey({
        secretId: othersSecret,
        userName: "svc",
        accessKeyId: "AKIASECOND0000000002",
        secretAccessKey: SECRET_B,
        adoptExisting: true,
      });
      assert.strictEqual((await secretValue(othersSecret)).accessKeyId, "AKIASECOND0000000002");
      assert.deepStrictEqual((await check({ secretId: othersSecret, userName: "svc" })).failures, []);
    });

    it("validates secret names and ARNs in check, before any key exists", async () => {
      const table: [string, boolean][] = [
        ["ci/deployer-key", true],
        ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deployer-key-AbCdEf", true],
        ["has spaces", false],
        ["arn:aws:secretsmanager:eu-west-1:1234:secret:x", false],
        ["arn:aws:s3:::bucket", false],
        ["x".repeat(513), false],
      ];
      for (const [secretId, valid] of table) {
        const failures = (await check({ secretId, userName: "svc" })).failures ?? [];
        assert.strictEqual(
          failures.some((f) => /is not a Secrets Manager secret name/.test(f.reason)),
          !valid,
          secretId.slice(0, 40),
        );
      }
    });
  });
});
