/**
 * Least privilege, proven with the emulator enforcing IAM authorization: the deployer's only
 * permissions are the document `pulumi-aws-key-rotation iam-policy` prints (the built CLI, run as a
 * user would), and the auditor's the one `iam-policy --for audit` prints.
 *
 * - The rotation scenario (days 0, 31, 38, 61, 95, publishing to Secrets Manager) deploys with the
 *   real CLI under exactly the generated policy.
 * - For each statement, the same policy without it makes a deploy (or the audit) fail with
 *   AccessDenied on one of that statement's actions.
 *
 * What the emulator cannot evaluate (moto 5): it authorizes every request against the resource
 * "*", so a statement scoped to ARNs never matches there, and it has no values for condition keys
 * such as aws:TagKeys. The documents are therefore applied with each Resource widened to "*"
 * (actions, effects and conditions exactly as generated); the ARN scoping and the tag-key
 * conditions are checked by parliament (test/emulator/iamPolicyLint.test.ts), not here.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sm from "@aws-sdk/client-secrets-manager";
import { spawnSync } from "child_process";
import * as path from "path";
import { addDays } from "../../core/clock";
import { cleanUpPacks, ConsumerProject, packCurrent } from "../support/consumer";
import { AuthEmulator, emulatorEnv, setClock, startAuthEmulator } from "../support/moto";
import { RunResult, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const ACCOUNT = "123456789012"; // the emulator's account
const CLI = path.join(__dirname, "..", "..", "dist", "audit", "cli.js");

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

interface Statement {
  Sid: string;
  Action: string[];
  Resource: string | string[];
  Condition?: unknown;
}

interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

/** `pulumi-aws-key-rotation iam-policy ...` from the build, as a user runs it. */
function generated(args: string[]): PolicyDocument {
  const r = spawnSync(process.execPath, [CLI, "iam-policy", ...args, "--account", ACCOUNT], {
    encoding: "utf8",
  });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PolicyDocument;
}

/** The document as the emulator can evaluate it: every Resource widened to "*" (see above). */
function emulated(doc: PolicyDocument, without?: string): PolicyDocument {
  return {
    ...doc,
    Statement: doc.Statement.filter((s) => s.Sid !== without).map((s) => ({ ...s, Resource: "*" })),
  };
}

