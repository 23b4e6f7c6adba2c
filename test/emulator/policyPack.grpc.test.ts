/**
 * The pack served by `@pulumi/pulumi/cmd/run-policy-pack`, as the engine serves it, over the
 * Analyzer gRPC interface: GetAnalyzerInfo, Configure, Analyze and AnalyzeStack on crafted
 * resources with unknowns (the engine's sentinel) and secrets (the engine's secret signature).
 * The same inputs run through the in-process harness must give the same diagnostics.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { policies } from "../../policypack/policies";
import { stagePolicyPack } from "../../policypack/publish/stage";
import { adminIam, createUser } from "../support/moto";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";
import {
  CraftedResource,
  Diagnostic,
  PACK_VERSION,
  PolicyConfigFile,
  UNKNOWN,
  daysBefore,
  reconcileConfig,
  runResourcePolicies,
  runStackPolicies,
  secret,
  urnOf,
} from "../support/policyHarness";
import {
  ServedPack,
  analyze,
  analyzeStack,
  configure,
  getAnalyzerInfo,
  levelName,
  policiesFromInfo,
  servePolicyPack,
} from "../support/policyGrpc";

const DAY = 86_400_000;
const SECRET = "Zq9sECRETsecretSECRET/0123456789abcdefXYZ";
registerSecret(SECRET);

const DYNAMIC = "pulumi-nodejs:dynamic/keyrotation:AccessKey";
const AWS = "aws:iam/accessKey:AccessKey";
const SCHEDULE = "pulumi-nodejs:dynamic/keyrotation:RotationSchedule";
const COMPONENT = "keyrotation:iam:RotatingAccessKey";
// Users that exist nowhere in IAM: other suites create "alice" and friends in the shared emulator,
// and the outside-the-stack policy would find their keys.
const ALICE = `alice-${process.pid}-nowhere`;
const BOB = `bob-${process.pid}-nowhere`;
const CI = `ci-${process.pid}-nowhere`;

describe("policy pack served by run-policy-pack (Analyzer gRPC)", function () {
  this.timeout(60_000);
  // The served pack reads its clock from KEYROTATION_NOW, fixed when it starts: 100 days (and a
  // minute) after the outsider's key was made.
  let at: Date;
  let pack: ServedPack;
  let info: analyzer.AnalyzerInfo;
  let outsider: { userName: string; accessKeyId: string; createDate: string };

  function stack(): CraftedResource[] {
    return [
      {
        type: DYNAMIC,
        name: "alice-key-a",
        props: {
          userName: ALICE,
          accessKeyId: "AKIAALICECURRENT0001",
          secretAccessKey: secret(SECRET),
          status: "Active",
          createDate: daysBefore(at, 10),
          slot: "a",
        },
      },
      {
        type: DYNAMIC,
        name: "alice-key-b",
        props: {
          userName: ALICE,
          accessKeyId: "AKIAALICEPREVIOUS001",
          secretAccessKey: secret(SECRET),
          status: "Inactive",
          createDate: daysBefore(at, 200),
        },
      },
      {
        type: AWS,
        name: "ci-key",
        props: { id: "AKIACIUSERKEY0000001", user: CI, status: "Active", createDate: daysBefore(at, 30) },
      },
      { type: "pulumi:pulumi:Stack", name: "keyrotation-dev", props: {} },
    ];
  }

  const replace = (rs: CraftedResource[], name: string, props: Record<string, unknown>) =>
    rs.map((r) => (r.name === name ? { ...r, props: { ...r.props, ...props } } : r));

  /** The same stack through the harness, with the same clock and config. */
  async function harnessStack(rs: CraftedResource[], config?: PolicyConfigFile): Promise<Diagnostic[]> {
    const saved = process.env.KEYROTATION_NOW;
    process.env.KEYROTATION_NOW = at.toISOString();
    try {
      return await runStackPolicies(policies, rs, config ? { config } : {});
    } finally {
      if (saved === undefined) delete process.env.KEYROTATION_NOW;
      else process.env.KEYROTATION_NOW = saved;
    }
  }

  function noSecrets(ds: Diagnostic[]): Diagnostic[] {
    assertNoSecrets(JSON.stringify(ds), "policy diagnostics");
    return ds;
  }

  before(async () => {
    // A key made outside any stack, "100 days ago" for the served pack.
    const userName = await createUser("outsider");
    const out = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: userName }));
    registerSecret(out.AccessKey?.SecretAccessKey);
    outsider = {
      userName,
      accessKeyId: out.AccessKey!.AccessKeyId!,
      createDate: out.AccessKey!.CreateDate!.toISOString(),
    };
    at = new Date(out.AccessKey!.CreateDate!.getTime() + 100 * DAY + 60_000);
    pack = await servePolicyPack({ ...process.env, KEYROTATION_NOW: at.toISOString() });
    info = await getAnalyzerInfo(pack.client);
  });

  after(async () => {
    if (pack) {
      await pack.stop();
      assertNoSecrets(pack.output(), "the policy pack's output");
    }
  });

  it("describes itself: name, version, policies, levels and config schemas", () => {
    assert.strictEqual(info.getName(), "aws-key-rotation");
    assert.strictEqual(info.getVersion(), PACK_VERSION);
    assert.strictEqual(info.getSupportsconfig(), true);
    const described = info
      .getPoliciesList()
      .map((p) => [
        p.getName(),
        p.getPolicyType() === analyzer.PolicyType.POLICY_TYPE_STACK ? "stack" : "resource",
        levelName(p.getEnforcementlevel()),
      ]);
    assert.deepStrictEqual(described, [
      ["iam-access-key-max-age", "stack", "mandatory"],
      ["rotating-access-key-schedule", "resource", "mandatory"],
      ["iam-access-keys-outside-stack", "stack", "advisory"],
    ]);
    const schemas = Object.fromEntries(
      info
        .getPoliciesList()
        .map((p) => [p.getName(), p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}]),
    ) as Record<string, Record<string, Record<string, unknown>>>;
    for (const name of Object.keys(schemas)) {
      const max = schemas[name].maxAgeDays;
      assert.deepStrictEqual(
        [max.type, max.default, max.minimum, max.maximum],
        ["integer", 90, 1, 365],
        name,
      );
      assert.match(String(max.description), /default is 90 days.*from 1 to 365/);
    }
    assert.deepStrictEqual(Object.keys(schemas["iam-access-keys-outside-stack"]).sort(), [
      "concurrency",
      "connectTimeoutMs",
      "deadlineSeconds",
      "exemptions",
      "maxAgeDays",
      "maxAttempts",
      "requestTimeoutMs",
    ]);
    for (const p of info.getPoliciesList()) assert.match(p.getDescription(), /^[A-Z].*\.$/);
  });

  it("checks with the code's defaults before any Configure (no config at all)", async () => {
    const rs = replace(stack(), "alice-key-a", { createDate: daysBefore(at, 91) });
    const ds = noSecrets(await analyzeStack(pack.client, rs));
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel, d.urn]),
      [["iam-access-key-max-age", "mandatory", urnOf(rs[0])]],
    );
    assert.match(
      ds[0].message,
      new RegExp(
        `Access key AKIAALICECURRENT0001 of IAM user ${ALICE} is Active and 91 days old .* limit of 90 days`,
      ),
    );
  });

  it("configures with the engine's reconciliation of the served schemas (defaults only)", async () => {
    const reconciled = reconcileConfig(policiesFromInfo(info));
    assert.deepStrictEqual(reconciled["iam-access-key-max-age"], {
      enforcementLevel: "mandatory",
      properties: { maxAgeDays: 90, exemptions: [] },
    });
    await configure(pack.client, reconciled);
    assert.deepStrictEqual(await analyzeStack(pack.client, stack()), []);
  });

  it("AnalyzeStack: stale keys, unknowns and secrets give exactly the harness's diagnostics", async () => {
    let rs = replace(stack(), "ci-key", { createDate: daysBefore(at, 120) });
    rs = replace(rs, "alice-key-a", {
      accessKeyId: UNKNOWN,
      status: UNKNOWN,
      createDate: UNKNOWN,
      secretAccessKey: UNKNOWN,
    });
    rs.push({
      type: DYNAMIC,
      name: "bob-key-a",
      props: {
        userName: BOB,
        accessKeyId: "AKIABOBCURRENT000001",
        secretAccessKey: secret(SECRET),
        status: "Active",
        createDate: daysBefore(at, 95),
      },
    });
    const ds = noSecrets(await analyzeStack(pack.client, rs));
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel, d.urn]),
      [
        ["iam-access-key-max-age", "mandatory", urnOf({ type: AWS, name: "ci-key" })],
        ["iam-access-key-max-age", "mandatory", urnOf({ type: DYNAMIC, name: "bob-key-a" })],
      ],
    );
    assert.ok(!ds.some((d) => /can't run policy/.test(d.message)), "an unknown stopped a policy");
    assert.deepStrictEqual(ds, await harnessStack(rs));
  });

  it("AnalyzeStack: a key made outside the stack is found in IAM and reported as advisory", async () => {
    const rs: CraftedResource[] = [
      ...stack(),
      { type: COMPONENT, name: "outsider", props: { userName: outsider.userName } },
    ];
    const ds = noSecrets(await analyzeStack(pack.client, rs));
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel]),
      [["iam-access-keys-outside-stack", "advisory"]],
    );
    assert.match(
      ds[0].message,
      new RegExp(
        `\\nAccess key ${outsider.accessKeyId} of IAM user ${outsider.userName} is Active and 100 days old \\(created ${outsider.createDate}\\), .*this stack does not manage it`,
      ),
    );
    assert.deepStrictEqual(ds, await harnessStack(rs));
  });

  it("Analyze: the schedule policy blocks a bad schedule at preview and ignores unknowns", async () => {
    const good: CraftedResource = {
      type: SCHEDULE,
      name: "alice-schedule",
      props: {
        userName: ALICE,
        rotationDays: 30,
        overlapDays: 7,
        maxAgeDays: 90,
        apiToken: secret(SECRET),
      },
    };
    assert.deepStrictEqual(await analyze(pack.client, good), []);
    const bad = { ...good, props: { ...good.props, rotationDays: 120 } };
    const ds = noSecrets(await analyze(pack.client, bad));
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel]),
      [["rotating-access-key-schedule", "mandatory"]],
    );
    assert.match(
      ds[0].message,
      new RegExp(`RotationSchedule "alice-schedule" \\(IAM user ${ALICE}\\) rotates every 120 days`),
    );
    assert.deepStrictEqual(ds, await runResourcePolicies(policies, bad, { config: {} }));
    assert.deepStrictEqual(
      await analyze(pack.client, { ...bad, props: { ...bad.props, overlapDays: UNKNOWN } }),
      [],
    );
    assert.deepStrictEqual(
      (
        await analyze(pack.client, {
          type: COMPONENT,
          name: "alice",
          props: { userName: ALICE, rotationDays: 90 },
        })
      ).length,
      1,
    );
    // Key resources are not this policy's concern (stack policies do not run on Analyze).
    assert.deepStrictEqual(await analyze(pack.client, stack()[0]), []);
  });

  it("Configure with a --policy-pack-config file: limits and enforcement levels change", async () => {
    const file: PolicyConfigFile = {
      "iam-access-key-max-age": { enforcementLevel: "advisory", maxAgeDays: 30 },
      "rotating-access-key-schedule": "disabled",
      "iam-access-keys-outside-stack": { maxAgeDays: 365 },
    };
    await configure(pack.client, reconcileConfig(policiesFromInfo(info), file));
    const rs: CraftedResource[] = [
      ...replace(stack(), "alice-key-a", { createDate: daysBefore(at, 40) }),
      { type: COMPONENT, name: "outsider", props: { userName: outsider.userName } },
    ];
    const ds = noSecrets(await analyzeStack(pack.client, rs));
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel, /is Active and (\d+) days old/.exec(d.message)?.[1]]),
      [["iam-access-key-max-age", "advisory", "40"]],
    );
    assert.match(ds[0].message, /older than the limit of 30 days/);
    assert.deepStrictEqual(ds, await harnessStack(rs, file));
    const badSchedule = { type: SCHEDULE, name: "s", props: { userName: ALICE, rotationDays: 120 } };
    assert.deepStrictEqual(await analyze(pack.client, badSchedule), []);
  });
});

