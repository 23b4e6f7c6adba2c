/**
 * Rotating the deployer's own key, with the emulator enforcing IAM authentication: the CI user
 * `ci-deployer` deploys a consumer stack (the packed tarball) that rotates ci-deployer's keys and
 * publishes the current one to Secrets Manager. Every call the deployment makes is signed with the
 * key the CI holds.
 *
 * - A CI with a static secret (the bootstrap key): the first deploy that would deactivate that key
 *   fails at preview, naming it and the fix, and changes nothing; after switching to the published
 *   key the same deploy succeeds.
 * - A CI that reads its key from the published secret at the start of each run (signed with the
 *   key it held), over 400 simulated days with gaps of 1 to 60 days: the key the CI holds is never
 *   retired under it. A gap right after a rotation makes the deploy meet a predecessor used
 *   minutes earlier (to read the secret): it waits instead of failing. A preview fails only where
 *   the age limit leaves no other way (the CI's own key past maxAgeDays), naming the key.
 *
 * (moto accepts an Inactive key's signature, so a lockout would not show as AccessDenied here; the
 * test checks the key the CI holds is Active after every deploy.)
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sm from "@aws-sdk/client-secrets-manager";
import { addDays } from "../../core/clock";
import { cleanUpPacks, ConsumerProject, packCurrent } from "../support/consumer";
import { AuthEmulator, emulatorEnv, setClock, startAuthEmulator } from "../support/moto";
import { diagnostics, RunResult, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const USER = "ci-deployer";
const SECRET_ID = "ci/deployer-key";

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

describe("e2e: rotating the deployer's own key (IAM auth enforced)", function () {
  this.timeout(process.env.KEYROTATION_SELF_DAILY ? 14_400_000 : 1_800_000);
  const T0 = new Date(Date.now() + 6 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let auth: AuthEmulator;
  let project: ConsumerProject;
  let stack: TestStack;
  let held: Creds;
  let bootstrap: Creds;
  /** Other credentials, for the documented way out of a refused deploy. */
  let admin: Creds;
  const runs: RunResult[] = [];
  const figures = { deploys: 0, waits: 0, refusals: 0, lockouts: 0 };

  const client = <T>(make: (config: object) => T, creds: Creds): T =>
    make({ region: "us-east-1", endpoint: auth.endpoint, credentials: creds });
  const iamAs = (creds: Creds) => client((c) => new iam.IAMClient(c), creds);
  const keys = async () => {
    const out = await iamAs(held).send(new iam.ListAccessKeysCommand({ UserName: USER }));
    return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId, k.Status]));
  };
  /** What the CI does at the start of a run: read the published key, signed with the key it holds. */
  const readPublished = async (): Promise<Creds> => {
    const secrets = client((c) => new sm.SecretsManagerClient(c), held);
    const out = await secrets.send(new sm.GetSecretValueCommand({ SecretId: SECRET_ID }));
    const value = JSON.parse(out.SecretString ?? "{}") as Creds;
    registerSecret(value.secretAccessKey);
    return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey };
  };
  const signedAs = (creds: Creds) => ({
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
  });
  const at = async (day: number) => {
    const when = addDays(T0, day);
    await auth.setClock(when);
    await setClock(when); // KEYROTATION_NOW for the deployment (the main emulator's clock is unused)
  };
  const deploy = async (what: string): Promise<RunResult> => {
    const preview = await stack.preview([], signedAs(held));
    runs.push(preview);
    assert.strictEqual(preview.code, 0, `preview ${what} failed:\n${diagnostics(preview.events).join("\n")}`);
    const up = await stack.up([], signedAs(held));
    runs.push(up);
    assert.strictEqual(up.code, 0, `up ${what} failed:\n${diagnostics(up.events).join("\n")}`);
    assert.deepStrictEqual(steps(up.events), steps(preview.events), `${what}: preview plans what up does`);
    figures.deploys += 1;
    figures.waits += diagnostics(up.events).filter((m) => m.includes("waits:")).length;
    if (held !== admin) {
      const status = (await keys())[held.accessKeyId];
      if (status !== "Active") figures.lockouts += 1;
      assert.strictEqual(status, "Active", `${what}: the key the CI holds is still Active`);
    }
    return up;
  };

  before(async () => {
    // Six unchecked requests: ci-deployer and an administrator, each with a policy and a key.
    // Then every request is checked.
    auth = await startAuthEmulator(6);
    const boot = new iam.IAMClient({ region: "us-east-1", endpoint: auth.endpoint });
    const userWithKey = async (name: string): Promise<Creds> => {
      await boot.send(new iam.CreateUserCommand({ UserName: name }));
      await boot.send(
        new iam.PutUserPolicyCommand({
          UserName: name,
          PolicyName: "deployer",
          PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*", "secretsmanager:*"], Resource: "*" }],
          }),
        }),
      );
      const key = (await boot.send(new iam.CreateAccessKeyCommand({ UserName: name }))).AccessKey;
      registerSecret(key?.SecretAccessKey);
      return { accessKeyId: key?.AccessKeyId ?? "", secretAccessKey: key?.SecretAccessKey ?? "" };
    };
    bootstrap = await userWithKey(USER);
    admin = await userWithKey("platform-admin");
    boot.destroy();
    held = bootstrap;
    project = new ConsumerProject();
    project.install(packCurrent());
    stack = new TestStack({
      projectDir: project.dir,
      env: { ...emulatorEnv(auth.endpoint), ...signedAs(bootstrap) },
    });
    await stack.init();
    await stack.setConfig("userName", USER);
    await stack.setConfig("secretId", SECRET_ID);
    await stack.setConfig("unmanagedKeys", "retire");
  });

  after(async () => {
    await stack?.remove();
    auth?.stop();
    cleanUpPacks();
  });

  it("day 0: the bootstrap key is adopted, a new current key is created and published", async () => {
    await at(0);
    await deploy("on day 0");
    assert.deepStrictEqual(
      Object.keys(await keys()).sort(),
      [bootstrap.accessKeyId, (await readPublished()).accessKeyId].sort(),
    );
  });

  it("a static CI: the deploy that would deactivate the key it runs with fails at preview, naming it; nothing changes", async () => {
    await at(7);
    const before = await keys();
    const preview = await stack.preview([], signedAs(held));
    runs.push(preview);
    assert.notStrictEqual(preview.code, 0);
    const messages = diagnostics(preview.events).join("\n");
    assert.match(
      messages,
      new RegExp(
        `This deploy would deactivate access key ${bootstrap.accessKeyId} of IAM user "${USER}", and the deployment's own AWS calls are signed with that key`,
      ),
    );
    assert.match(messages, /Run the deploy with the user's current key AKIA\w+/);
    figures.refusals += 1;
    const up = await stack.up([], signedAs(held));
    runs.push(up);
    assert.notStrictEqual(up.code, 0);
    assert.deepStrictEqual(await keys(), before);
  });

  it("after switching to the published key the deploy succeeds; the bootstrap key, just used, waits", async () => {
    held = await readPublished();
    const up = await deploy("on day 7 with the published key");
    // The refused deploy signed its calls with the bootstrap key minutes ago: the seed's procedure
    // waits until it has been unused for deletionGuardHours before deactivating it.
    assert.strictEqual((await keys())[bootstrap.accessKeyId], "Active");
    assert.match(
      diagnostics(up.events).join("\n"),
      new RegExp(
        `deactivation waits: ${bootstrap.accessKeyId} was used .* by service \\w+ in region us-east-1, within deletionGuardHours 24`,
      ),
    );
    await at(9);
    held = await readPublished();
    await deploy("on day 9");
    assert.strictEqual((await keys())[bootstrap.accessKeyId], "Inactive");
  });

  it("a CI that reads the published key at the start of each run: 400 days with gaps of 1 to 60 days", async () => {
    // The CI reads the secret before the deploy, so after a rotation it holds the predecessor until
    // its next run. Day 65 comes 35 days after the day-30 rotation: the rotation due then must not
    // delete the predecessor the CI used minutes earlier to read the secret, so it waits. When a
    // later gap lets the CI's own key pass the age limit first (day 160: 93 days), no plan can both
    // meet the limit and keep the deployer's key: the preview refuses, naming the key, and the
    // documented way out (one run with other credentials) resumes the cycle.
    // KEYROTATION_SELF_DAILY=1: a deploy every day from day 10 to day 409 instead (about an hour; not in CI).
    const daily = process.env.KEYROTATION_SELF_DAILY !== undefined;
    const days = daily
      ? Array.from({ length: 400 }, (_, i) => 10 + i)
      : [30, 65, 66, 67, 100, 101, 160, 161, 190, 250, 251, 252, 300, 360, 361, 409];
    for (const day of days) {
      await at(day);
      held = await readPublished();
      // Daily: up alone (a preview every day would double an hour-long run); a refusal then fails the up.
      const preview = daily ? await stack.up([], signedAs(held)) : await stack.preview([], signedAs(held));
      runs.push(preview);
      if (preview.code !== 0) {
        assert.match(
          diagnostics(preview.events).join("\n"),
          new RegExp(
            `This deploy would deactivate access key ${held.accessKeyId} of IAM user "${USER}", and the deployment's own AWS calls are signed with that key`,
          ),
          `day ${day}: a preview fails only to refuse retiring the deployer's key`,
        );
        figures.refusals += 1;
        held = admin;
        await deploy(`on day ${day} with other credentials`);
        held = await readPublished();
      } else if (daily) {
        figures.deploys += 1;
        figures.waits += diagnostics(preview.events).filter((m) => m.includes("waits:")).length;
        const status = (await keys())[held.accessKeyId];
        if (status !== "Active") figures.lockouts += 1;
        assert.strictEqual(status, "Active", `day ${day}: the key the CI holds is still Active`);
      } else {
        await deploy(`on day ${day}`);
      }
      const ids = Object.keys(await keys());
      assert.ok(ids.length <= 2, `day ${day}: ${ids.length} keys`);
      if (process.env.KEYROTATION_E2E_VERBOSE) {
        const said = diagnostics(runs[runs.length - 1].events).filter((m) => m.startsWith(`${USER}:`));
        console.log(
          `      day ${day}: CI holds ${held.accessKeyId}; ${JSON.stringify(await keys())}\n        ${said.join("\n        ")}`,
        );
      }
    }
    if (!process.env.KEYROTATION_SELF_DAILY) {
      assert.ok(figures.waits >= 1, "the gap after a rotation made a deploy wait instead of failing");
    }
    assert.strictEqual(figures.lockouts, 0);
    for (const r of runs) assertNoSecrets(r.visible, "the output of a pulumi command");
    assertNoSecrets((await stack.exportState()).text, "the exported state");
    console.log(`      self-rotation figures: ${JSON.stringify(figures)}`);
  });
});
