/**
 * `npm run bench:stack [-- --users 10,100,1000] [--json FILE] [--ref GIT_REF] [--keep-state DIR]
 *   [--rotation-max-users N] [--skip-checkpoints]`
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
 *
 * Measured for both: the first `pulumi up`, a no-change `pulumi preview`, and a rotation day's up
 * (package: the shared clock, IAM's and `KEYROTATION_NOW` with the simulation opt-in, moved 31
 * days on, past the default 30-day rotation; floor: one input of every custom resource changed,
 * so that each one updates); the state per user (`pulumi stack export` bytes / N, and compact
 * JSON bytes per resource type per user, with the serialized provider closures' share); and the
 * IAM calls per user by action, counted by a forwarding proxy in front of the emulator, per phase;
 * calls signed with a key other than the deployer's (the new key's verification) are listed
 * apart. `up` runs with `--skip-preview` (the preview is measured on its own) and the CLI's
 * default parallelism. Checks that each phase did what it is meant to measure (no-change
 * previews plan no change, every user has two keys after the rotation, every floor resource
 * updated, the floor made no IAM call) fail the run when they do not hold.
 *
 * `--rotation-max-users N` runs the rotation day only for sizes up to N (the longest phase; at
 * 1,000 users each of its two ups takes tens of minutes here). `--skip-checkpoints` runs every
 * command of both stacks with `PULUMI_SKIP_CHECKPOINTS=true` (the engine saves the state once at
 * the end instead of after every step): not how stacks are deployed, but it shows how much of the
 * time is the engine's own checkpointing. The report's header says when it was set.
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
}

let activeStack: TestStack | undefined;
/** The signal that interrupted the run: the run stops at its next step and cleans up. */
let interrupted: string | undefined;

function checkInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

