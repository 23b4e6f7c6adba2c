/**
 * `npm run bench:audit [-- --users N --concurrency C --seed-concurrency S --sweep 1,4,32 --latency-ms L]`
 *
 * Starts its own IAM emulator (moto, with the shared clock), seeds N users (default 5,000) with
 * 0, 1 or 2 keys aged 0 to 400 days (some Inactive, some used), then times in one run:
 *   1. the compliance rule's naive loop: ListUsers, then ListAccessKeys per user, sequentially;
 *   2. the audit command in live mode (bounded concurrency; GetAccessKeyLastUsed for Inactive
 *      keys only, the default), and with `--last-used all` (GetAccessKeyLastUsed for every key);
 *   3. the audit command in report mode, cold (report absent: generate, poll, read) and warm.
 * It prints times, ratios, IAM calls and the CPU time of this process and of the emulator, and
 * fails unless all of them find the same keys to rotate, live and report agree on every key's
 * verdict and reason, live and `--last-used all` agree on everything but the Active keys' last
 * use, and the counts match what was seeded.
 *
 * `npm run bench:audit -- --accounts N [--users-per-account U --parallel P --latency-ms L --moto-scan]`
 *
 * The organization audit instead: an AWS Organization of N member accounts (default users per
 * account 100, with the same key mix), audited by `auditOrganization` with `--parallel P`
 * (default 4) against the same code with one account after another (parallel 1), in one run,
 * with L ms (default 50 in this mode) added before every IAM call. It fails unless both find the
 * same keys, account by account, and the counts match what was seeded.
 *
 * The emulator answers from loopback in a few milliseconds and is CPU-bound (one Python process
 * sharing the machine with this one), so concurrency buys little there. `--latency-ms L` adds L ms
 * before every timed IAM call, a stand-in for the network round trip to the real IAM endpoint;
 * the output says so when it is used.
 */
import * as iam from "@aws-sdk/client-iam";
import * as fs from "fs";
import * as os from "os";
import { parseArgs } from "util";
import * as org from "@aws-sdk/client-organizations";
import { AuditResult, runAudit } from "../audit/audit";
import { instrumentClient } from "../audit/client";
import { auditOrganization, OrganizationAuditResult } from "../audit/organization";
import { countCalls } from "../test/support/countCalls";
import { isoSeconds } from "../audit/verdict";
import { createIamClient, keyAgeDays, mapLimit, paginateUserNames } from "../core/iam";
import {
  accountIam,
  adminIam,
  emulator,
  resetEmulator,
  setClock,
  startEmulator,
  stopEmulator,
} from "../test/support/moto";
import { seededRandom } from "../test/support/random";

const DAY = 86_400_000;
const MAX_AGE = 90;
const UNUSED = 30;

interface PlannedKey {
  user: string;
  /** Day (from T0) the key is created. */
  createDay: number;
  inactive: boolean;
  /** Day the key is used, if it is. */
  useDay?: number;
  id?: string;
}

