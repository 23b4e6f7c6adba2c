/**
 * A Go program (programs/go) with the generated SDK (sdk/go/keyrotation) run through the
 * Automation API as an inline program, with the real CLI: one `iam.NewRotatingAccessKey` over
 * simulated days 0, 31 and 38 (create; rotate with both keys Active; the previous key Inactive),
 * then destroy. Each day the preview plans what the up does, the current key is exported and
 * works, and no plain secret is in the state or in anything the program printed.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as sts from "@aws-sdk/client-sts";
import { addDays } from "../../core/clock";
import { createUser, emulator, listKeys, setClock } from "../support/moto";
import { REPO_ROOT, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const PROGRAM_DIR = path.join(__dirname, "programs", "go");
const RESULT_PREFIX = "KEYROTATION_E2E_RESULT ";

interface ProgramResult {
  command: string;
  /** "<op> <name>" of the steps planned or performed (no same, read or stack), sorted. */
  steps: string[];
  /** The summary's operation counts. */
  changes: Record<string, number>;
  /** The stack outputs after an up, a secret one as "[secret]". */
  outputs?: Record<string, unknown>;
}

interface ProgramRun {
  code: number;
  /** Everything the program printed: the engine's progress, the result line, any error. */
  output: string;
  result?: ProgramResult;
}

interface ManagedKey {
  slot: string;
  accessKeyId: string;
  status: string;
  current: boolean;
}

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

/**
 * Builds the program (once per test run; a cold build of the Automation API takes minutes, a warm
 * one seconds) into `outDir`, with the module's go.mod and go.sum as committed. Resolves to the
 * binary.
 */
function buildProgram(outDir: string): Promise<string> {
  const binary = path.join(outDir, "rotate");
  const started = Date.now();
  const child = spawn("go", ["build", "-mod=readonly", "-buildvcs=false", "-o", binary, "."], {
    cwd: PROGRAM_DIR,
    env: { ...process.env, GOWORK: "off", GOFLAGS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", (err) =>
      reject(new Error(`could not run go (${err.message}): the Go tests need Go 1.25 or newer on PATH`)),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        reject(
          new Error(`go build in ${path.relative(REPO_ROOT, PROGRAM_DIR)} exited with ${code}:\n${output}`),
        );
        return;
      }
      console.error(
        `    go build of ${path.relative(REPO_ROOT, PROGRAM_DIR)}: ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      resolve(binary);
    });
  });
}

describe("e2e: a Go program with the generated SDK (sdk/go/keyrotation, Automation API inline program)", function () {
  this.timeout(1_800_000);
  const T0 = new Date(Date.now() + 7 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let binDir: string;
  let binary: string;
  let work: string;
  let stack: TestStack;
  let user: string;
  const ids: string[] = [];

  /** Runs `rotate COMMAND` with the CLI's environment (read now: after setClock). */
  function runProgram(command: "preview" | "up" | "destroy"): Promise<ProgramRun> {
    const child = spawn(binary, [command, work, stack.stackName, user], {
      cwd: work,
      env: stack.baseEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => {
        const line = output
          .split("\n")
          .reverse()
          .find((l) => l.startsWith(RESULT_PREFIX));
        resolve({
          code: code ?? -1,
          output,
          result: line ? (JSON.parse(line.slice(RESULT_PREFIX.length)) as ProgramResult) : undefined,
        });
      });
    });
  }

  /** The run's result, after asserting that it succeeded. */
  function succeeded(run: ProgramRun, what: string): ProgramResult {
    assert.strictEqual(run.code, 0, `${what} failed:\n${run.output}`);
    assert.ok(run.result, `${what} printed no result line:\n${run.output}`);
    return run.result;
  }

  before(async () => {
    binDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-go-bin-"));
    binary = await buildProgram(binDir);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "keyrotation-go-"));
    fs.writeFileSync(
      path.join(work, "Pulumi.yaml"),
      `name: keyrotation-e2e-go
runtime: go
plugins:
  providers:
    - name: keyrotation
      path: ${path.join(REPO_ROOT, "provider")}
`,
    );
    user = await createUser("go");
    stack = new TestStack({ projectDir: work });
  });

  after(async () => {
    await stack?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
  });

  const calendar = [
    {
      day: 0,
      ops: ["create app", "create app-a", "create app-schedule"],
      changes: { create: 4 },
      keys: ["1:Active"],
    },
    {
      day: 31,
      ops: ["create app-b", "update app-schedule"],
      changes: { create: 1, update: 1, same: 3 },
      keys: ["1:Active", "2:Active"],
    },
    {
      day: 38,
      ops: ["update app-a", "update app-schedule"],
      changes: { update: 2, same: 3 },
      keys: ["1:Inactive", "2:Active"],
    },
  ];
  for (const step of calendar) {
    it(`day ${step.day}: preview plans what up does; IAM holds ${step.keys.join(", ")}`, async () => {
      await setClock(addDays(T0, step.day));
      const previewRun = await runProgram("preview");
      const upRun = await runProgram("up");
      const preview = succeeded(previewRun, "preview");
      const up = succeeded(upRun, "up");
      assert.deepStrictEqual(preview.steps, step.ops, "preview");
      assert.deepStrictEqual(up.steps, step.ops, "up");
      assert.deepStrictEqual(preview.changes, step.changes, "the preview's change counts");
      assert.deepStrictEqual(up.changes, step.changes, "the up's change counts");

      const out = await stack.outputs(true);
      const id = out.accessKeyId as string;
      const secret = out.secretAccessKey as string;
      registerSecret(secret);
      assertNoSecrets(previewRun.output + upRun.output, `what the program printed on day ${step.day}`);
      if (!ids.includes(id)) ids.push(id);
      const keys = await listKeys(user);
      assert.deepStrictEqual(
        keys.map((k) => `${ids.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
        step.keys,
      );
      assert.strictEqual(id, ids[ids.length - 1], "the newest key is current");
      assert.strictEqual(out.previousAccessKeyId ?? undefined, ids.length > 1 ? ids[0] : undefined);
      assert.deepStrictEqual(
        (out.keys as ManagedKey[])
          .map((k) => `${ids.indexOf(k.accessKeyId) + 1}:${k.status}:${k.current}`)
          .sort(),
        step.keys.map((k, i) => `${k}:${i === step.keys.length - 1}`),
        "the keys output",
      );
      assert.strictEqual(await callerArn(id, secret), `arn:aws:iam::123456789012:user/${user}`);

      // What the up returned: the same outputs, the secret one marked secret.
      assert.deepStrictEqual(up.outputs, { ...out, secretAccessKey: "[secret]" });
      assert.strictEqual((await stack.outputs(false)).secretAccessKey, "[secret]");

      const state = await stack.exportState();
      assertNoSecrets(state.text, `the state on day ${step.day}`);
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
    const run = await runProgram("destroy");
    const destroy = succeeded(run, "destroy");
    assertNoSecrets(run.output, "what the program printed on destroy");
    assert.deepStrictEqual(destroy.steps, [
      "delete app",
      "delete app-a",
      "delete app-b",
      "delete app-schedule",
    ]);
    assert.deepStrictEqual(await listKeys(user), []);
  });
});
