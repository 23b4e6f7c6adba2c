/**
 * A YAML program (`runtime: yaml`, run by `pulumi up` with the YAML language host) that declares
 * the keyrotation package and one `keyrotation:iam:RotatingAccessKey`: simulated days 0, 31 and 38
 * with the real CLI (create; rotate with both keys Active; the previous key Inactive), the current
 * key exported and working, no plain secret in the state or the output.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as sts from "@aws-sdk/client-sts";
import { addDays } from "../../core/clock";
import { createUser, emulator, listKeys, setClock } from "../support/moto";
import { REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";
import { yamlHostBin } from "../support/toolchains";

/** The program: what a YAML user writes (README "Use it from Python, Go or YAML"). */
const PROGRAM = `resources:
  app:
    type: keyrotation:iam:RotatingAccessKey
    properties:
      userName: \${userName}
      verifyTimeoutSeconds: 30
outputs:
  accessKeyId: \${app.accessKeyId}
  previousAccessKeyId: \${app.previousAccessKeyId}
  secretAccessKey: \${app.secretAccessKey}
  nextRotationDate: \${app.nextRotationDate}
  keys: \${app.keys}
`;

async function callerArn(accessKeyId: string, secretAccessKey: string): Promise<string> {
  const client = new sts.STSClient({
    region: "us-east-1",
    endpoint: emulator().endpoint,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    return (await client.send(new sts.GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    client.destroy();
  }
}

describe("e2e: a YAML program with keyrotation:iam:RotatingAccessKey (YAML language host)", function () {
  this.timeout(1_800_000);
  const T0 = new Date(Date.now() + 6 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let dir: string;
  let stack: TestStack;
  let user: string;
  const ids: string[] = [];

  before(async () => {
    const yamlBin = await yamlHostBin();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-yaml-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      `name: keyrotation-e2e-yaml
runtime: yaml
packages:
  keyrotation: ${path.join(REPO_ROOT, "provider")}
plugins:
  languages:
    - name: yaml
      path: ${yamlBin}
config:
  userName:
    type: string
${PROGRAM}`,
    );
    user = await createUser("yaml");
    stack = new TestStack({ projectDir: dir });
    await stack.init();
    await stack.setConfig("userName", user);
  });

  after(async () => {
    await stack?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const calendar = [
    { day: 0, ops: ["create app", "create app-a", "create app-schedule"], keys: ["1:Active"] },
    { day: 31, ops: ["create app-b", "update app-schedule"], keys: ["1:Active", "2:Active"] },
    { day: 38, ops: ["update app-a", "update app-schedule"], keys: ["1:Inactive", "2:Active"] },
  ];
  for (const step of calendar) {
    it(`day ${step.day}: preview plans what up does; IAM holds ${step.keys.join(", ")}`, async () => {
      await setClock(addDays(T0, step.day));
      const preview = await stack.preview();
      assert.strictEqual(preview.code, 0, preview.visible);
      const up = await stack.up();
      assert.strictEqual(up.code, 0, up.visible);
      assert.deepStrictEqual(steps(preview.events), step.ops, "preview");
      assert.deepStrictEqual(steps(up.events), step.ops, "up");

      const out = await stack.outputs(true);
      const id = out.accessKeyId as string;
      const secret = out.secretAccessKey as string;
      registerSecret(secret);
      if (!ids.includes(id)) ids.push(id);
      const keys = await listKeys(user);
      assert.deepStrictEqual(
        keys.map((k) => `${ids.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
        step.keys,
      );
      assert.strictEqual(id, ids[ids.length - 1], "the newest key is current");
      assert.strictEqual(out.previousAccessKeyId ?? undefined, ids.length > 1 ? ids[0] : undefined);
      assert.strictEqual(await callerArn(id, secret), `arn:aws:iam::123456789012:user/${user}`);
      assert.strictEqual((await stack.outputs(false)).secretAccessKey, "[secret]");

      const state = await stack.exportState();
      assertNoSecrets(state.text, `the state on day ${step.day}`);
      assertNoSecrets(preview.visible + up.visible, `the CLI output on day ${step.day}`);
      assert.strictEqual(state.text.includes("__provider"), false);
      assert.deepStrictEqual(
        state.resources
          .filter((r) => r.type.startsWith("keyrotation:iam:"))
          .map((r) => r.type)
          .sort(),
        [
          ...Array<string>(step.keys.length).fill("keyrotation:iam:AccessKey"),
          "keyrotation:iam:RotatingAccessKey",
          "keyrotation:iam:RotationSchedule",
        ],
      );
    });
  }

  it("destroy deletes both keys", async () => {
    await setClock(addDays(T0, 45));
    const destroy = await stack.destroy();
    assert.strictEqual(destroy.code, 0, destroy.visible);
    assert.deepStrictEqual(await listKeys(user), []);
  });
});
