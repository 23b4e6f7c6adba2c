/**
 * The packed tarball in a fresh consumer stack, installed from the npm registry the way a user
 * installs it: strict TypeScript with `module: node16` type-checks against the package's `exports`
 * and types, the stack's own mocks test passes with `pulumi-aws-key-rotation/testing`, and
 * `npm ls` shows exactly one `@pulumi/pulumi` (the stack's), and a program deployed from that
 * install with the real CLI starts the provider plugin from node_modules and creates a real key in
 * the emulator. Run at both ends of the peer range.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cleanUpPacks, packCurrent, PLUGIN_LINES, run } from "../support/consumer";
import { addDays } from "../../core/clock";
import { createUser, listKeys, resetClock, setClock } from "../support/moto";
import { REPO_ROOT, steps, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const PROGRAM = path.join(REPO_ROOT, "test", "e2e", "programs", "mocks-consumer");
const repoPkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>;
};

function copyProgram(dir: string): void {
  for (const file of ["index.ts", "tsconfig.json", path.join("test", "stack.spec.ts")]) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(PROGRAM, file), path.join(dir, file));
  }
}

/** `pulumi up` and `destroy` of a one-key program in `dir`, whose node_modules hold the installed tarball. */
async function deployFromInstall(dir: string): Promise<void> {
  fs.writeFileSync(
    path.join(dir, "deploy.js"),
    `const pulumi = require("@pulumi/pulumi");
const { RotatingAccessKey } = require("pulumi-aws-key-rotation");
const key = new RotatingAccessKey("app", { userName: new pulumi.Config().require("userName"), verifyTimeoutSeconds: 30 });
exports.accessKeyId = key.accessKeyId;
exports.secretAccessKey = key.secretAccessKey;
`,
  );
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: keyrotation-e2e-installed\nruntime: nodejs\nmain: deploy.js\n${PLUGIN_LINES}`,
  );
  await resetClock(); // whatever an earlier suite left, IAM and the provider agree on today
  const user = await createUser("installed");
  const stack = new TestStack({ projectDir: dir });
  try {
    await stack.init();
    await stack.setConfig("userName", user);
    const up = await stack.up();
    assert.strictEqual(up.code, 0, up.visible);
    assert.deepStrictEqual(steps(up.events), ["create app", "create app-a", "create app-schedule"]);
    const out = await stack.outputs(true);
    registerSecret(out.secretAccessKey as string);
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => `${k.AccessKeyId}:${k.Status}`),
      [`${out.accessKeyId as string}:Active`],
    );
    const state = await stack.exportState();
    assertNoSecrets(state.text + up.visible, "the state and the output of a deploy from the install");
    assert.strictEqual(
      state.resources.find((r) => r.id === out.accessKeyId)?.type,
      "keyrotation:iam:AccessKey",
    );
    assert.strictEqual(state.text.includes("__provider"), false);
    // The new key's verification used it just now: the deletion guard's 24 hours pass first.
    await setClock(addDays(new Date(), 2));
    const destroy = await stack.destroy();
    assert.strictEqual(destroy.code, 0, destroy.visible);
    assert.deepStrictEqual(await listKeys(user), []);
  } finally {
    await resetClock();
    await stack.remove();
  }
}

describe("the packed tarball in a fresh TypeScript stack (npm registry install)", function () {
  this.timeout(600_000);
  let tarball: string;
  const dirs: string[] = [];

  before(() => {
    tarball = packCurrent();
  });

  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    cleanUpPacks();
  });

  // The newest @pulumi/pulumi (the development pin) and the lowest the peer range allows.
  for (const pulumiVersion of [repoPkg.devDependencies["@pulumi/pulumi"], "3.248.0"]) {
    it(`type-checks (strict, node16), passes its mocks test, has one @pulumi/pulumi ${pulumiVersion} and deploys with the plugin`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-mocks-consumer-"));
      dirs.push(dir);
      copyProgram(dir);
      const dev = repoPkg.devDependencies;
      fs.writeFileSync(
        path.join(dir, "package.json"),
        JSON.stringify(
          {
            name: "mocks-consumer",
            version: "1.0.0",
            private: true,
            dependencies: { "@pulumi/pulumi": pulumiVersion, "pulumi-aws-key-rotation": `file:${tarball}` },
            devDependencies: {
              typescript: dev.typescript,
              "@types/node": dev["@types/node"],
              "@types/mocha": dev["@types/mocha"],
              mocha: dev.mocha,
            },
          },
          null,
          2,
        ),
      );
      run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], dir);
      run("npx", ["tsc", "-p", "tsconfig.json"], dir);
      const out = run("npx", ["mocha", "out/test/stack.spec.js"], dir);
      assert.match(out, /1 passing/);
      const tree = JSON.parse(run("npm", ["ls", "@pulumi/pulumi", "--all", "--json"], dir)) as unknown;
      const copies = new Set<string>();
      const walk = (node: unknown) => {
        const deps = (node as { dependencies?: Record<string, { version: string }> }).dependencies ?? {};
        for (const [name, child] of Object.entries(deps)) {
          if (name === "@pulumi/pulumi") copies.add(child.version);
          walk(child);
        }
      };
      walk(tree);
      assert.deepStrictEqual([...copies], [pulumiVersion]);
      const installed = fs
        .readdirSync(path.join(dir, "node_modules"), { recursive: true })
        .map(String)
        .filter((p) => p.endsWith(path.join("@pulumi", "pulumi", "package.json")));
      assert.deepStrictEqual(installed, [path.join("@pulumi", "pulumi", "package.json")]);

      // A real deploy from this install: the provider plugin starts from the installed package
      // (the Pulumi.yaml lines the README gives) on this @pulumi/pulumi, and rotates a real key.
      await deployFromInstall(dir);
    });
  }
});
