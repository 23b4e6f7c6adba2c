/**
 * `npm run bench:stack [-- --users 10,100,1000] [--json FILE] [--ref GIT_REF] [--baseline-ref GIT_REF]
 *   [--preview-runs N] [--keep-state DIR] [--rotation-max-users N] [--skip-checkpoints]
 *   [--sharded [--max-users-per-stack N] [--parallel N]] [--single-max-users N] [--cpu]
 *   [--engine-profile DIR]`
 *
 * What a stack of N `RotatingAccessKey`s costs next to the cheapest stack Pulumi can have with the
 * same resource graph. For each N (default 100), in one run and side by side:
 *
 * - package stack: the packed tarball (`npm pack` of the working tree, tracked and untracked
 *   files as test/support/consumer.ts packs them, or of the commit `--ref` names) installed in a
 *   temporary consumer project, one `RotatingAccessKey` per user (users created in the emulator
 *   first), deployed with the real Pulumi CLI on a file backend. Only the public component is
 *   used; nothing here knows what it is made of.
 * - floor stack: per user, the same tree of component and child resources, type by type, as the
 *   package stack's state holds under each `RotatingAccessKey` after its first up; components are
 *   plain ComponentResources, custom resources are dynamic resources whose provider calls nothing
 *   and returns one small fixed output. (The floor keeps that shape: it does not grow the second
 *   key the package creates on the rotation day.)
 * - baseline stack (with `--baseline-ref GIT_REF`): the package stack of that commit (packed with
 *   packPrevious, compiled without type-checking), in a consumer project of its own, one
 *   `RotatingAccessKey` for each of its own N users (`bench-N-base-*`: two stacks managing one
 *   user's keys would fight over its two slots), in the same emulator, through the same proxy.
 *   It runs every phase the package stack runs and gets the same checks; the floor still mirrors
 *   the current package. Compares a build with the one before it in one run (e.g. the provider
 *   plugin against the dynamic resources of 979751e).
 *
 * Measured for each: the first `pulumi up`, a no-change `pulumi preview`, and a rotation day's up
 * (package: the shared clock, IAM's and `KEYROTATION_NOW` with the simulation opt-in, moved 31
 * days on, past the default 30-day rotation; floor: one input of every custom resource changed,
 * so that each one updates); the state per user (`pulumi stack export` bytes / N, and compact
 * JSON bytes per resource type per user, with the serialized provider closures' share: 0 for a
 * build served by a provider plugin, which the report then says); and the IAM calls per user by
 * action, counted by a forwarding proxy in front of the emulator, per phase; calls signed with a
 * key other than the deployer's (the new key's verification) are listed apart.
 *
 * The no-change preview runs `--preview-runs N` times (default 3) for every stack, interleaved
 * round by round (package, baseline, floor; then baseline, floor, package; ...) so that the
 * machine's load falls on all alike; the report gives each run, the median, and the ratios
 * package/baseline and package/floor. `up` runs with `--skip-preview` (the preview is measured
 * on its own) and the CLI's default parallelism. Checks that each phase did what it is meant to
 * measure (no-change previews plan no change in every run, every user has two keys after the
 * rotation, every floor resource updated, the floor made no IAM call) fail the run when they do
 * not hold.
 *
 * `--rotation-max-users N` runs the rotation day only for sizes up to N (the longest phase; at
 * 1,000 users each of its two ups takes tens of minutes here; 0 leaves it out). `--skip-checkpoints`
 * runs every command of every stack with `PULUMI_SKIP_CHECKPOINTS=true` (the engine saves the
 * state once at the end instead of after every step): not how stacks are deployed, but it shows
 * how much of the time is the engine's own checkpointing. The report's header says when it was
 * set.
 *
 * `--cpu` adds, for every CLI command of the package, baseline and floor stacks (not the
 * sharded run's), the CPU seconds of each process by kind (the engine, the
 * language host, the program, the provider plugin, the dynamic-provider hosts, the emulator and
 * this process with its counting proxy), sampled from /proc (scripts/cpuSampler.ts; Linux).
 *
 * `--engine-profile DIR` passes `--profiling DIR/<users>-<stack>-<command>` to every CLI
 * command: the engine's own CPU profiles, for `go tool pprof`.
 *
 * `--keep-state DIR` writes every `pulumi stack export` measured into DIR. Temporary folders,
 * stacks and the emulator are removed at the end, on failure and on Ctrl-C too.
 *
 * Times are wall-clock times of the CLI command, on a small shared machine: compare the ratios
 * within one run, not the seconds across machines.
 */
import * as iam from "@aws-sdk/client-iam";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { execFileSync, spawn } from "child_process";
import { cleanUpPacks, ConsumerProject, packCurrent, packPrevious, run } from "../test/support/consumer";
import {
  adminIam,
  emulator,
  emulatorEnv,
  resetEmulator,
  setClock,
  startEmulator,
  stopEmulator,
} from "../test/support/moto";
import { REPO_ROOT, RunResult, TestStack } from "../test/support/pulumiCli";
import { addDays } from "../core/clock";
import { actionOf } from "../test/support/faultProxy";
import { CpuByKind, CpuSampler, ProcessKind } from "./cpuSampler";

const COMPONENT_TOKEN = "keyrotation:iam:RotatingAccessKey";
/** The deployer's key (emulatorEnv); any other signer is a key the deployment made. */
const DEPLOYER_KEY = emulatorEnv("http://unused").AWS_ACCESS_KEY_ID;
const PHASES = ["first up", "no-change preview", "rotation up"] as const;
type Phase = (typeof PHASES)[number];

// ---------------------------------------------------------------------------------------------
// Counting IAM calls: a plain forwarding proxy in front of the emulator.

interface CallTally {
  /** `service:Action` -> calls, signed with the deployer's key. */
  deployer: Record<string, number>;
  /** `service:Action` -> calls signed with any other key (a key the deployment created). */
  otherKey: Record<string, number>;
}

const emptyTally = (): CallTally => ({ deployer: {}, otherKey: {} });

/** Access key id and service of a SigV4 `Authorization` header. */
function signerOf(req: http.IncomingMessage): { key: string; service: string } {
  const auth = req.headers.authorization ?? "";
  const m = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth);
  return m ? { key: m[1], service: m[2] } : { key: "", service: "unsigned" };
}