function plan(users: number, seedOffset = 0): { names: string[]; keys: PlannedKey[] } {
  const rnd = seededRandom(20270601 + seedOffset);
  const names: string[] = [];
  const keys: PlannedKey[] = [];
  for (let i = 0; i < users; i++) {
    const user = `bench-${String(i).padStart(5, "0")}`;
    names.push(user);
    const r = rnd();
    const count = r < 0.2 ? 0 : r < 0.7 ? 1 : 2;
    const days = new Set<number>();
    while (days.size < count) days.add(Math.floor(rnd() * 401));
    const sorted = [...days].sort((a, b) => a - b); // creation days, oldest first
    sorted.forEach((createDay, k) => {
      // With two keys the older one is Inactive 60% of the time; a single key 15% of the time.
      const inactive = count === 2 && k === 0 ? rnd() < 0.6 : rnd() < 0.15;
      const used = rnd() < 0.4;
      const useDay = used ? createDay + Math.floor(rnd() * (401 - createDay)) : undefined;
      keys.push({ user, createDay, inactive, ...(useDay !== undefined ? { useDay } : {}) });
    });
  }
  return { names, keys };
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

async function seed(
  users: number,
  concurrency: number,
  t0: Date,
  admin: iam.IAMClient = adminIam(),
  seedOffset = 0,
): Promise<PlannedKey[]> {
  const { names, keys } = plan(users, seedOffset);
  const at = (day: number) => new Date(t0.getTime() + day * DAY);
  let started = performance.now();
  await setClock(t0);
  await mapLimit(names, concurrency, (name) => admin.send(new iam.CreateUserCommand({ UserName: name })));
  if (seedOffset === 0) process.stderr.write(`  ${names.length} users created in ${ms(started)} ms\n`);
  started = performance.now();
  const byDay = new Map<number, { create: PlannedKey[]; use: PlannedKey[] }>();
  const day = (d: number) => byDay.get(d) ?? byDay.set(d, { create: [], use: [] }).get(d)!;
  for (const key of keys) {
    day(key.createDay).create.push(key);
    if (key.useDay !== undefined) day(key.useDay).use.push(key);
  }
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
    await setClock(at(d));
    const { create, use } = day(d);
    await mapLimit(create, concurrency, async (key) => {
      const out = await admin.send(new iam.CreateAccessKeyCommand({ UserName: key.user }));
      key.id = out.AccessKey?.AccessKeyId;
    });
    await mapLimit(use, concurrency, async (key) => {
      // moto records a use of any key that signs a request to it.
      const client = new iam.IAMClient({
        region: "us-east-1",
        endpoint: emulator().endpoint,
        credentials: { accessKeyId: key.id ?? "", secretAccessKey: "unchecked-by-moto-without-auth" },
      });
      await client.send(new iam.GetUserCommand({}));
      client.destroy();
    });
  }
  const inactive = keys.filter((k) => k.inactive);
  await mapLimit(inactive, concurrency, (key) =>
    admin.send(
      new iam.UpdateAccessKeyCommand({ UserName: key.user, AccessKeyId: key.id, Status: "Inactive" }),
    ),
  );
  if (seedOffset === 0)
    process.stderr.write(
      `  ${keys.length} keys created (${keys.filter((k) => k.useDay !== undefined).length} used, ` +
        `${inactive.length} deactivated) over ${byDay.size} clock days in ${ms(started)} ms\n`,
    );
  admin.destroy();
  return keys;
}

/** The compliance rule's loop: list users, then each user's keys, one call at a time. */
async function naiveLoop(client: iam.IAMClient, now: Date): Promise<string[]> {
  const rotate: string[] = [];
  const names: string[] = [];
  for await (const name of paginateUserNames(client, { pageSize: 100 })) names.push(name);
  for (const name of names) {
    const out = await client.send(new iam.ListAccessKeysCommand({ UserName: name }));
    for (const key of out.AccessKeyMetadata ?? []) {
      if (
        key.Status === "Active" &&
        key.CreateDate &&
        keyAgeDays(isoSeconds(key.CreateDate), now) > MAX_AGE
      ) {
        rotate.push(`${name} ${isoSeconds(key.CreateDate)}`);
      }
    }
  }
  return rotate.sort();
}

const rotateSet = (r: AuditResult) =>
  r.keys
    .filter((k) => k.verdict === "rotate")
    .map((k) => `${k.userName} ${k.createDate}`)
    .sort();
const verdicts = (r: AuditResult) =>
  r.keys.map((k) => `${k.userName} ${k.createDate} ${k.status} ${k.verdict} ${k.reason}`).sort();
/** Every field of every finding, except the last use of Active keys (which live mode does not read by default). */
const findings = (r: AuditResult) =>
  r.keys.map((k) =>
    JSON.stringify({
      ...k,
      ...(k.status === "Active"
        ? {
            lastUsedDate: undefined,
            lastUsedService: undefined,
            lastUsedRegion: undefined,
            lastUsedRead: undefined,
          }
        : {}),
    }),
  );

interface Timed {
  name: string;
  ms: number;
  calls: number;
  byAction: Record<string, number>;
  /** Mean time per call of each action (the emulator's cost per call, under this run's concurrency). */
  meanMs: Record<string, number>;
  /** CPU time of this process (the SDK) and of the emulator during the run. */
  clientCpuMs: number;
  emulatorCpuMs: number;
}

let latencyMs = 0;

/** CPU seconds the emulator process has used so far (Linux /proc; 0 elsewhere). */
function emulatorCpuMs(): number {
  try {
    const pid = emulator().process.pid;
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return (ticks * 1000) / 100;
  } catch {
    return 0;
  }
}