describe("policy pack staged for publishing (self-contained JavaScript)", function () {
  this.timeout(60_000);
  let dir: string;
  let pack: ServedPack;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-pack-"));
    const files = stagePolicyPack(dir);
    assert.deepStrictEqual(
      files.filter((f) => !f.startsWith("policypack/")),
      [
        "core/aws.js",
        "core/clock.js",
        "core/connection.js",
        "core/exemptions.js",
        "core/iam.js",
        "core/settings.js",
        "core/errors.js",
        "core/tokens.js",
        "core/types.js",
      ].sort(),
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    assert.deepStrictEqual(Object.keys(pkg.dependencies).sort(), [
      "@aws-sdk/client-iam",
      "@aws-sdk/client-sts",
      "@pulumi/policy",
      "@pulumi/pulumi",
    ]);
    assert.strictEqual(pkg.version, PACK_VERSION);
    // What `npm install` does on the machine that runs the published pack.
    fs.symlinkSync(path.resolve(__dirname, "../../node_modules"), path.join(dir, "node_modules"), "dir");
    pack = await servePolicyPack({ ...process.env, KEYROTATION_NOW: "" }, dir);
  });

  after(async () => {
    if (pack) await pack.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loads without the repository and serves the same policies", async () => {
    const info = await getAnalyzerInfo(pack.client);
    assert.strictEqual(info.getName(), "aws-key-rotation");
    assert.strictEqual(info.getVersion(), PACK_VERSION);
    assert.deepStrictEqual(
      policiesFromInfo(info).map((p) => [p.name, p.enforcementLevel]),
      policies.map((p) => [p.name, p.enforcementLevel]),
    );
    const created = new Date(Date.now() - 120 * DAY).toISOString();
    const ds = await analyzeStack(pack.client, [
      {
        type: AWS,
        name: "old",
        props: { id: "AKIAOLDKEY0000000001", user: CI, status: "Active", createDate: created },
      },
    ]);
    assert.deepStrictEqual(
      ds.map((d) => [d.policyName, d.enforcementLevel, /is Active and (\d+) days old/.exec(d.message)?.[1]]),
      [["iam-access-key-max-age", "mandatory", "120"]],
    );
  });
});