class CountingProxy {
  private server?: http.Server;
  private readonly sockets = new Set<net.Socket>();
  tally: CallTally = emptyTally();
  endpoint = "";

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const target = new URL(this.target);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const signer = signerOf(req);
        const action = `${signer.service}:${actionOf(req, body.toString("utf8")) || "unknown"}`;
        const bucket = signer.key === DEPLOYER_KEY ? this.tally.deployer : this.tally.otherKey;
        bucket[action] = (bucket[action] ?? 0) + 1;
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
            agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on("error", () => req.socket.destroy());
        upstream.end(body);
      });
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", () => resolve()));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** The calls since the last take. */
  take(): CallTally {
    const t = this.tally;
    this.tally = emptyTally();
    return t;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The two programs (written into temporary consumer projects).

/** One RotatingAccessKey per user, from bench.json; the package resolved from node_modules. */
const PACKAGE_PROGRAM = `import * as fs from "fs";
import * as path from "path";
const { RotatingAccessKey } = require("pulumi-aws-key-rotation");
const bench = JSON.parse(fs.readFileSync(path.join(__dirname, "bench.json"), "utf8"));
for (const user of bench.users as string[]) new RotatingAccessKey(user, { userName: user });
`;

/**
 * Per user, the resource tree in bench.json's shape: components are ComponentResources, custom
 * resources are dynamic resources whose provider calls nothing and returns one fixed output. The
 * input \`g\` (bench.json's generation) is what a "rotation day" changes.
 */
const FLOOR_PROGRAM = `import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
interface Node { token: string; custom: boolean; children: Node[] }
const bench = JSON.parse(fs.readFileSync(path.join(__dirname, "bench.json"), "utf8")) as {
  users: string[]; shape: Node; generation: number;
};
const provider: pulumi.dynamic.ResourceProvider = {
  async create() {
    return { id: "floor", outs: { ok: true } };
  },
  async update() {
    return { outs: { ok: true } };
  },
};
function build(node: Node, name: string, parent?: pulumi.Resource): void {
  if (node.custom) {
    const [, module, type] = /^pulumi-nodejs:dynamic\\/([^:]+):(.+)$/.exec(node.token) as string[];
    new pulumi.dynamic.Resource(provider, name, { g: bench.generation }, { parent }, module, type);
    return;
  }
  const component = new pulumi.ComponentResource(node.token, name, {}, { parent });
  node.children.forEach((child, i) => build(child, name + "-" + i, component));
}
for (const user of bench.users) build(bench.shape, user);
`;

// ---------------------------------------------------------------------------------------------
// State: shape of a user's subtree and bytes per type.

interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  parent?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

interface ShapeNode {
  token: string;
  custom: boolean;
  children: ShapeNode[];
}

/** The floor's token for a resource type of the package stack. */
function floorToken(type: string, custom: boolean): string {
  const name = type.split(":").pop() ?? type;
  return custom ? `pulumi-nodejs:dynamic/floor:${name}` : `floor:bench:${name}`;
}

function canonical(node: ShapeNode): string {
  return `${node.token}(${node.children.map(canonical).sort().join(",")})`;
}

/** Each user's subtree under its RotatingAccessKey, in floor tokens; the most common one. */
function userShapes(resources: StateResource[]): { shape: ShapeNode; distinct: Map<string, number> } {
  const children = new Map<string, StateResource[]>();
  for (const r of resources) {
    if (!r.parent) continue;
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const toNode = (r: StateResource): ShapeNode => ({
    token: floorToken(r.type, r.custom === true),
    custom: r.custom === true,
    children: (children.get(r.urn) ?? [])
      .map(toNode)
      .sort((a, b) => canonical(a).localeCompare(canonical(b))),
  });
  const distinct = new Map<string, number>();
  const byKey = new Map<string, ShapeNode>();
  for (const r of resources.filter((x) => x.type === COMPONENT_TOKEN)) {
    const node = toNode(r);
    const key = canonical(node);
    distinct.set(key, (distinct.get(key) ?? 0) + 1);
    byKey.set(key, node);
  }
  const top = [...distinct.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!top) throw new Error(`the package stack's state has no ${COMPONENT_TOKEN}`);
  return { shape: byKey.get(top[0]) as ShapeNode, distinct };
}

function countTypes(node: ShapeNode, into: Record<string, number> = {}): Record<string, number> {
  into[node.token] = (into[node.token] ?? 0) + 1;
  for (const c of node.children) countTypes(c, into);
  return into;
}

interface StateFigures {
  /** `pulumi stack export` bytes / users. */
  exportBytesPerUser: number;
  /** Compact JSON, as the file backend stores the checkpoint. */
  storedBytesPerUser: number;
  /** Compact JSON bytes of each type's resources / users. */
  bytesPerTypePerUser: Record<string, number>;
  /** Of those, the bytes of the serialized provider closure (`__provider`, inputs and outputs). */
  providerBytesPerTypePerUser: Record<string, number>;
  /** Resources of each type / users. */
  countPerTypePerUser: Record<string, number>;
}

let stateDir: string | undefined;

async function stateFigures(
  stack: TestStack,
  users: number,
  label: string,
): Promise<StateFigures & { raw: StateResource[] }> {
  const { text } = await stack.exportState();
  if (stateDir) fs.writeFileSync(path.join(stateDir, `${label}.json`), text);
  const parsed = JSON.parse(text) as { deployment: { resources?: (StateResource & object)[] } };
  const resources = parsed.deployment.resources ?? [];
  const bytes: Record<string, number> = {};
  const count: Record<string, number> = {};
  const provider: Record<string, number> = {};
  for (const r of resources) {
    bytes[r.type] = (bytes[r.type] ?? 0) + Buffer.byteLength(JSON.stringify(r));
    for (const bag of [r.inputs, r.outputs]) {
      if (bag?.__provider === undefined) continue;
      provider[r.type] = (provider[r.type] ?? 0) + Buffer.byteLength(JSON.stringify(bag.__provider));
    }
    count[r.type] = (count[r.type] ?? 0) + 1;
  }
  const per = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round((v / users) * 100) / 100]));
  return {
    exportBytesPerUser: Math.round(Buffer.byteLength(text) / users),
    // What the file backend stores: the same document as compact JSON (the export is indented).
    storedBytesPerUser: Math.round(Buffer.byteLength(JSON.stringify(parsed)) / users),
    bytesPerTypePerUser: per(bytes),
    providerBytesPerTypePerUser: per(provider),
    countPerTypePerUser: per(count),
    raw: resources,
  };
}

// ---------------------------------------------------------------------------------------------
// Running the phases.

interface PhaseResult {
  seconds: number;
  changes: Record<string, number>;
  /** With `--cpu`: CPU seconds of the command by process kind. */
  cpu?: CpuByKind;
}

/** With `--cpu`, the processes outside a command's tree that are counted with it. */
let cpuNamed: Map<number, ProcessKind> | undefined;
/** With `--engine-profile DIR`, where the CLI writes its CPU profiles (`pulumi --profiling`). */
let engineProfileDir: string | undefined;

let activeStack: TestStack | undefined;
/** The signal that interrupted the run: the run stops at its next step and cleans up. */
let interrupted: string | undefined;

function checkInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