async function timed(stack: TestStack, what: string, run: () => Promise<RunResult>): Promise<PhaseResult> {
  const started = performance.now();
  checkInterrupted();
  activeStack = stack;
  const result = await run();
  activeStack = undefined;
  checkInterrupted();
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}:\n${result.visible.slice(-6000)}`);
  }
  const summary = result.events.find((e) => e.summaryEvent)?.summaryEvent;
  const changes = summary?.resourceChanges ?? {};
  process.stderr.write(`  ${what}: ${seconds} s ${JSON.stringify(changes)}\n`);
  return { seconds, changes };
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

interface SizeResult {
  users: number;
  /** The phases run (the rotation day is left out above `--rotation-max-users`). */
  phases: Phase[];
  times: Partial<Record<Phase, { package: number; floor: number }>>;
  changes: Partial<Record<Phase, { package: Record<string, number>; floor: Record<string, number> }>>;
  /** Per user, after the first up: resources of each package type, and what the floor mirrors. */
  shapePerUser: Record<string, number>;
  /** How many users have each subtree (one entry when all users look alike). */
  distinctShapes: Record<string, number>;
  state: Partial<
    Record<"after first up" | "after rotation up", { package: StateFigures; floor: StateFigures }>
  >;
  /** IAM calls per user (calls / N), by phase and `service:Action`. */
  callsPerUser: Partial<
    Record<Phase, { deployer: Record<string, number>; otherKey: Record<string, number> }>
  >;
  floorCalls: number;
  checks: [string, boolean][];
}

const perUser = (o: Record<string, number>, n: number) =>
  Object.fromEntries(
    Object.entries(o)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, Math.round((v / n) * 100) / 100]),
  );

async function benchSize(
  n: number,
  tarball: string,
  proxy: CountingProxy,
  t0: Date,
  stacks: TestStack[],
  options: { rotation: boolean; skipCheckpoints: boolean },
): Promise<SizeResult> {
  process.stderr.write(`\n${n} users\n`);
  await resetEmulator();
  await setClock(t0);
  // The emulator's clock runs on from t0 while KEYROTATION_NOW stays put: before each phase the
  // simulated clock is moved to where IAM's is now, as a real clock would be (at 1,000 users the
  // first up takes long enough for IAM's CreateDates to pass a frozen clock, which the schedule
  // refuses as a clock behind IAM's).
  const clockStarted = Date.now();
  const syncClock = (daysOn = 0) =>
    setClock(new Date(addDays(t0, daysOn).getTime() + (Date.now() - clockStarted)));
  const users = Array.from({ length: n }, (_, i) => `bench-${n}-${String(i).padStart(5, "0")}`);
  const admin = adminIam();
  await mapLimit(users, 8, (u) => admin.send(new iam.CreateUserCommand({ UserName: u })));

  const pkgProject = new ConsumerProject();
  pkgProject.install(tarball);
  fs.writeFileSync(path.join(pkgProject.dir, "index.ts"), PACKAGE_PROGRAM);
  fs.writeFileSync(path.join(pkgProject.dir, "bench.json"), JSON.stringify({ users }));
  const floorProject = new ConsumerProject();
  fs.writeFileSync(path.join(floorProject.dir, "index.ts"), FLOOR_PROGRAM);

  const env = {
    ...emulatorEnv(proxy.endpoint),
    ...(options.skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
  };
  const pkg = new TestStack({ projectDir: pkgProject.dir, stackName: "bench", env });
  stacks.push(pkg);
  const floor = new TestStack({ projectDir: floorProject.dir, stackName: "floor", env });
  stacks.push(floor);
  await pkg.init();
  await floor.init();

  const times: SizeResult["times"] = {};
  const changes: SizeResult["changes"] = {};
  const calls: SizeResult["callsPerUser"] = {};
  let floorCalls = 0;
  const record = (phase: Phase, p: PhaseResult, f: PhaseResult, tally: CallTally) => {
    times[phase] = { package: p.seconds, floor: f.seconds };
    changes[phase] = { package: p.changes, floor: f.changes };
    calls[phase] = { deployer: perUser(tally.deployer, n), otherKey: perUser(tally.otherKey, n) };
  };
  const floorRun = async (what: string, run: () => Promise<RunResult>) => {
    proxy.take();
    const r = await timed(floor, what, run);
    const t = proxy.take();
    floorCalls += [...Object.values(t.deployer), ...Object.values(t.otherKey)].reduce((a, b) => a + b, 0);
    return r;
  };

  // First up: the package stack first, its state gives the floor's shape.
  proxy.take();
  const pUp = await timed(pkg, "package: first up", () => pkg.up());
  const upCalls = proxy.take();
  const pState1 = await stateFigures(pkg, n, `${n}-package-first-up`);
  const { shape, distinct } = userShapes(pState1.raw);
  const writeFloor = (generation: number) =>
    fs.writeFileSync(path.join(floorProject.dir, "bench.json"), JSON.stringify({ users, shape, generation }));
  writeFloor(1);
  const fUp = await floorRun("floor: first up", () => floor.up());
  record("first up", pUp, fUp, upCalls);
  const fState1 = await stateFigures(floor, n, `${n}-floor-first-up`);

  // No-change preview, the clock where IAM's is.
  await syncClock();
  proxy.take();
  const pPre = await timed(pkg, "package: no-change preview", () => pkg.preview());
  const preCalls = proxy.take();
  const fPre = await floorRun("floor: no-change preview", () => floor.preview());
  record("no-change preview", pPre, fPre, preCalls);

  // A rotation day: 31 days on (past the default 30-day rotation); the floor changes every input.
  let rotation:
    { pRot: PhaseResult; fRot: PhaseResult; pState2: StateFigures; fState2: StateFigures } | undefined;
  if (options.rotation) {
    await syncClock(31);
    proxy.take();
    const pRot = await timed(pkg, "package: rotation up", () => pkg.up());
    const rotCalls = proxy.take();
    writeFloor(2);
    const fRot = await floorRun("floor: rotation up (every input changed)", () => floor.up());
    record("rotation up", pRot, fRot, rotCalls);
    const pState2 = await stateFigures(pkg, n, `${n}-package-rotation-up`);
    const fState2 = await stateFigures(floor, n, `${n}-floor-rotation-up`);
    rotation = { pRot, fRot, pState2, fState2 };
  }

  // Checks: the runs did what they are meant to measure.
  const shapeCounts = countTypes(shape);
  const floorCustomPerUser = Object.entries(shapeCounts)
    .filter(([t]) => t.startsWith("pulumi-nodejs:dynamic/"))
    .reduce((a, [, c]) => a + c, 0);
  const noChange = (c: Record<string, number>) => Object.keys(c).every((k) => k === "same");
  const keyCounts = new Map<number, number>();
  await mapLimit(users, 8, async (u) => {
    const out = await admin.send(new iam.ListAccessKeysCommand({ UserName: u }));
    const count = (out.AccessKeyMetadata ?? []).length;
    keyCounts.set(count, (keyCounts.get(count) ?? 0) + 1);
  });
  admin.destroy();
  const expectKeys = rotation ? 2 : 1;
  const withExpected = keyCounts.get(expectKeys) ?? 0;
  const checks: [string, boolean][] = [
    [`every user's subtree alike (${distinct.size} distinct)`, distinct.size === 1],
    ["package preview plans no change", noChange(pPre.changes)],
    ["floor preview plans no change", noChange(fPre.changes)],
    [
      `${rotation ? "rotation up" : "first up"}: every user has ${expectKeys} key(s) in IAM (${withExpected}/${n})`,
      withExpected === n,
    ],
    ...(rotation
      ? ([
          [
            `floor rotation up updated every custom resource (${rotation.fRot.changes.update ?? 0}/${n * floorCustomPerUser})`,
            (rotation.fRot.changes.update ?? 0) === n * floorCustomPerUser,
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
  return {
    users: n,
    phases: PHASES.filter((p) => times[p] !== undefined),
    times,
    changes,
    shapePerUser: countTypes(shape),
    distinctShapes: Object.fromEntries(distinct),
    state: {
      "after first up": { package: strip(pState1), floor: strip(fState1) },
      ...(rotation
        ? { "after rotation up": { package: strip(rotation.pState2), floor: strip(rotation.fState2) } }
        : {}),
    },
    callsPerUser: calls,
    floorCalls,
    checks,
  };
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

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}x` : "-");
const num = (x: number | undefined) => (x === undefined ? "-" : String(Math.round(x * 100) / 100));

function report(r: SizeResult): string[] {
  const out: string[] = [];
  out.push(``, `## ${r.users} users`, ``);
  const phases = r.phases;
  const rows: (string | number)[][] = phases.map((p) => {
    const t = r.times[p] as { package: number; floor: number };
    return [`${p} (s)`, t.package.toFixed(1), t.floor.toFixed(1), ratio(t.package, t.floor)];
  });
  const states = (["after first up", "after rotation up"] as const).filter((w) => r.state[w] !== undefined);
  for (const when of states) {
    const s = r.state[when] as { package: StateFigures; floor: StateFigures };
    rows.push([
      `state ${when} (stored, compact JSON bytes/user)`,
      s.package.storedBytesPerUser,
      s.floor.storedBytesPerUser,
      ratio(s.package.storedBytesPerUser, s.floor.storedBytesPerUser),
    ]);
    rows.push([
      `state ${when} (export bytes/user)`,
      s.package.exportBytesPerUser,
      s.floor.exportBytesPerUser,
      ratio(s.package.exportBytesPerUser, s.floor.exportBytesPerUser),
    ]);
  }
  for (const p of phases) {
    const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const c = r.callsPerUser[p] as { deployer: Record<string, number>; otherKey: Record<string, number> };
    rows.push([
      `IAM calls/user, ${p}`,
      num(total(c.deployer) + total(c.otherKey)),
      num(r.floorCalls / r.users),
      "-",
    ]);
  }
  out.push(...table(["phase", "package", "floor", "ratio"], rows));

  out.push(``, `Engine changes per phase (package / floor):`);
  for (const p of phases) {
    out.push(`- ${p}: ${JSON.stringify(r.changes[p]?.package)} / ${JSON.stringify(r.changes[p]?.floor)}`);
  }
  out.push(``, `Resources per user (package type -> floor mirror), after the first up:`);
  for (const [t, c] of Object.entries(r.shapePerUser)) out.push(`- ${t}: ${c}`);

  for (const when of states) {
    const s = r.state[when] as { package: StateFigures; floor: StateFigures };
    out.push(
      ``,
      `State per user by resource type, ${when} (compact JSON bytes per user, resources per user in parentheses; __provider is the serialized provider closure, inputs and outputs):`,
    );
    // Each package type on one row with its floor mirror (shared types, Stack and provider, as is).
    const floorTypes = new Set(Object.keys(s.floor.bytesPerTypePerUser));
    const rows2: (string | number)[][] = [];
    const cell = (f: StateFigures, t?: string) =>
      t === undefined
        ? ["-", "-"]
        : [
            `${num(f.bytesPerTypePerUser[t])} (${num(f.countPerTypePerUser[t])})`,
            num(f.providerBytesPerTypePerUser[t] ?? 0),
          ];
    for (const t of Object.keys(s.package.bytesPerTypePerUser).sort()) {
      const mirror = [t, floorToken(t, true), floorToken(t, false)].find((m) => floorTypes.has(m));
      if (mirror) floorTypes.delete(mirror);
      const label = mirror && mirror !== t ? `${t} / ${mirror.split(":").pop()}` : t;
      rows2.push([label, ...cell(s.package, t), ...cell(s.floor, mirror)]);
    }
    for (const t of [...floorTypes].sort()) rows2.push([t, ...cell(s.package), ...cell(s.floor, t)]);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    rows2.push([
      "all resources",
      num(sum(s.package.bytesPerTypePerUser)),
      num(sum(s.package.providerBytesPerTypePerUser)),
      num(sum(s.floor.bytesPerTypePerUser)),
      num(sum(s.floor.providerBytesPerTypePerUser)),
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
  }

  out.push(``, `IAM calls per user by action (calls / ${r.users}), signed with the deployer's key:`);
  const actions = new Set(phases.flatMap((p) => Object.keys(r.callsPerUser[p]?.deployer ?? {})));
  out.push(
    ...table(
      ["action", ...phases],
      [...actions].sort().map((a) => [a, ...phases.map((p) => num(r.callsPerUser[p]?.deployer[a] ?? 0))]),
    ),
  );
  const verify = new Set(phases.flatMap((p) => Object.keys(r.callsPerUser[p]?.otherKey ?? {})));
  out.push(``, `Verification calls per user (signed with a key the deployment created):`);
  if (verify.size === 0) out.push(`(none)`);
  else
    out.push(
      ...table(
        ["action", ...phases],
        [...verify].sort().map((a) => [a, ...phases.map((p) => num(r.callsPerUser[p]?.otherKey[a] ?? 0))]),
      ),
    );
  out.push(``);
  for (const [name, ok] of r.checks) out.push(`${ok ? "PASS" : "FAIL"} ${name}`);
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "100" },
      json: { type: "string" },
      ref: { type: "string" },
      "keep-state": { type: "string" },
      "rotation-max-users": { type: "string" },
      "skip-checkpoints": { type: "boolean", default: false },
    },
  });
  const rotationMax =
    values["rotation-max-users"] === undefined ? Infinity : Number(values["rotation-max-users"]);
  if (!(rotationMax >= 0)) throw new Error(`--rotation-max-users: ${values["rotation-max-users"]}`);
  const skipCheckpoints = values["skip-checkpoints"] === true;
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
  const started = Date.now();
  let packed = "";
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
    process.stderr.write(`Starting the IAM emulator\n`);
    await startEmulator();
    checkInterrupted();
    proxy = new CountingProxy(emulator().endpoint);
    await proxy.start();
    let t0 = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
    for (const n of sizes) {
      const r = await benchSize(n, tarball, proxy, t0, stacks, {
        rotation: n <= rotationMax,
        skipCheckpoints,
      });
      results.push(r);
      // The clock only moves forward, from one size to the next too.
      t0 = addDays(t0, 32);
      for (const s of stacks.splice(0)) await s.remove();
    }
  } finally {
    await cleanUp();
  }

  const load = os.loadavg().map((l) => l.toFixed(2));
  const out: string[] = [];
  out.push(
    `# Stack benchmark: RotatingAccessKey vs a floor of minimal dynamic resources`,
    ``,
    `Node ${process.version}, Pulumi CLI (scripts/pulumi-cli.sh), moto on loopback; ${os.cpus().length} CPUs, ` +
      `load average at the end ${load.join(" ")}; total ${Math.round((Date.now() - started) / 1000)} s. ` +
      `Wall-clock seconds of each CLI command (up with --skip-preview, default parallelism)` +
      (skipCheckpoints
        ? `; every command with PULUMI_SKIP_CHECKPOINTS=true (state saved once at the end, not after each step).`
        : `.`),
    `Package packed from the ${packed}.`,
  );
  for (const r of results) out.push(...report(r));
  process.stdout.write(out.join("\n") + "\n");
  if (values.json) {
    const doc = {
      node: process.version,
      packed,
      cpus: os.cpus().length,
      loadAverageAtEnd: os.loadavg(),
      totalSeconds: Math.round((Date.now() - started) / 1000),
      skipCheckpoints,
      results,
    };
    fs.writeFileSync(values.json, JSON.stringify(doc, null, 2) + "\n");
    process.stderr.write(`Results written to ${values.json}\n`);
  }
  if (results.some((r) => r.checks.some(([, ok]) => !ok))) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench-stack failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = interrupted ? 130 : 1;
});