async function timed<T>(
  name: string,
  fn: (client: iam.IAMClient) => Promise<T>,
): Promise<{ t: Timed; value: T }> {
  const client = createIamClient({ retryMode: "adaptive" });
  const counter = countCalls(client);
  withLatency(client, latencyMs);
  const spent: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? "unknown").replace(/Command$/, "");
      const callStarted = performance.now();
      try {
        return await next(args);
      } finally {
        spent[action] = (spent[action] ?? 0) + (performance.now() - callStarted);
      }
    },
    { step: "initialize", name: "benchTimePerAction" },
  );
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const emu0 = emulatorCpuMs();
  const value = await fn(client);
  const cpu = process.cpuUsage(cpu0);
  const clientCpuMs = Math.round((cpu.user + cpu.system) / 1000);
  const emulatorCpu = Math.round(emulatorCpuMs() - emu0);
  const byAction = counter.byAction();
  const meanMs = Object.fromEntries(
    Object.entries(spent).map(([action, total]) => [
      action,
      Math.round((total / byAction[action]) * 10) / 10,
    ]),
  );
  const t = {
    name,
    ms: ms(started),
    calls: counter.total(),
    byAction,
    meanMs,
    clientCpuMs,
    emulatorCpuMs: emulatorCpu,
  };
  client.destroy();
  process.stderr.write(
    `  ${name}: ${t.ms} ms, ${t.calls} IAM calls, CPU: client ${clientCpuMs} ms, emulator ${emulatorCpu} ms\n`,
  );
  return { t, value };
}

/** Adds `latency` ms before every request of the client (a stand-in for the network round trip). */
function withLatency(client: iam.IAMClient, latency: number): iam.IAMClient {
  if (latency > 0) {
    client.middlewareStack.add(
      (next) => async (args) => {
        await new Promise((resolve) => setTimeout(resolve, latency));
        return next(args);
      },
      { step: "finalizeRequest", name: "benchSimulatedLatency" },
    );
  }
  return client;
}

