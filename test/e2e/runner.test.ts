/**
 * `pulumi-aws-key-rotation run` end to end: the built command, the real CLI through the Automation
 * API, the emulator. One config becomes three stacks: a stack deployed by hand before (taken over
 * with its key), a new stack of the users form and an account's stack that fails on purpose (a key
 * made outside the rotation). The others converge; a second run changes nothing; once the outside
 * key is gone, a third run converges the last stack too.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import { accountIam, createUser, listKeys, listKeysWith, resetClock } from "../support/moto";
import { REPO_ROOT, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const CLI = path.join(REPO_ROOT, "dist", "audit", "cli.js");
const ACCOUNT = "454545454545";

interface Summary {
  exitCode: number;
  stacks: {
    name: string;
    users: number;
    status: string;
    changes: Record<string, number>;
    errors: string[];
    kind?: string;
  }[];
}

describe("e2e: the runner over three stacks (run up, Automation API)", function () {
  this.timeout(1_800_000);
  const prefix = `rr${process.pid}`;
  let hand: TestStack;
  let configFile: string;
  let users: string[];
  let accountUser: string;
  let outsideKey: string;
  let account: iam.IAMClient;
  let handKeyId: string;

  async function runner(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [CLI, "run", ...args], {
      cwd: hand.workDir,
      env: hand.baseEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
    assertNoSecrets(stdout + stderr, "the runner's output");
    return { code, stdout, stderr };
  }

  const flags = () => [
    "--config",
    configFile,
    "--stack-prefix",
    prefix,
    "--max-users-per-stack",
    "2",
    "--parallel",
    "2",
  ];

  before(async () => {
    await resetClock();
    users = [await createUser("run"), await createUser("run"), await createUser("run")];
    account = await accountIam(ACCOUNT);
    accountUser = `acct-${process.pid}`;
    await account.send(new iam.CreateUserCommand({ UserName: accountUser }));
    const made = await account.send(new iam.CreateAccessKeyCommand({ UserName: accountUser }));
    registerSecret(made.AccessKey?.SecretAccessKey);
    outsideKey = made.AccessKey?.AccessKeyId as string;

    // A stack of the ready project deployed by hand, named like the prefix: the runner takes it over.
    hand = new TestStack({ projectDir: REPO_ROOT, stackName: prefix });
    await hand.init();
    await hand.setConfig("aws-key-rotation:users[0]", users[0], { path: true });
    await hand.setConfig("aws-key-rotation:verifyTimeoutSeconds", "30");
    const up = await hand.up();
    assert.strictEqual(up.code, 0, up.visible);
    const out = await hand.outputs(true);
    handKeyId = (out.accessKeyIds as Record<string, string>)[users[0]];
    registerSecret((out.secretAccessKeys as Record<string, string>)[users[0]]);

    configFile = path.join(hand.workDir, "runner.yaml");
    fs.writeFileSync(
      configFile,
      [
        "config:",
        `  aws-key-rotation:users: [${users.join(", ")}]`,
        "  aws-key-rotation:verifyTimeoutSeconds: 30",
        "  aws-key-rotation:roleName: KeyRotation",
        "  aws-key-rotation:accounts:",
        `    - id: "${ACCOUNT}"`,
        "      name: sandbox",
        `      users: [${accountUser}]`,
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    account?.destroy();
    await hand?.remove();
  });

  it("first run: the hand-deployed stack keeps its key and takes a user, a new stack converges, the account's stack fails on purpose", async () => {
    const run = await runner(["up", ...flags(), "--json"]);
    const summary = JSON.parse(run.stdout) as Summary;
    assert.strictEqual(run.code, 1, run.stdout + run.stderr);
    assert.strictEqual(summary.exitCode, 1);
    assert.deepStrictEqual(
      summary.stacks.map((s) => [s.name, s.users, s.status, s.changes, s.kind]),
      [
        // The new user's component, key and schedule.
        [prefix, 2, "succeeded", { create: 3 }, undefined],
        [`${prefix}-${ACCOUNT}-1`, 1, "failed", {}, "action-needed"],
        // A new stack: the stack itself too.
        [`${prefix}-default-1`, 1, "succeeded", { create: 4 }, undefined],
      ],
    );
    const failed = summary.stacks[1];
    assert.ok(
      failed.errors.some((e) => e.includes(outsideKey)),
      failed.errors.join("\n"),
    );
    // The taken-over user kept its key; the others got one each; the outside key is untouched.
    assert.deepStrictEqual(
      (await listKeys(users[0])).map((k) => k.AccessKeyId),
      [handKeyId],
    );
    for (const u of users.slice(1)) assert.strictEqual((await listKeys(u)).length, 1, u);
    assert.deepStrictEqual(
      (await listKeysWith(account, accountUser)).map((k) => `${k.AccessKeyId}:${k.Status}`),
      [`${outsideKey}:Active`],
    );
  });

  it("second run: nothing changes where it converged; the table names the failure and its kind", async () => {
    const run = await runner(["up", ...flags()]);
    assert.strictEqual(run.code, 1, run.stdout + run.stderr);
    const lines = run.stdout.split("\n");
    assert.match(lines[0], /^stack\s+users\s+result\s+changed\s+waits$/);
    assert.match(lines[1], new RegExp(`^${prefix}\\s+2\\s+succeeded\\s+no changes\\s+-$`));
    assert.match(
      lines[2],
      new RegExp(`^${prefix}-${ACCOUNT}-1\\s+1\\s+failed \\(action-needed\\)\\s+-\\s+-$`),
    );
    assert.match(lines[3], new RegExp(`^${prefix}-default-1\\s+1\\s+succeeded\\s+no changes\\s+-$`));
    assert.ok(run.stdout.includes(`${prefix}-${ACCOUNT}-1 failed (action-needed):`), run.stdout);
    assert.ok(run.stdout.includes(`3 stack(s), 2 succeeded, 1 failed; exit code 1.`), run.stdout);
  });

  it("third run, after the outside key is gone: every stack converges, exit code 0", async () => {
    await account.send(new iam.DeleteAccessKeyCommand({ UserName: accountUser, AccessKeyId: outsideKey }));
    const preview = JSON.parse((await runner(["preview", ...flags(), "--json"])).stdout) as Summary;
    assert.deepStrictEqual(
      preview.stacks.map((s) => [s.name, s.status, s.changes]),
      [
        [prefix, "succeeded", {}],
        // The failed runs left the stack, the account's provider and the component in the state:
        // what remains is the schedule and the key.
        [`${prefix}-${ACCOUNT}-1`, "succeeded", { create: 2 }],
        [`${prefix}-default-1`, "succeeded", {}],
      ],
    );
    const run = await runner(["up", ...flags(), "--json"]);
    const summary = JSON.parse(run.stdout) as Summary;
    assert.strictEqual(run.code, 0, run.stdout + run.stderr);
    assert.deepStrictEqual(
      summary.stacks.map((s) => [s.name, s.status, s.changes]),
      [
        [prefix, "succeeded", {}],
        [`${prefix}-${ACCOUNT}-1`, "succeeded", { create: 2 }],
        [`${prefix}-default-1`, "succeeded", {}],
      ],
    );
    assert.strictEqual((await listKeysWith(account, accountUser)).length, 1);
  });

  it("bad usage is exit code 2, naming the flag", async () => {
    const run = await runner(["up", "--config", configFile]);
    assert.strictEqual(run.code, 2);
    assert.match(run.stderr, /--stack-prefix PREFIX is required/);
  });
});