describe("e2e: least privilege (IAM authorization enforced)", function () {
  this.timeout(1_800_000);
  const T0 = new Date(Date.now() + 7 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let auth: AuthEmulator;
  let admin: iam.IAMClient;
  let adminCreds: Creds;
  let project: ConsumerProject;
  let deployer: Creds;
  let auditor: Creds;
  const runs: RunResult[] = [];

  const signedAs = (creds: Creds) => ({
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
  });
  const at = async (day: number) => {
    const when = addDays(T0, day);
    await auth.setClock(when);
    await setClock(when); // KEYROTATION_NOW for the deployment
  };
  const adminSecrets = () =>
    new sm.SecretsManagerClient({ region: "us-east-1", endpoint: auth.endpoint, credentials: adminCreds });
  const grant = (user: string, doc: PolicyDocument) =>
    admin.send(
      new iam.PutUserPolicyCommand({
        UserName: user,
        PolicyName: "generated",
        PolicyDocument: JSON.stringify(doc),
      }),
    );
  const userWithKey = async (name: string): Promise<Creds> => {
    await admin.send(new iam.CreateUserCommand({ UserName: name }));
    const key = (await admin.send(new iam.CreateAccessKeyCommand({ UserName: name }))).AccessKey;
    registerSecret(key?.SecretAccessKey);
    return { accessKeyId: key?.AccessKeyId ?? "", secretAccessKey: key?.SecretAccessKey ?? "" };
  };
  const newStack = async (user: string, secretId: string): Promise<TestStack> => {
    const stack = new TestStack({
      projectDir: project.dir,
      env: { ...emulatorEnv(auth.endpoint), ...signedAs(deployer) },
    });
    await stack.init();
    await stack.setConfig("userName", user);
    await stack.setConfig("secretId", secretId);
    return stack;
  };
  /** What the CLI shows at its default verbosity (debug diagnostics carry raw resource values). */
  const shown = (r: RunResult) =>
    [
      ...r.events
        .map((e) => e.diagnosticEvent)
        .filter((d) => d !== undefined && d.severity !== "debug")
        .map((d) => d?.message ?? ""),
      r.stderr,
    ].join("\n");

  before(async () => {
    // Three unchecked requests make an administrator (user, policy, key); then every request is checked.
    auth = await startAuthEmulator(3);
    const boot = new iam.IAMClient({ region: "us-east-1", endpoint: auth.endpoint });
    await boot.send(new iam.CreateUserCommand({ UserName: "platform-admin" }));
    await boot.send(
      new iam.PutUserPolicyCommand({
        UserName: "platform-admin",
        PolicyName: "admin",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*", "secretsmanager:*"], Resource: "*" }],
        }),
      }),
    );
    const key = (await boot.send(new iam.CreateAccessKeyCommand({ UserName: "platform-admin" }))).AccessKey;
    boot.destroy();
    registerSecret(key?.SecretAccessKey);
    adminCreds = { accessKeyId: key?.AccessKeyId ?? "", secretAccessKey: key?.SecretAccessKey ?? "" };
    admin = new iam.IAMClient({ region: "us-east-1", endpoint: auth.endpoint, credentials: adminCreds });
    deployer = await userWithKey("deployer");
    auditor = await userWithKey("auditor");
    project = new ConsumerProject();
    project.install(packCurrent());
  });

  after(async () => {
    admin?.destroy();
    auth?.stop();
    cleanUpPacks();
    assertNoSecrets(runs.map((r) => r.stdout + r.stderr).join("\n"), "CLI output");
  });

  it("the rotation scenario (days 0, 31, 38, 61, 95, with Secrets Manager) runs under exactly the generated policy", async () => {
    await admin.send(new iam.CreateUserCommand({ UserName: "app-svc" }));
    const doc = generated(["--users", "app-svc", "--secret", "lp/app-key"]);
    assert.deepStrictEqual(
      doc.Statement.map((s) => s.Sid),
      ["RotateAccessKeys", "TagKeySlots", "PublishCurrentKey", "MarkPublishedSecret"],
    );
    await grant("deployer", emulated(doc));
    const stack = await newStack("app-svc", "lp/app-key");
    try {
      const seen: string[] = [];
      for (const day of [0, 31, 38, 61, 95]) {
        await at(day);
        const up = await stack.up();
        runs.push(up);
        assert.strictEqual(up.code, 0, `day ${day}:\n${shown(up)}`);
        const out = await admin.send(new iam.ListAccessKeysCommand({ UserName: "app-svc" }));
        seen.push(
          `${day}: ${(out.AccessKeyMetadata ?? [])
            .map((k) => k.Status)
            .sort()
            .join(",")}`,
        );
      }
      // Day 0 one key; day 31 a second one (overlap); day 38 the old one Inactive; day 61 it is
      // deleted and a new key made; day 95 the same again.
      assert.deepStrictEqual(seen, [
        "0: Active",
        "31: Active,Active",
        "38: Active,Inactive",
        "61: Active,Active",
        "95: Active,Active",
      ]);
    } finally {
      await stack.remove();
    }
  });

  // How each statement's absence shows. moto answers a denied Secrets Manager call with an IAM-style
  // XML body that the SDK cannot parse, so there the product's message carries "HTTP 403" (from the
  // SDK's metadata) instead of AWS's AccessDeniedException text. A secret the rotation creates is
  // tagged by CreateSecret itself, for which AWS also requires secretsmanager:TagResource; moto does
  // not, so MarkPublishedSecret is shown with a secret handed over (adoptExistingSecret), which the
  // rotation tags with TagResource.
  const statements: { sid: string; denied: RegExp; adopt?: boolean }[] = [
    {
      sid: "RotateAccessKeys",
      denied:
        /not authorized to perform: iam:(ListAccessKeys|ListUserTags|CreateAccessKey|GetAccessKeyLastUsed)/,
    },
    { sid: "TagKeySlots", denied: /not authorized to perform: iam:TagUser/ },
    {
      sid: "PublishCurrentKey",
      denied: /Secrets Manager secret "lp\/publishcurrentkey" failed: [\s\S]*\(HTTP 403\)/,
    },
    {
      sid: "MarkPublishedSecret",
      denied: /to Secrets Manager secret "lp\/markpublishedsecret" failed: [\s\S]*\(HTTP 403\)/,
      adopt: true,
    },
  ];
  for (const { sid, denied, adopt } of statements) {
    it(`without statement ${sid}, a deploy fails with AccessDenied`, async () => {
      const user = `lp-${sid.toLowerCase()}`;
      const secretId = `lp/${sid.toLowerCase()}`;
      await admin.send(new iam.CreateUserCommand({ UserName: user }));
      if (adopt) {
        await adminSecrets().send(new sm.CreateSecretCommand({ Name: secretId, SecretString: "{}" }));
      }
      await grant("deployer", emulated(generated(["--users", user, "--secret", secretId]), sid));
      const stack = await newStack(user, secretId);
      if (adopt) await stack.setConfig("adoptExistingSecret", "true");
      try {
        await at(200);
        const up = await stack.up();
        runs.push(up);
        const text = shown(up);
        assert.notStrictEqual(up.code, 0, text);
        assert.match(text, denied);
        // With the statement back, the same deploy succeeds.
        await grant("deployer", emulated(generated(["--users", user, "--secret", secretId])));
        const again = await stack.up();
        runs.push(again);
        assert.strictEqual(again.code, 0, shown(again));
      } finally {
        await stack.remove();
      }
    });
  }

  it("the audit runs under exactly `iam-policy --for audit`, and fails with AccessDenied without either statement", async () => {
    const doc = generated(["--for", "audit"]);
    assert.deepStrictEqual(
      doc.Statement.map((s) => s.Sid),
      ["ListUsersAndReport", "ReadAccessKeys"],
    );
    const audit = (source: string) =>
      spawnSync(
        process.execPath,
        [CLI, "audit", "--source", source, "--format", "json", "--max-attempts", "1"],
        {
          encoding: "utf8",
          env: { ...process.env, ...emulatorEnv(auth.endpoint), ...signedAs(auditor) },
        },
      );
    await grant("auditor", emulated(doc));
    for (const source of ["live", "report"]) {
      const r = audit(source);
      // 0 compliant or 1 violations: either way the audit read the account.
      assert.ok(r.status === 0 || r.status === 1, `--source ${source}: exit ${r.status}\n${r.stderr}`);
      const users = (JSON.parse(r.stdout) as { keys: { userName: string }[] }).keys.map((k) => k.userName);
      assert.ok(users.includes("deployer") && users.includes("auditor"), users.join(","));
    }
    const cases: [string, string, RegExp][] = [
      ["ListUsersAndReport", "live", /iam:ListUsers/],
      ["ListUsersAndReport", "report", /iam:(GenerateCredentialReport|GetCredentialReport|ListUsers)/],
      ["ReadAccessKeys", "live", /iam:(ListAccessKeys|GetAccessKeyLastUsed)/],
    ];
    for (const [sid, source, action] of cases) {
      await grant("auditor", emulated(doc, sid));
      const r = audit(source);
      assert.strictEqual(r.status, 2, `without ${sid}, --source ${source}:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`not authorized to perform: ${action.source}`));
    }
  });
});
