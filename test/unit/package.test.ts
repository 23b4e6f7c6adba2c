/**
 * The package root after `npm run build` (npm test builds first): what `require("pulumi-aws-key-rotation")`
 * gives a consumer.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "../..");

describe("package", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;

  it("is named pulumi-aws-key-rotation, with main/types in the build and a supported Node range", () => {
    assert.strictEqual(pkg.name, "pulumi-aws-key-rotation");
    assert.strictEqual(pkg.main, "dist/components/index.js");
    assert.strictEqual(pkg.types, "dist/components/index.d.ts");
    assert.deepStrictEqual(pkg.engines, { node: ">=22" });
    assert.deepStrictEqual(pkg.bin, { "pulumi-aws-key-rotation": "dist/audit/cli.js" });
  });

  it("exports RotatingAccessKey and its types from the built root", () => {
    const api = require(ROOT) as Record<string, unknown>;
    for (const name of [
      "RotatingAccessKey",
      "AccessKey",
      "RotationSchedule",
      "nextPlan",
      "DEFAULTS",
      "KeyInUseError",
    ]) {
      assert.strictEqual(typeof api[name] === "function" || typeof api[name] === "object", true, name);
    }
    assert.strictEqual(api.ROTATING_ACCESS_KEY_TOKEN, "keyrotation:iam:RotatingAccessKey");
    assert.strictEqual(api.ACCESS_KEY_TOKEN, "keyrotation:iam:AccessKey");
    assert.strictEqual(api.MESSAGE_VERSION, 1);
    assert.deepStrictEqual(api.NOTICE_TYPES, [
      "key.created",
      "key.deactivated",
      "key.deleted",
      "retirement.waiting",
      "age.nearing-limit",
      "deploy.refused",
      "unmanaged-keys.found",
    ]);
    assert.ok(fs.existsSync(path.join(ROOT, "dist", "components", "index.d.ts")));
  });

  it("loads the root without the AWS SDK or the providers' code, which only the plugin runs", () => {
    // A fresh process: this test process has loaded the SDK already.
    const script = [
      `const api = require(${JSON.stringify(ROOT)});`,
      "const loaded = Object.keys(require.cache);",
      "const sdk = loaded.filter((k) => /[\\\\/]@aws-sdk[\\\\/]/.test(k)).length;",
      "const ops = loaded.filter((k) => /accessKeyOps|keyCreation|providers[\\\\/](rotationSchedule|secretPublication)\\.js$/.test(k)).length;",
      "console.log(JSON.stringify({ sdk, ops, provider: Object.keys(api.accessKeyProvider).sort() }));",
    ].join("\n");
    const out = execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    assert.deepStrictEqual(JSON.parse(out), {
      sdk: 0,
      ops: 0,
      provider: ["check", "create", "delete", "diff", "read", "update"],
    });
  });

  it("loads the access key provider's code at its first call", () => {
    const script = [
      `const { accessKeyProvider } = require(${JSON.stringify(ROOT)});`,
      "accessKeyProvider.check({}, { userName: 'bad name!' }).then((r) => {",
      "  const sdk = Object.keys(require.cache).some((k) => /[\\\\/]@aws-sdk[\\\\/]client-iam[\\\\/]/.test(k));",
      "  console.log(JSON.stringify({ sdk, failures: r.failures.map((f) => f.property) }));",
      "});",
    ].join("\n");
    const out = execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    assert.deepStrictEqual(JSON.parse(out), { sdk: true, failures: ["userName"] });
  });

  it("keeps answering at the module paths that 0.1.0 state requires (stored provider code)", () => {
    // What closures serialized by 0.1.0 require when the package is consumed from node_modules, and
    // what they call on the read and delete paths.
    const legacy: Record<string, string[]> = {
      accessKeyOps: [
        "readKey",
        "removeKey",
        "checkAccessKeyInputs",
        "diffKey",
        "updateKey",
        "listKeys",
        "parseTagValue",
      ],
      settings: ["resolveSettings", "SETTING_KEYS", "userNameFailure"],
      clock: ["now"],
      errors: ["messageOf", "KeyRotationError"],
      schedule: ["nextPlan"],
    };
    for (const [file, names] of Object.entries(legacy)) {
      const mod = require(path.join(ROOT, "dist", "components", `${file}.js`)) as Record<string, unknown>;
      for (const name of names) assert.notStrictEqual(mod[name], undefined, `${file}.${name}`);
    }
  });

  it("declares ranges consumers can share: caret runtime dependencies, @pulumi/pulumi as a peer, exact dev pins", () => {
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>)) {
      assert.match(version, /^\^\d+\.\d+\.\d+$/, `${name}@${version}`);
    }
    assert.deepStrictEqual(pkg.peerDependencies, { "@pulumi/pulumi": ">=3.248.0 <4.0.0" });
    const dev = pkg.devDependencies as Record<string, string>;
    for (const [name, version] of Object.entries(dev)) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name}@${version}`);
    }
    // The tested top of the peer range is the pinned development version.
    assert.strictEqual(dev["@pulumi/pulumi"], "3.276.0");
    // @pulumi/aws is not a dependency: nothing imports it (its token is a string in core/tokens.ts).
    assert.strictEqual((pkg.dependencies as Record<string, string>)["@pulumi/aws"], undefined);
  });
});