/** `--accounts N`: the organization audit at --parallel P against one account after another. */
async function benchAccounts(values: Record<string, string | boolean | undefined>): Promise<void> {
  const accounts = Number(values.accounts);
  const perAccount = Number(values["users-per-account"] ?? "100");
  const parallel = Number(values.parallel ?? "4");
  const latency = Number(values["latency-ms"] ?? "50");
  const seedConcurrency = Number(values["seed-concurrency"]);
  // moto's GetAccessKeyLastUsed scans every key of every account; the launcher's index keeps that
  // scan (milliseconds of the emulator's CPU per call at 5,000 keys) out of the measurement.
  const indexed = values["moto-scan"] === undefined;
  if (indexed) process.env.KEYROTATION_MOTO_INDEXED_LAST_USED = "1";
  process.stderr.write(`Starting the IAM emulator\n`);
  await startEmulator();
  try {
    await resetEmulator();
    const t0 = new Date(Math.ceil(Date.now() / DAY) * DAY + 3_600_000);
    const now = new Date(t0.getTime() + 400.5 * DAY);
    const orgs = new org.OrganizationsClient({ region: "us-east-1", endpoint: emulator().endpoint });
    await orgs.send(new org.CreateOrganizationCommand({ FeatureSet: "ALL" }));
    const ids: string[] = [];
    for (let i = 0; i < accounts; i++) {
      const out = await orgs.send(
        new org.CreateAccountCommand({ AccountName: `bench-${i}`, Email: `bench-${i}@example.com` }),
      );
      ids.push(out.CreateAccountStatus?.AccountId ?? "");
    }
    orgs.destroy();
    process.stderr.write(
      `Seeding ${accounts} accounts x ${perAccount} users (seed concurrency ${seedConcurrency})\n`,
    );
    const seedStarted = performance.now();
    const seeded = new Map<string, PlannedKey[]>();
    for (const [i, id] of ids.entries()) {
      const client = await accountIam(id, "OrganizationAccountAccessRole");
      seeded.set(id, await seed(perAccount, seedConcurrency, t0, client, i + 1));
      client.destroy();
      process.stderr.write(`\r  ${i + 1}/${accounts} accounts seeded`);
    }
    process.stderr.write(`\n`);
    const seedMs = ms(seedStarted);
    await setClock(now);
    const allKeys = [...seeded.values()].flat();
    const expectedRotate = allKeys.filter((k) => !k.inactive && 400.5 - k.createDay > MAX_AGE).length;

    const rows: {
      name: string;
      ms: number;
      calls: number;
      emulatorCpuMs: number;
      result: OrganizationAuditResult;
    }[] = [];
    for (const [name, p] of [
      [`audit --organization --parallel ${parallel}`, parallel],
      ["the same code, one account after another (--parallel 1)", 1],
    ] as const) {
      let calls = 0;
      const emu0 = emulatorCpuMs();
      const started = performance.now();
      const result = await auditOrganization({
        accounts: ids.map((id, i) => ({ id, name: `bench-${i}` })),
        accountsFrom: { source: "organizations", parentId: null, file: null },
        parallel: p,
        source: "live",
        maxAgeDays: MAX_AGE,
        unusedDays: UNUSED,
        now,
        createClient: (o) => {
          const client = instrumentClient(
            createIamClient({
              region: o.region,
              maxAttempts: o.maxAttempts,
              retryMode: "adaptive",
              credentials: o.credentials,
            }),
          );
          client.middlewareStack.add(
            (next) => async (args) => {
              calls += 1;
              return next(args);
            },
            { step: "initialize", name: "benchCountCalls" },
          );
          return withLatency(client, latency);
        },
      });
      const row = { name, ms: ms(started), calls, emulatorCpuMs: Math.round(emulatorCpuMs() - emu0), result };
      rows.push(row);
      process.stderr.write(
        `  ${name}: ${row.ms} ms, ${calls} IAM calls, emulator CPU ${row.emulatorCpuMs} ms\n`,
      );
    }
    const [fast, slow] = rows;
    const view = (r: OrganizationAuditResult) =>
      r.keys
        .map((k) => `${k.accountId} ${k.userName} ${k.accessKeyId} ${k.status} ${k.verdict} ${k.reason}`)
        .sort();
    const a = view(fast.result);
    const b = view(slow.result);
    const checks: [string, boolean][] = [
      [
        "every account audited, both runs",
        fast.result.summary.audited === accounts && slow.result.summary.audited === accounts,
      ],
      [
        "parallel = one after another (every key of every account)",
        a.length === b.length && a.every((x, i) => x === b[i]),
      ],
      ["key count = seeded", fast.result.summary.keys === allKeys.length],
      ["rotate count = seeded", fast.result.summary.rotate === expectedRotate],
    ];
    const out: string[] = [];
    out.push(``);
    out.push(
      `Organization audit benchmark: ${accounts} accounts x ${perAccount} users = ${fast.result.summary.users} users, ` +
        `${allKeys.length} keys, moto 5.2.1 on ${os.cpus().length} CPUs`,
    );
    out.push(
      `Seeding took ${(seedMs / 1000).toFixed(1)} s. Simulated network latency: ${latency} ms added before every IAM call.`,
    );
    out.push(
      indexed
        ? "The emulator finds GetAccessKeyLastUsed's key through an index (test/support/moto_clock_server.py); --moto-scan keeps moto's scan of every key."
        : "--moto-scan: moto's GetAccessKeyLastUsed scans every key of every account.",
    );
    out.push(
      `Findings: ${fast.result.summary.rotate} keys to rotate, ${fast.result.summary.delete} to delete, ${fast.result.summary.ok} ok.`,
    );
    out.push(``);
    out.push(`| run | time | speed-up | IAM calls | emulator CPU s |`);
    out.push(`| --- | ---: | ---: | ---: | ---: |`);
    for (const r of rows) {
      out.push(
        `| ${r.name} | ${(r.ms / 1000).toFixed(2)} s | ${(slow.ms / r.ms).toFixed(1)}x | ${r.calls} | ${(r.emulatorCpuMs / 1000).toFixed(1)} |`,
      );
    }
    out.push(``);
    for (const [name, ok] of checks) out.push(`${ok ? "PASS" : "FAIL"} ${name}`);
    process.stdout.write(out.join("\n") + "\n");
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await stopEmulator();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      accounts: { type: "string" },
      "users-per-account": { type: "string" },
      parallel: { type: "string" },
      "moto-scan": { type: "boolean" },
      users: { type: "string", default: "5000" },
      concurrency: { type: "string", default: "16" },
      "seed-concurrency": { type: "string", default: "8" },
      sweep: { type: "string" },
      "latency-ms": { type: "string" },
    },
  });
  if (values.accounts !== undefined) return benchAccounts(values);
  latencyMs = Number(values["latency-ms"] ?? "0");
  const users = Number(values.users);
  const concurrency = Number(values.concurrency);
  const seedConcurrency = Number(values["seed-concurrency"]);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  process.stderr.write(`Starting the IAM emulator\n`);
  await startEmulator();
  try {
    await resetEmulator();
    const t0 = new Date(Math.ceil(Date.now() / DAY) * DAY + 3_600_000);
    const now = new Date(t0.getTime() + 400.5 * DAY);
    process.stderr.write(`Seeding ${users} users (seed concurrency ${seedConcurrency})\n`);
    const seedStarted = performance.now();
    const keys = await seed(users, seedConcurrency, t0);
    const seedMs = ms(seedStarted);
    await setClock(now);

    const expectedRotate = keys.filter((k) => !k.inactive && 400.5 - k.createDay > MAX_AGE).length;
    const expectedDelete = keys.filter(
      (k) => k.inactive && 400.5 - (k.useDay ?? k.createDay) > UNUSED,
    ).length;

    process.stderr.write(`Timing (audit clock ${now.toISOString()})\n`);
    const rules = { maxAgeDays: MAX_AGE, unusedDays: UNUSED, now };
    const naive = await timed("naive sequential loop", (c) => naiveLoop(c, now));
    const live = await timed(`audit --source live (concurrency ${concurrency})`, (c) =>
      runAudit(c, { ...rules, source: "live", concurrency }),
    );
    const liveAll = await timed(`audit --source live --last-used all (concurrency ${concurrency})`, (c) =>
      runAudit(c, { ...rules, source: "live", concurrency, lastUse: "all" }),
    );
    const cold = await timed("audit --source report (cold: generate, poll, read)", (c) =>
      runAudit(c, { ...rules, source: "report" }),
    );
    const warm = await timed("audit --source report (warm: report present)", (c) =>
      runAudit(c, { ...rules, source: "report" }),
    );
    const sweep: Timed[] = [];
    for (const c of (values.sweep ?? "").split(",").filter(Boolean).map(Number)) {
      sweep.push(
        (
          await timed(`audit --source live (concurrency ${c})`, (cl) =>
            runAudit(cl, { ...rules, source: "live", concurrency: c }),
          )
        ).t,
      );
    }

    // The findings must be identical.
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const checks: [string, boolean][] = [
      ["naive = live (keys to rotate)", same(naive.value, rotateSet(live.value))],
      ["naive = report (keys to rotate)", same(naive.value, rotateSet(cold.value))],
      ["naive = live --last-used all (keys to rotate)", same(naive.value, rotateSet(liveAll.value))],
      ["live = report (every key's verdict and reason)", same(verdicts(live.value), verdicts(cold.value))],
      [
        "live = live --last-used all (every field but the unread last uses of Active keys)",
        same(findings(live.value), findings(liveAll.value)),
      ],
      [
        "live read the last use of every Inactive key and of no Active key",
        live.value.keys.every((k) => k.lastUsedRead === (k.status === "Inactive")) &&
          liveAll.value.keys.every((k) => k.lastUsedRead),
      ],
      ["report cold = warm", same(verdicts(cold.value), verdicts(warm.value))],
      ["rotate count = seeded", naive.value.length === expectedRotate],
      ["delete count = seeded", live.value.summary.delete === expectedDelete],
      [
        "key count = seeded",
        live.value.summary.keys === keys.length && cold.value.summary.keys === keys.length,
      ],
    ];

    const rows = [naive.t, live.t, liveAll.t, cold.t, warm.t, ...sweep];
    const out: string[] = [];
    out.push(``);
    out.push(`Audit benchmark: ${users} users, ${keys.length} keys, moto 5.2.1 on ${os.cpus().length} CPUs`);
    out.push(`Seeding took ${(seedMs / 1000).toFixed(1)} s.`);
    if (latencyMs > 0)
      out.push(`Simulated network latency: ${latencyMs} ms added before every timed IAM call.`);
    out.push(
      `Findings: ${naive.value.length} keys to rotate, ${live.value.summary.delete} to delete, ` +
        `${live.value.summary.ok} ok (of ${live.value.summary.keys}).`,
    );
    out.push(``);
    out.push(`| run | time | speed-up vs naive | CPU s: client / emulator | IAM calls (mean ms per call) |`);
    out.push(`| --- | ---: | ---: | ---: | --- |`);
    for (const r of rows) {
      const calls = Object.entries(r.byAction)
        .map(([a, n]) => `${a} ${n} (${r.meanMs[a]} ms)`)
        .join(", ");
      out.push(
        `| ${r.name} | ${(r.ms / 1000).toFixed(2)} s | ${(naive.t.ms / r.ms).toFixed(1)}x | ` +
          `${(r.clientCpuMs / 1000).toFixed(1)} / ${(r.emulatorCpuMs / 1000).toFixed(1)} | ${r.calls}: ${calls} |`,
      );
    }
    out.push(``);
    for (const [name, ok] of checks) out.push(`${ok ? "PASS" : "FAIL"} ${name}`);
    process.stdout.write(out.join("\n") + "\n");
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await stopEmulator();
  }
}

main().catch((err) => {
  process.stderr.write(`bench-audit failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