const cpuLine = (cpu: CpuByKind) =>
  Object.entries(cpu)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v.seconds} (${v.processes})`)
    .join(", ");

async function timed(stack: TestStack, what: string, run: () => Promise<RunResult>): Promise<PhaseResult> {
  const started = performance.now();
  checkInterrupted();
  activeStack = stack;
  const sampler = cpuNamed ? new CpuSampler(cpuNamed) : undefined;
  sampler?.start(() => stack.runningPid);
  const result = await run();
  const cpu = sampler?.stop();
  activeStack = undefined;
  checkInterrupted();
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}:\n${result.visible.slice(-6000)}`);
  }
  const summary = result.events.find((e) => e.summaryEvent)?.summaryEvent;
  const changes = summary?.resourceChanges ?? {};
  process.stderr.write(`  ${what}: ${seconds} s ${JSON.stringify(changes)}\n`);
  if (cpu) process.stderr.write(`    CPU s: ${cpuLine(cpu)}\n`);
  return { seconds, changes, ...(cpu ? { cpu } : {}) };
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      checkInterrupted();
      await fn(items[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The stacks of one size: the package (this build), the baseline (`--baseline-ref`) and the floor. */
const ROLES = ["package", "baseline", "floor"] as const;
type Role = (typeof ROLES)[number];
/** One value per stack; `baseline` only when `--baseline-ref` is given. */
type PerRole<T> = { package: T; floor: T; baseline?: T };
type When = "after first up" | "after rotation up";
type CallsPerUser = { deployer: Record<string, number>; otherKey: Record<string, number> };

interface PreviewRun {
  /** 1-based round; each round runs every stack once, in the order `previewRuns` lists them. */
  round: number;
  stack: Role;
  seconds: number;
  changes: Record<string, number>;
  cpu?: CpuByKind;
}

interface SizeResult {
  users: number;
  /** Whether the baseline stack ran (`--baseline-ref`). */
  baseline: boolean;
  /** The phases run (the rotation day is left out above `--rotation-max-users`). */
  phases: Phase[];
  /** Seconds per phase and stack; for the no-change preview, the median of its runs. */
  times: Partial<Record<Phase, PerRole<number>>>;
  /** Every no-change preview run, in the order they ran (interleaved, round by round). */
  previewRuns: PreviewRun[];
  /** Engine changes per phase and stack (for the no-change preview, its first run's). */
  changes: Partial<Record<Phase, PerRole<Record<string, number>>>>;
  /** Per user, after the first up: resources of each package type, and what the floor mirrors. */
  shapePerUser: Record<string, number>;
  /** How many users have each subtree (one entry when all users look alike). */
  distinctShapes: Record<string, number>;
  /** The same for the baseline's users (in floor tokens; the floor mirrors the package, not this). */
  baselineShapePerUser?: Record<string, number>;
  baselineDistinctShapes?: Record<string, number>;
  state: Partial<Record<When, PerRole<StateFigures>>>;
  /** IAM calls per user (calls / N, and / runs for the preview), by phase and `service:Action`. */
  callsPerUser: Partial<Record<Phase, CallsPerUser>>;
  baselineCallsPerUser?: Partial<Record<Phase, CallsPerUser>>;
  floorCalls: number;
  /** With `--cpu`: CPU seconds by process kind per phase and stack (the preview: mean of its runs). */
  cpu?: Partial<Record<Phase, PerRole<CpuByKind>>>;
  checks: [string, boolean][];
}

/** The mean of several commands' CPU by kind. */
function meanCpu(runs: CpuByKind[]): CpuByKind {
  const out: CpuByKind = {};
  for (const run of runs)
    for (const [kind, v] of Object.entries(run)) {
      const o = (out[kind] ??= { seconds: 0, processes: 0 });
      o.seconds += v.seconds / runs.length;
      o.processes += v.processes / runs.length;
    }
  for (const o of Object.values(out)) {
    o.seconds = Math.round(o.seconds * 100) / 100;
    o.processes = Math.round(o.processes * 10) / 10;
  }
  return out;
}

const perUser = (o: Record<string, number>, n: number) =>
  Object.fromEntries(
    Object.entries(o)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, Math.round((v / n) * 100) / 100]),
  );

const tallyTotal = (t: CallTally) =>
  [...Object.values(t.deployer), ...Object.values(t.otherKey)].reduce((a, b) => a + b, 0);

