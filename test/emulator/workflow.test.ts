/**
 * The deploy step of examples/github-actions/rotate-keys.yml, run by bash as GitHub runs it, with
 * a stand-in `pulumi` that writes event logs the real CLI recorded (test/fixtures/event-logs/) and
 * the built deploy-report: exit 4 is retried (at most three attempts), a refusal stops at once
 * without a deploy, the exit code reaches the step's output, and no event log is left behind.
 * It needs no emulator, but bash and the coreutils the step calls (mkdir, tee, rm, sleep), which
 * the Node-only unit run (`npm run test:unit` without Python, in .ci/run) does not have on PATH.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOW = path.join(ROOT, "examples", "github-actions", "rotate-keys.yml");
const FIXTURES = path.join(ROOT, "test", "fixtures", "event-logs");

interface Step {
  id?: string;
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { env: Record<string, string>; steps: Step[] }>;
}

const workflow = parse(fs.readFileSync(WORKFLOW, "utf8")) as Workflow;
const steps = workflow.jobs.rotate.steps;

/** Runs the deploy step; `sequence` names the fixture each pulumi call writes, in order. */
function runDeployStep(sequence: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-test-"));
  const bin = path.join(dir, "bin");
  const work = path.join(dir, "work");
  const temp = path.join(dir, "runner-temp");
  for (const d of [bin, work, temp]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(dir, "sequence"), sequence.join("\n") + "\n");
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/usr/bin/env bash
echo "$1" >>"${dir}/calls"
log=""; prev=""
for a in "$@"; do [ "$prev" = "--event-log" ] && log="$a"; prev="$a"; done
n=$(wc -l <"${dir}/calls")
cp "${FIXTURES}/$(sed -n "\${n}p" "${dir}/sequence").jsonl" "$log"
echo "pulumi $1 (stand-in)"
# The real CLI fails when the deploy does.
case "$(sed -n "\${n}p" "${dir}/sequence")" in refused|unreachable) exit 255 ;; esac
`,
    { mode: 0o755 },
  );
  // npx pulumi-aws-key-rotation: the build of this repository.
  fs.writeFileSync(
    path.join(bin, "npx"),
    `#!/usr/bin/env bash
[ "$1" = pulumi-aws-key-rotation ] || exit 127
shift
exec "${process.execPath}" "${path.join(ROOT, "dist", "audit", "cli.js")}" "$@"
`,
    { mode: 0o755 },
  );
  const script = steps.find((s) => s.id === "deploy")?.run as string;
  // GitHub runs a step's script with bash -e (and -o pipefail for shell: bash).
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    cwd: work,
    encoding: "utf8",
    env: {
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
      RUNNER_TEMP: temp,
      GITHUB_OUTPUT: path.join(dir, "output"),
      STACK: "prod",
      RETRY_DELAY_SECONDS: "0",
    },
  });
  const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
  const output = fs.readFileSync(path.join(dir, "output"), "utf8");
  const leftEvents = fs.readdirSync(path.join(temp, "pulumi-events"));
  const logs = fs.readdirSync(work).sort();
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls, output, leftEvents, logs };
}

describe("examples/github-actions/rotate-keys.yml", () => {
  it("runs daily and on demand, with an OIDC token and read-only contents", () => {
    assert.deepStrictEqual(Object.keys(workflow.on).sort(), ["schedule", "workflow_dispatch"]);
    assert.deepStrictEqual(workflow.on.schedule, [{ cron: "17 6 * * *" }]);
    assert.deepStrictEqual(workflow.permissions, { contents: "read", "id-token": "write" });
    const aws = steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    assert.strictEqual(aws?.with?.["role-to-assume"], "${{ secrets.AWS_ROLE_ARN }}");
    const env = workflow.jobs.rotate.env;
    assert.strictEqual(env.PULUMI_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL }}");
    assert.strictEqual(env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    assert.strictEqual(
      steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.["node-version"],
      22,
    );
    const audit = steps.find((s) => s.name === "Audit the account")?.run ?? "";
    assert.ok(audit.includes("audit --fail-on rotate,rotation-stopped"), audit);
  });

  it("a transient failure (exit 4) is retried; the third attempt converges: exit 0", () => {
    const r = runDeployStep(["day0", "unreachable", "day0", "unreachable", "day0", "day0"]);
    assert.strictEqual(r.code, 0, r.stdout + r.stderr);
    assert.deepStrictEqual(r.calls, ["preview", "up", "preview", "up", "preview", "up"]);
    assert.strictEqual(r.output, "exit-code=0\n");
    assert.strictEqual(
      r.stdout.match(
        /^::warning title=Deploy retried::attempt \d failed transiently \(exit 4\); trying again in 0 s$/gm,
      )?.length,
      2,
    );
    assert.strictEqual(
      r.stdout.match(/^::error title=Deploy failed \(transient%3A try again\)/gm)?.length,
      2,
    );
    assert.deepStrictEqual(r.leftEvents, [], "event logs are deleted once read");
    assert.deepStrictEqual(r.logs, [
      "preview-1.log",
      "preview-2.log",
      "preview-3.log",
      "up-1.log",
      "up-2.log",
      "up-3.log",
    ]);
  });

  it("three transient failures: exit 4 after the third attempt", () => {
    const r = runDeployStep(["day0", "unreachable", "day0", "unreachable", "day0", "unreachable"]);
    assert.strictEqual(r.code, 4);
    assert.strictEqual(r.calls.length, 6);
    assert.strictEqual(r.output, "exit-code=4\n");
  });

  it("a refusal at preview stops at once, without a deploy: exit 1, the refused key annotated", () => {
    const r = runDeployStep(["refused"]);
    assert.strictEqual(r.code, 1);
    assert.deepStrictEqual(r.calls, ["preview"]);
    assert.strictEqual(r.output, "exit-code=1\n");
    assert.match(
      r.stdout,
      /^::error title=Deploy refused \(a person must act\)%3A legacy-\d+ AKIA[A-Z0-9]{16}::/m,
    );
    assert.deepStrictEqual(r.leftEvents, []);
  });

  it("a retirement that waits is a warning, not a failure: exit 0 after one attempt", () => {
    const r = runDeployStep(["day30", "day37-waits"]);
    assert.strictEqual(r.code, 0);
    assert.deepStrictEqual(r.calls, ["preview", "up"]);
    assert.match(r.stdout, /^::warning title=Key retirement waits%3A app-\d+ AKIA[A-Z0-9]{16}::/m);
  });
});