function addTally(into: CallTally, t: CallTally): void {
  for (const side of ["deployer", "otherKey"] as const) {
    for (const [k, v] of Object.entries(t[side])) into[side][k] = (into[side][k] ?? 0) + v;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : Math.round(((s[mid - 1] + s[mid]) / 2) * 100) / 100;
}

async function benchSize(
  n: number,
  tarball: string,
  baselineTarball: string | undefined,
  proxy: CountingProxy,
  t0: Date,
  stacks: TestStack[],
  options: { rotation: boolean; skipCheckpoints: boolean; previewRuns: number },
): Promise<SizeResult> {
  process.stderr.write(`\n${n} users\n`);
  await resetEmulator();
  await setClock(t0);
  // The emulator's clock runs on from t0 while KEYROTATION_NOW stays put: before each command the
  // simulated clock is moved to where IAM's is now, as a real clock would be (at 1,000 users the
  // first up takes long enough for IAM's CreateDates to pass a frozen clock, which the schedule
  // refuses as a clock behind IAM's).
  const clockStarted = Date.now();
  const syncClock = (daysOn = 0) =>
    setClock(new Date(addDays(t0, daysOn).getTime() + (Date.now() - clockStarted)));
  const userNames = (infix: string) =>
    Array.from({ length: n }, (_, i) => `bench-${n}-${infix}${String(i).padStart(5, "0")}`);
  const users = userNames("");
  // The baseline's own users: two stacks managing one user's keys would fight over its two slots.
  const baseUsers = baselineTarball ? userNames("base-") : [];
  const admin = adminIam();
  await mapLimit([...users, ...baseUsers], 8, (u) => admin.send(new iam.CreateUserCommand({ UserName: u })));

  const env = {
    ...emulatorEnv(proxy.endpoint),
    ...(options.skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
  };
  const packageStack = (tb: string, names: string[], stackName: string) => {
    const project = new ConsumerProject();
    project.install(tb);
    fs.writeFileSync(path.join(project.dir, "index.ts"), PACKAGE_PROGRAM);
    fs.writeFileSync(path.join(project.dir, "bench.json"), JSON.stringify({ users: names }));
    const stack = new TestStack({ projectDir: project.dir, stackName, env });
    stacks.push(stack);
    return stack;
  };
  const pkg = packageStack(tarball, users, "bench");
  const base = baselineTarball ? packageStack(baselineTarball, baseUsers, "baseline") : undefined;
  const floorProject = new ConsumerProject();
  fs.writeFileSync(path.join(floorProject.dir, "index.ts"), FLOOR_PROGRAM);
  const floor = new TestStack({ projectDir: floorProject.dir, stackName: "floor", env });
  stacks.push(floor);
  await pkg.init();
  if (base) await base.init();
  await floor.init();

  const roles: Role[] = ROLES.filter((role) => role !== "baseline" || base !== undefined);
  const perRole = <T>(f: (role: Role) => T): PerRole<T> => ({
    package: f("package"),
    ...(base ? { baseline: f("baseline") } : {}),
    floor: f("floor"),
  });
  const stackOf = (role: Role): TestStack => (role === "package" ? pkg : role === "floor" ? floor : base!);

  // Every measured command: the clock moved to IAM's first, the IAM calls counted per stack.
  const tallies: Partial<Record<Phase, { package: CallTally; baseline: CallTally }>> = {};
  let floorCalls = 0;
  const measure = async (
    role: Role,
    phase: Phase,
    what: string,
    daysOn: number,
    command: (s: TestStack, extra: string[]) => Promise<RunResult>,
  ): Promise<PhaseResult> => {
    await syncClock(daysOn);
    proxy.take();
    const stack = stackOf(role);
    // `--engine-profile DIR`: the CLI's own CPU profile (pprof) of every command, by name.
    const extra = engineProfileDir
      ? ["--profiling", path.join(engineProfileDir, `${n}-${role}-${what.replace(/[^a-z0-9]+/gi, "-")}`)]
      : [];
    const r = await timed(stack, `${role}: ${what}`, () => command(stack, extra));
    const t = proxy.take();
    if (role === "floor") floorCalls += tallyTotal(t);
    else {
      const phaseTallies = (tallies[phase] ??= { package: emptyTally(), baseline: emptyTally() });
      addTally(phaseTallies[role], t);
    }
    return r;
  };
  const times: SizeResult["times"] = {};
  const changes: SizeResult["changes"] = {};

  // First up: the package stack first, its state gives the floor's shape.
  const up: Partial<Record<Role, PhaseResult>> = {};
  up.package = await measure("package", "first up", "first up", 0, (s, extra) => s.up(extra));
  const pState1 = await stateFigures(pkg, n, `${n}-package-first-up`);
  const { shape, distinct } = userShapes(pState1.raw);
  let bState1: (StateFigures & { raw: StateResource[] }) | undefined;
  let bShapes: ReturnType<typeof userShapes> | undefined;
  if (base) {
    up.baseline = await measure("baseline", "first up", "first up", 0, (s, extra) => s.up(extra));
    bState1 = await stateFigures(base, n, `${n}-baseline-first-up`);
    bShapes = userShapes(bState1.raw);
  }
  const writeFloor = (generation: number) =>
    fs.writeFileSync(path.join(floorProject.dir, "bench.json"), JSON.stringify({ users, shape, generation }));
  writeFloor(1);
  up.floor = await measure("floor", "first up", "first up", 0, (s, extra) => s.up(extra));
  const fState1 = await stateFigures(floor, n, `${n}-floor-first-up`);
  times["first up"] = perRole((role) => (up[role] as PhaseResult).seconds);
  changes["first up"] = perRole((role) => (up[role] as PhaseResult).changes);

  // No-change previews, interleaved so that the machine's load falls on every stack alike: each
  // round runs every stack once, and the order turns by one from round to round (with three
  // stacks and three rounds, each stack runs once first, once second and once last).
  const previewRuns: PreviewRun[] = [];
  for (let round = 0; round < options.previewRuns; round++) {
    const order = roles.map((_, i) => roles[(i + round) % roles.length]);
    for (const role of order) {
      const what = `no-change preview ${round + 1}/${options.previewRuns}`;
      const r = await measure(role, "no-change preview", what, 0, (s, extra) => s.preview(extra));
      previewRuns.push({
        round: round + 1,
        stack: role,
        seconds: r.seconds,
        changes: r.changes,
        ...(r.cpu ? { cpu: r.cpu } : {}),
      });
    }
  }
  const runsOf = (role: Role) => previewRuns.filter((x) => x.stack === role);
  times["no-change preview"] = perRole((role) => median(runsOf(role).map((x) => x.seconds)));
  changes["no-change preview"] = perRole((role) => runsOf(role)[0].changes);

  // A rotation day: 31 days on (past the default 30-day rotation); the floor changes every input.
  let rotation: { rot: PerRole<PhaseResult>; state2: PerRole<StateFigures> } | undefined;
  if (options.rotation) {
    const rot: Partial<Record<Role, PhaseResult>> = {};
    rot.package = await measure("package", "rotation up", "rotation up", 31, (s, extra) => s.up(extra));
    if (base)
      rot.baseline = await measure("baseline", "rotation up", "rotation up", 31, (s, extra) => s.up(extra));
    writeFloor(2);
    const floorWhat = "rotation up (every input changed)";
    rot.floor = await measure("floor", "rotation up", floorWhat, 31, (s, extra) => s.up(extra));
    const state2: Partial<Record<Role, StateFigures>> = {};
    for (const role of roles) state2[role] = await stateFigures(stackOf(role), n, `${n}-${role}-rotation-up`);
    rotation = {
      rot: perRole((role) => rot[role] as PhaseResult),
      state2: perRole((role) => state2[role] as StateFigures),
    };
    times["rotation up"] = perRole((role) => (rot[role] as PhaseResult).seconds);
    changes["rotation up"] = perRole((role) => (rot[role] as PhaseResult).changes);
  }
  const phases = PHASES.filter((p) => times[p] !== undefined);
  const runsPerPhase = (p: Phase) => (p === "no-change preview" ? options.previewRuns : 1);
  const callsOf = (role: "package" | "baseline"): Partial<Record<Phase, CallsPerUser>> =>
    Object.fromEntries(
      phases.map((p) => {
        const t = tallies[p]?.[role] ?? emptyTally();
        const per = n * runsPerPhase(p);
        return [p, { deployer: perUser(t.deployer, per), otherKey: perUser(t.otherKey, per) }];
      }),
    );

  // Checks: the runs did what they are meant to measure.
  const shapeCounts = countTypes(shape);
  const floorCustomPerUser = Object.entries(shapeCounts)
    .filter(([t]) => t.startsWith("pulumi-nodejs:dynamic/"))
    .reduce((a, [, c]) => a + c, 0);
  const noChange = (c: Record<string, number>) => Object.keys(c).every((k) => k === "same");
  const expectKeys = rotation ? 2 : 1;
  const withExpectedKeys = async (names: string[]) => {
    let count = 0;
    await mapLimit(names, 8, async (u) => {
      const out = await admin.send(new iam.ListAccessKeysCommand({ UserName: u }));
      if ((out.AccessKeyMetadata ?? []).length === expectKeys) count += 1;
    });
    return count;
  };
  const withExpected = await withExpectedKeys(users);
  const baseWithExpected = base ? await withExpectedKeys(baseUsers) : 0;
  admin.destroy();
  const afterWhat = rotation ? "rotation up" : "first up";
  const checks: [string, boolean][] = [
    [`every user's subtree alike (${distinct.size} distinct)`, distinct.size === 1],
    ...(bShapes
      ? ([
          [
            `every baseline user's subtree alike (${bShapes.distinct.size} distinct)`,
            bShapes.distinct.size === 1,
          ],
        ] as [string, boolean][])
      : []),
    ...roles.map((role): [string, boolean] => {
      const ok = runsOf(role).filter((x) => noChange(x.changes)).length;
      return [
        `${role} no-change preview plans no change, every run (${ok}/${runsOf(role).length})`,
        ok === runsOf(role).length,
      ];
    }),
    [`${afterWhat}: every user has ${expectKeys} key(s) in IAM (${withExpected}/${n})`, withExpected === n],
    ...(base
      ? ([
          [
            `${afterWhat}: every baseline user has ${expectKeys} key(s) in IAM (${baseWithExpected}/${n})`,
            baseWithExpected === n,
          ],
        ] as [string, boolean][])
      : []),
    ...(rotation
      ? ([
          [
            `floor rotation up updated every custom resource (${rotation.rot.floor.changes.update ?? 0}/${n * floorCustomPerUser})`,
            (rotation.rot.floor.changes.update ?? 0) === n * floorCustomPerUser,
          ],
        ] as [string, boolean][])
      : []),
    [`floor made no IAM call (${floorCalls})`, floorCalls === 0],
  ];
  for (const [name, ok] of checks) process.stderr.write(`  ${ok ? "PASS" : "FAIL"} ${name}\n`);

  const strip = (f: StateFigures): StateFigures => ({
    exportBytesPerUser: f.exportBytesPerUser,
    storedBytesPerUser: f.storedBytesPerUser,
    bytesPerTypePerUser: f.bytesPerTypePerUser,
    providerBytesPerTypePerUser: f.providerBytesPerTypePerUser,
    countPerTypePerUser: f.countPerTypePerUser,
  });
  const state1: Partial<Record<Role, StateFigures>> = { package: pState1, baseline: bState1, floor: fState1 };
  return {
    users: n,
    baseline: base !== undefined,
    phases,
    times,
    previewRuns,
    changes,
    shapePerUser: shapeCounts,
    distinctShapes: Object.fromEntries(distinct),
    ...(bShapes
      ? {
          baselineShapePerUser: countTypes(bShapes.shape),
          baselineDistinctShapes: Object.fromEntries(bShapes.distinct),
        }
      : {}),
    state: {
      "after first up": perRole((role) => strip(state1[role] as StateFigures)),
      ...(rotation
        ? { "after rotation up": perRole((role) => strip((rotation.state2 as PerRole<StateFigures>)[role]!)) }
        : {}),
    },
    callsPerUser: callsOf("package"),
    ...(base ? { baselineCallsPerUser: callsOf("baseline") } : {}),
    floorCalls,
    ...(cpuNamed
      ? {
          cpu: {
            "first up": perRole((role) => up[role]?.cpu ?? {}),
            "no-change preview": perRole((role) => meanCpu(runsOf(role).map((x) => x.cpu ?? {}))),
            ...(rotation ? { "rotation up": perRole((role) => rotation.rot[role]?.cpu ?? {}) } : {}),
          },
        }
      : {}),
    checks,
  };
}

/** CPU seconds by process kind, one table per phase (`--cpu`). */
function cpuReport(r: SizeResult, roles: Role[], baselineName: string): string[] {
  if (!r.cpu) return [];
  const out: string[] = [
    "",
    "CPU seconds by process during each command (`--cpu`: /proc sampled every 50 ms; the emulator and the " +
      "benchmark's counting proxy counted with the command; processes in parentheses; the preview: mean of its runs):",
  ];
  const name = (role: Role) => (role === "baseline" ? baselineName : role);
  for (const phase of r.phases) {
    const per = r.cpu[phase];
    if (!per) continue;
    const kinds = [...new Set(roles.flatMap((role) => Object.keys(per[role] ?? {})))].sort();
    const cell = (role: Role, kind: string) => {
      const v = per[role]?.[kind];
      return v ? `${num(v.seconds)} (${v.processes})` : "-";
    };
    const total = (role: Role) =>
      num(sumOf(Object.fromEntries(Object.entries(per[role] ?? {}).map(([k, v]) => [k, v.seconds]))));
    out.push("", `${phase}:`);
    out.push(
      ...table(
        ["process", ...roles.map(name)],
        [...kinds.map((k) => [k, ...roles.map((role) => cell(role, k))]), ["**total**", ...roles.map(total)]],
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report.

function table(header: string[], rows: (string | number)[][], right = true): string[] {
  const align = header.map((_, i) => (i === 0 || !right ? "---" : "---:"));
  return [
    `| ${header.join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : "-";
const num = (x: number | undefined) => (x === undefined ? "-" : String(Math.round(x * 100) / 100));
const sumOf = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** Bytes (count) and `__provider` bytes of each type of one stack's state, per user. */
function typeCells(f: StateFigures, t?: string): string[] {
  return t === undefined
    ? ["-", "-"]
    : [
        `${num(f.bytesPerTypePerUser[t])} (${num(f.countPerTypePerUser[t])})`,
        num(f.providerBytesPerTypePerUser[t] ?? 0),
      ];
}

/** IAM calls per user by action, one column per phase. */
function callTable(
  phases: Phase[],
  calls: Partial<Record<Phase, CallsPerUser>>,
  side: "deployer" | "otherKey",
): string[] {
  const actions = new Set(phases.flatMap((p) => Object.keys(calls[p]?.[side] ?? {})));
  if (actions.size === 0) return [`(none)`];
  return table(
    ["action", ...phases],
    [...actions].sort().map((a) => [a, ...phases.map((p) => num(calls[p]?.[side][a] ?? 0))]),
  );
}

function report(r: SizeResult, baselineName: string): string[] {
  const out: string[] = [];
  out.push(``, `## ${r.users} users`, ``);
  const phases = r.phases;
  const roles: Role[] = ROLES.filter((role) => role !== "baseline" || r.baseline);
  const column = (role: Role) => (role === "baseline" ? `baseline (${baselineName})` : role);
  const header = [
    "phase",
    ...roles.map(column),
    ...(r.baseline ? ["package / baseline"] : []),
    "package / floor",
  ];
  const row = (label: string, v: PerRole<number | undefined>, show: (x: number) => string | number) => [
    label,
    ...roles.map((role) => (v[role] === undefined ? "-" : show(v[role] as number))),
    ...(r.baseline ? [ratio(v.package, v.baseline)] : []),
    ratio(v.package, v.floor),
  ];
  /** A row without its ratios. */
  const bare = (cells: (string | number)[]) => [
    ...cells.slice(0, 1 + roles.length),
    ...cells.slice(1 + roles.length).map(() => "-"),
  ];
  const secs = (x: number) => x.toFixed(1);
  const rows: (string | number)[][] = [];
  for (const p of phases) {
    const t = r.times[p] as PerRole<number>;
    if (p !== "no-change preview") {
      rows.push(row(`${p} (s)`, t, secs));
      continue;
    }
    const rounds = Math.max(...r.previewRuns.map((x) => x.round));
    for (let round = 1; round <= rounds; round++) {
      const inRound = r.previewRuns.filter((x) => x.round === round);
      const at = (role: Role) => inRound.find((x) => x.stack === role)?.seconds;
      rows.push(
        row(
          `no-change preview, run ${round} (s)`,
          { package: at("package"), baseline: at("baseline"), floor: at("floor") },
          secs,
        ),
      );
    }
    rows.push(row(`**no-change preview, median of ${rounds} (s)**`, t, secs));
  }
  const states = (["after first up", "after rotation up"] as const).filter((w) => r.state[w] !== undefined);
  for (const when of states) {
    const s = r.state[when] as PerRole<StateFigures>;
    const pick = (f: (x: StateFigures) => number): PerRole<number | undefined> => ({
      package: f(s.package),
      baseline: s.baseline ? f(s.baseline) : undefined,
      floor: f(s.floor),
    });
    rows.push(
      row(
        `state ${when} (stored, compact JSON bytes/user)`,
        pick((x) => x.storedBytesPerUser),
        String,
      ),
    );
    rows.push(
      row(
        `state ${when} (export bytes/user)`,
        pick((x) => x.exportBytesPerUser),
        String,
      ),
    );
    // The serialized provider closures' share: 0 for a build served by a provider plugin.
    rows.push(
      bare(
        row(
          `state ${when} (__provider bytes/user)`,
          pick((x) => sumOf(x.providerBytesPerTypePerUser)),
          num,
        ),
      ),
    );
  }
  for (const p of phases) {
    const total = (c: CallsPerUser | undefined) =>
      c === undefined ? undefined : sumOf(c.deployer) + sumOf(c.otherKey);
    const cells = row(
      `IAM calls/user, ${p}`,
      {
        package: total(r.callsPerUser[p]),
        baseline: r.baseline ? total(r.baselineCallsPerUser?.[p]) : undefined,
        floor: r.floorCalls / r.users,
      },
      num,
    );
    // Calls are counts, not costs: no ratio.
    rows.push(bare(cells));
  }
  out.push(...table(header, rows));
  const rounds = [...new Set(r.previewRuns.map((x) => x.round))];
  out.push(
    ``,
    `No-change previews interleaved, in this order: ` +
      rounds
        .map(
          (round) =>
            `run ${round}: ${r.previewRuns
              .filter((x) => x.round === round)
              .map((x) => x.stack)
              .join(", ")}`,
        )
        .join("; ") +
      `. IAM calls of the preview are per user and per run.`,
  );

  out.push(``, `Engine changes per phase (${roles.join(" / ")}):`);
  for (const p of phases) {
    const c = r.changes[p];
    out.push(`- ${p}: ${roles.map((role) => JSON.stringify(c?.[role])).join(" / ")}`);
  }
  out.push(``, `Resources per user (package type -> floor mirror), after the first up:`);
  for (const [t, c] of Object.entries(r.shapePerUser)) out.push(`- ${t}: ${c}`);
  if (r.baselineShapePerUser) {
    out.push(
      ``,
      `Resources per user of the baseline (${baselineName}), after the first up, in floor tokens:`,
    );
    for (const [t, c] of Object.entries(r.baselineShapePerUser)) out.push(`- ${t}: ${c}`);
  }

  for (const when of states) {
    const s = r.state[when] as PerRole<StateFigures>;
    out.push(
      ``,
      `State per user by resource type, ${when} (compact JSON bytes per user, resources per user in parentheses; __provider is the serialized provider closure, inputs and outputs):`,
    );
    // Each package type on one row with its floor mirror (shared types, Stack and provider, as is).
    const floorTypes = new Set(Object.keys(s.floor.bytesPerTypePerUser));
    const rows2: (string | number)[][] = [];
    for (const t of Object.keys(s.package.bytesPerTypePerUser).sort()) {
      const mirror = [t, floorToken(t, true), floorToken(t, false)].find((m) => floorTypes.has(m));
      if (mirror) floorTypes.delete(mirror);
      const label = mirror && mirror !== t ? `${t} / ${mirror.split(":").pop()}` : t;
      rows2.push([label, ...typeCells(s.package, t), ...typeCells(s.floor, mirror)]);
    }
    for (const t of [...floorTypes].sort())
      rows2.push([t, ...typeCells(s.package), ...typeCells(s.floor, t)]);
    rows2.push([
      "all resources",
      num(sumOf(s.package.bytesPerTypePerUser)),
      num(sumOf(s.package.providerBytesPerTypePerUser)),
      num(sumOf(s.floor.bytesPerTypePerUser)),
      num(sumOf(s.floor.providerBytesPerTypePerUser)),
    ]);
    out.push(
      ...table(
        [
          "type (package / floor mirror)",
          "package bytes (count)",
          "of which __provider",
          "floor bytes (count)",
          "of which __provider",
        ],
        rows2,
      ),
    );
    if (sumOf(s.package.providerBytesPerTypePerUser) === 0) {
      out.push(
        ``,
        `The package stack's state holds no serialized provider (__provider: 0 bytes): this build's ` +
          `resources are served by a provider plugin, which the state records once per stack ` +
          `(its pulumi:providers:* resource), not in every resource.`,
      );
    }
    if (s.baseline) {
      const b = s.baseline;
      out.push(``, `Baseline (${baselineName}) state per user by resource type, ${when}:`);
      const rows3: (string | number)[][] = Object.keys(b.bytesPerTypePerUser)
        .sort()
        .map((t) => [t, ...typeCells(b, t)]);
      rows3.push([
        "all resources",
        num(sumOf(b.bytesPerTypePerUser)),
        num(sumOf(b.providerBytesPerTypePerUser)),
      ]);
      out.push(...table(["type", "baseline bytes (count)", "of which __provider"], rows3));
    }
  }

  const callsOf: [string, Partial<Record<Phase, CallsPerUser>>][] = [
    ["package", r.callsPerUser],
    ...(r.baselineCallsPerUser
      ? ([[`baseline (${baselineName})`, r.baselineCallsPerUser]] as [
          string,
          Partial<Record<Phase, CallsPerUser>>,
        ][])
      : []),
  ];
  for (const [who, calls] of callsOf) {
    out.push(
      ``,
      `IAM calls per user by action, ${who} (calls / ${r.users}), signed with the deployer's key:`,
    );
    out.push(...callTable(phases, calls, "deployer"));
    out.push(``, `Verification calls per user, ${who} (signed with a key the deployment created):`);
    out.push(...callTable(phases, calls, "otherKey"));
  }
  out.push(...cpuReport(r, roles, baselineName));
  out.push(``);
  for (const [name, ok] of r.checks) out.push(`${ok ? "PASS" : "FAIL"} ${name}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The sharded run: the same number of users through `pulumi-aws-key-rotation run`.

interface ShardedResult {
  users: number;
  maxUsersPerStack: number;
  parallel: number;
  stacks: number;
  /** Seconds of `run up` (every stack's first up) and of `run preview` right after (no change). */
  times: { "first up": number; "no-change preview": number };
  exitCodes: { "first up": number; "no-change preview": number };
  /** Every stack's state as stored (compact JSON), summed, per user. */
  storedBytesPerUser: number;
  /** The same by resource type (compact JSON of each resource, every stack), per user. */
  bytesPerTypePerUser: Record<string, number>;
  callsPerUser: { "first up": CallsPerUser; "no-change preview": CallsPerUser };
  checks: [string, boolean][];
}

async function benchSharded(
  n: number,
  tarball: string,
  proxy: CountingProxy,
  t0: Date,
  options: { maxUsersPerStack: number; parallel: number; skipCheckpoints: boolean },
): Promise<ShardedResult> {
  process.stderr.write(
    `\n${n} users, sharded (run, --max-users-per-stack ${options.maxUsersPerStack}, --parallel ${options.parallel})\n`,
  );
  await resetEmulator();
  await setClock(t0);
  const clockStarted = Date.now();
  const syncClock = () => setClock(new Date(t0.getTime() + (Date.now() - clockStarted)));
  const users = Array.from({ length: n }, (_, i) => `bench-${n}-sh-${String(i).padStart(5, "0")}`);
  const admin = adminIam();
  await mapLimit(users, 8, (u) => admin.send(new iam.CreateUserCommand({ UserName: u })));
  const project = new ConsumerProject();
  project.install(tarball);
  const configFile = path.join(project.dir, "runner.yaml");
  fs.writeFileSync(
    configFile,
    `config:\n  aws-key-rotation:users:\n${users.map((u) => `    - ${u}\n`).join("")}`,
  );
  // A stack object only for its environment (backend folder, passphrase, CLI on PATH, emulator).
  const envOf = new TestStack({
    projectDir: project.dir,
    stackName: "unused",
    env: {
      ...emulatorEnv(proxy.endpoint),
      ...(options.skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
    },
  });
  const cli = path.join(project.packageDir, "dist", "audit", "cli.js");
  const runner = async (operation: "up" | "preview") => {
    checkInterrupted();
    await syncClock();
    proxy.take();
    const started = performance.now();
    const args = [cli, "run", operation, "--config", configFile, "--stack-prefix", "sh"];
    args.push(
      "--max-users-per-stack",
      String(options.maxUsersPerStack),
      "--parallel",
      String(options.parallel),
    );
    // Not spawnSync: the counting proxy in front of the emulator runs in this process.
    const child = spawn(process.execPath, [...args, "--json"], { cwd: project.dir, env: envOf.baseEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const r = { stdout, stderr, status };
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const tally = proxy.take();
    let summary: {
      exitCode: number;
      stacks: { name: string; status: string; changes: Record<string, number> }[];
    };
    try {
      summary = JSON.parse(r.stdout) as typeof summary;
    } catch {
      throw new Error(
        `run ${operation} printed no summary (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-6000)}`,
      );
    }
    process.stderr.write(
      `  sharded: run ${operation}: ${seconds} s, ${summary.stacks.length} stacks, exit ${r.status}\n`,
    );
    return { seconds, code: r.status ?? -1, summary, tally };
  };
  const up = await runner("up");
  const preview = await runner("preview");

  // The stacks' state, straight from the backend (fully qualified names need no project folder).
  let stored = 0;
  const byType: Record<string, number> = {};
  for (const s of up.summary.stacks) {
    const text = execFileSync(
      "pulumi",
      ["stack", "export", "--stack", `organization/aws-key-rotation/${s.name}`],
      {
        cwd: project.dir,
        env: envOf.baseEnv(),
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const deployment = (JSON.parse(text) as { deployment: { resources?: StateResource[] } }).deployment;
    stored += JSON.stringify(deployment).length;
    for (const r of deployment.resources ?? [])
      byType[r.type] = (byType[r.type] ?? 0) + Buffer.byteLength(JSON.stringify(r));
  }
  let withOneKey = 0;
  await mapLimit(users, 8, async (u) => {
    const out = await admin.send(new iam.ListAccessKeysCommand({ UserName: u }));
    if ((out.AccessKeyMetadata ?? []).length === 1) withOneKey += 1;
  });
  admin.destroy();
  const unchanged = preview.summary.stacks.filter((s) => Object.keys(s.changes).length === 0).length;
  const checks: [string, boolean][] = [
    [`sharded run up succeeded on every stack (exit ${up.code})`, up.code === 0],
    [`sharded: every user has 1 key(s) in IAM (${withOneKey}/${n})`, withOneKey === n],
    [
      `sharded no-change preview plans no change on every stack (${unchanged}/${preview.summary.stacks.length})`,
      preview.code === 0 && unchanged === preview.summary.stacks.length,
    ],
  ];
  for (const [name, ok] of checks) process.stderr.write(`  ${ok ? "PASS" : "FAIL"} ${name}\n`);
  fs.rmSync(envOf.workDir, { recursive: true, force: true });
  const calls = (t: CallTally) => ({ deployer: perUser(t.deployer, n), otherKey: perUser(t.otherKey, n) });
  return {
    users: n,
    maxUsersPerStack: options.maxUsersPerStack,
    parallel: options.parallel,
    stacks: up.summary.stacks.length,
    times: { "first up": up.seconds, "no-change preview": preview.seconds },
    exitCodes: { "first up": up.code, "no-change preview": preview.code },
    storedBytesPerUser: Math.round(stored / n),
    bytesPerTypePerUser: perUser(byType, n),
    callsPerUser: { "first up": calls(up.tally), "no-change preview": calls(preview.tally) },
    checks,
  };
}

/** The sharded runs beside the single stacks of the same sizes. */
function shardedReport(sharded: ShardedResult[], singles: SizeResult[]): string[] {
  const out = ["", "## Sharded (pulumi-aws-key-rotation run)", ""];
  const single = (n: number) => singles.find((r) => r.users === n);
  const header = ["users", "stacks", "run up (s)", "single stack first up (s)", "floor first up (s)"];
  header.push("single / sharded", "run preview (s)", "state per user (B)", "single stack state per user (B)");
  out.push(
    ...table(
      header,
      sharded.map((r) => {
        const s = single(r.users);
        return [
          r.users,
          r.stacks,
          r.times["first up"],
          num(s?.times["first up"]?.package),
          num(s?.times["first up"]?.floor),
          s ? ratio(s.times["first up"]?.package, r.times["first up"]) : "-",
          r.times["no-change preview"],
          r.storedBytesPerUser,
          String(s?.state["after first up"]?.package?.storedBytesPerUser ?? "-"),
        ];
      }),
    ),
  );
  if (sharded.length > 1) {
    const [a, b] = [sharded[0], sharded[sharded.length - 1]];
    out.push(
      "",
      `From ${a.users} to ${b.users} users (${(b.users / a.users).toFixed(1)}x) the sharded first up grew ` +
        `${ratio(b.times["first up"], a.times["first up"])}.`,
    );
  }
  for (const r of sharded) {
    // Like for like: the resources of each user beside the single stack's, type by type (the
    // runner's stacks run the ready project's program, whose stack outputs name every user).
    const s = single(r.users)?.state["after first up"]?.package?.bytesPerTypePerUser ?? {};
    const types = [...new Set([...Object.keys(r.bytesPerTypePerUser), ...Object.keys(s)])].sort();
    out.push(
      "",
      `State per user by resource type, sharded ${r.users} users against the single stack (compact JSON bytes):`,
    );
    out.push(
      ...table(
        ["type", "sharded", "single stack"],
        types.map((t) => [t, num(r.bytesPerTypePerUser[t]), num(s[t])]),
      ),
    );
    out.push("", `IAM calls per user, sharded ${r.users} users, signed with the deployer's key:`);
    const actions = new Set([
      ...Object.keys(r.callsPerUser["first up"].deployer),
      ...Object.keys(r.callsPerUser["no-change preview"].deployer),
    ]);
    out.push(
      ...table(
        ["action", "run up", "run preview"],
        [...actions]
          .sort()
          .map((a) => [
            a,
            num(r.callsPerUser["first up"].deployer[a]),
            num(r.callsPerUser["no-change preview"].deployer[a]),
          ]),
      ),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "100" },
      json: { type: "string" },
      ref: { type: "string" },
      "baseline-ref": { type: "string" },
      "preview-runs": { type: "string", default: "3" },
      "keep-state": { type: "string" },
      "rotation-max-users": { type: "string" },
      "skip-checkpoints": { type: "boolean", default: false },
      sharded: { type: "boolean", default: false },
      "single-max-users": { type: "string" },
      "max-users-per-stack": { type: "string", default: "100" },
      parallel: { type: "string", default: "4" },
      cpu: { type: "boolean", default: false },
      "engine-profile": { type: "string" },
    },
  });
  const sharded = values.sharded === true;
  const singleMax = values["single-max-users"] === undefined ? Infinity : Number(values["single-max-users"]);
  if (!(singleMax >= 0)) throw new Error(`--single-max-users: ${values["single-max-users"]}`);
  const maxUsersPerStack = Number(values["max-users-per-stack"]);
  const parallel = Number(values.parallel);
  if (!Number.isInteger(maxUsersPerStack) || maxUsersPerStack < 1)
    throw new Error(`--max-users-per-stack: ${values["max-users-per-stack"]}`);
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel: ${values.parallel}`);
  const rotationMax =
    values["rotation-max-users"] === undefined ? Infinity : Number(values["rotation-max-users"]);
  if (!(rotationMax >= 0)) throw new Error(`--rotation-max-users: ${values["rotation-max-users"]}`);
  const skipCheckpoints = values["skip-checkpoints"] === true;
  const previewRuns = Number(values["preview-runs"]);
  if (!Number.isInteger(previewRuns) || previewRuns < 1)
    throw new Error(`--preview-runs: ${values["preview-runs"]}`);
  const baselineRef = values["baseline-ref"];
  if (values["keep-state"]) {
    stateDir = path.resolve(values["keep-state"]);
    fs.mkdirSync(stateDir, { recursive: true });
  }
  const sizes = (values.users ?? "100").split(",").map((s) => Number(s.trim()));
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`--users: ${values.users}`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  const stacks: TestStack[] = [];
  let proxy: CountingProxy | undefined;
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const s of stacks) {
      try {
        await s.remove();
      } catch (e) {
        process.stderr.write(`removing a stack failed: ${(e as Error).message}\n`);
      }
    }
    await proxy?.stop();
    cleanUpPacks();
    await stopEmulator();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // The first signal ends the running deployment and lets the run stop at its next step, so
    // that the finally below removes the stacks, folders and emulator; a second one exits now.
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = signal;
      process.stderr.write(`\n${signal}: stopping and cleaning up (again to exit at once)\n`);
      activeStack?.kill();
    });
  }

  const results: SizeResult[] = [];
  const shardedResults: ShardedResult[] = [];
  const started = Date.now();
  let packed = "";
  let baselinePacked = "";
  let baselineName = "";
  const loadAtStart = os.loadavg().map((l) => l.toFixed(2));
  try {
    process.stderr.write(`Packing ${values.ref ? `git ref ${values.ref}` : "the working tree"}\n`);
    const head = run("git", ["rev-parse", values.ref ?? "HEAD"], REPO_ROOT).trim();
    const dirty = run("git", ["status", "--porcelain", "--untracked-files=no"], REPO_ROOT)
      .split("\n")
      .filter((l) => l.trim() !== "").length;
    packed = values.ref
      ? `commit ${head} (${values.ref})`
      : `working tree at ${head}${dirty > 0 ? ` with ${dirty} modified tracked files` : ""}`;
    process.stderr.write(`  ${packed}\n`);
    const tarball = values.ref ? packPrevious(values.ref) : packCurrent();
    checkInterrupted();
    let baselineTarball: string | undefined;
    if (baselineRef) {
      process.stderr.write(`Packing the baseline, git ref ${baselineRef}\n`);
      const commit = run("git", ["rev-parse", `${baselineRef}^{commit}`], REPO_ROOT).trim();
      baselineName = baselineRef;
      baselinePacked = `commit ${commit} (${baselineRef})`;
      process.stderr.write(`  ${baselinePacked}\n`);
      baselineTarball = packPrevious(baselineRef);
      checkInterrupted();
    }
    process.stderr.write(`Starting the IAM emulator\n`);
    await startEmulator();
    checkInterrupted();
    proxy = new CountingProxy(emulator().endpoint);
    await proxy.start();
    if (values["engine-profile"]) {
      engineProfileDir = path.resolve(values["engine-profile"]);
      fs.mkdirSync(engineProfileDir, { recursive: true });
    }
    if (values.cpu) {
      const emulatorPid = emulator().process.pid;
      cpuNamed = new Map<number, ProcessKind>([[process.pid, "benchmark (proxy)"]]);
      if (emulatorPid !== undefined) cpuNamed.set(emulatorPid, "emulator");
    }
    let t0 = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
    for (const n of sizes) {
      if (n <= singleMax) {
        const r = await benchSize(n, tarball, baselineTarball, proxy, t0, stacks, {
          rotation: n <= rotationMax,
          skipCheckpoints,
          previewRuns,
        });
        results.push(r);
        // The clock only moves forward, from one size to the next too.
        t0 = addDays(t0, 32);
        for (const s of stacks.splice(0)) await s.remove();
      }
      if (sharded) {
        const options = { maxUsersPerStack, parallel, skipCheckpoints };
        shardedResults.push(await benchSharded(n, tarball, proxy, t0, options));
        t0 = addDays(t0, 32);
      }
    }
  } finally {
    await cleanUp();
  }

  const load = os.loadavg().map((l) => l.toFixed(2));
  const out: string[] = [];
  out.push(
    `# Stack benchmark: RotatingAccessKey vs ${baselineRef ? `the package of ${baselineRef} and ` : ""}a floor of minimal dynamic resources`,
    ``,
    `Node ${process.version}, Pulumi CLI (scripts/pulumi-cli.sh), moto on loopback; ${os.cpus().length} CPUs, ` +
      `load average at the start ${loadAtStart.join(" ")}, at the end ${load.join(" ")}; ` +
      `total ${Math.round((Date.now() - started) / 1000)} s. ` +
      `Wall-clock seconds of each CLI command (up with --skip-preview, default parallelism)` +
      (skipCheckpoints
        ? `; every command with PULUMI_SKIP_CHECKPOINTS=true (state saved once at the end, not after each step).`
        : `.`),
    `Package packed from the ${packed}.`,
    ...(baselineRef
      ? [
          `Baseline: the package stack of the ${baselinePacked}, packed the same way (compiled without ` +
            `type-checking) and installed in a consumer project of its own, one RotatingAccessKey for each ` +
            `of its own N users (bench-N-base-*), in the same emulator; the same phases` +
            (sizes.some((n) => n <= rotationMax)
              ? ``
              : ` (no rotation day in this run: --rotation-max-users ${values["rotation-max-users"]})`) +
            `. The floor mirrors the current package's resource tree.`,
        ]
      : []),
    `No-change preview: ${previewRuns} run(s) of each stack, interleaved round by round (the order turns by one ` +
      `each round); each run's time and the median.`,
  );
  for (const r of results) out.push(...report(r, baselineName));
  if (sharded) out.push(...shardedReport(shardedResults, results));
  process.stdout.write(out.join("\n") + "\n");
  if (values.json) {
    const doc = {
      node: process.version,
      packed,
      ...(baselineRef ? { baseline: { ref: baselineRef, packed: baselinePacked } } : {}),
      previewRuns,
      loadAverageAtStart: loadAtStart.map(Number),
      cpus: os.cpus().length,
      loadAverageAtEnd: os.loadavg(),
      totalSeconds: Math.round((Date.now() - started) / 1000),
      skipCheckpoints,
      results,
      ...(sharded ? { sharded: shardedResults } : {}),
    };
    fs.writeFileSync(values.json, JSON.stringify(doc, null, 2) + "\n");
    process.stderr.write(`Results written to ${values.json}\n`);
  }
  if ([...results, ...shardedResults].some((r) => r.checks.some(([, ok]) => !ok))) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench-stack failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = interrupted ? 130 : 1;
});
