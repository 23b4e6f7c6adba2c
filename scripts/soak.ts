/**
 * `npm run soak`: a seeded, randomized soak of the rotation under faults. A consumer stack (the
 * packed tarball) deploys through the fault proxy over simulated days with random gaps; a random
 * share of deploys get one random fault (a lost answer, throttling, a 503, a reset, or a SIGKILL
 * of the whole deployment before or after a random IAM call took effect). After a failed deploy
 * the README's recovery runs (`pulumi cancel --yes`, then `pulumi up`). After every deploy the
 * invariants are checked (test/support/invariants.ts), with the key the application used before
 * the deploy as the working key. A run reproduces from its printed seed.
 *
 *   npm run soak -- [--seed N] [--days 400] [--fault-share 0.5] [--max-gap 12]
 */
import { parseArgs } from "util";
import { addDays } from "../core/clock";
import { cleanUpPacks, ConsumerProject, packCurrent } from "../test/support/consumer";
import { Fault, FaultProxy, FaultRule } from "../test/support/faultProxy";
import { checkInvariants, CurrentKey } from "../test/support/invariants";
import {
  createUser,
  emulator,
  emulatorEnv,
  setClock,
  startEmulator,
  stopEmulator,
} from "../test/support/moto";
import { RunResult, TestStack } from "../test/support/pulumiCli";
import { seededRandom } from "../test/support/random";

const FAULTS: Fault[] = ["lose-answer", "throttle", "unavailable", "reset", "kill-before", "kill-after"];
const ACTIONS = [
  "ListAccessKeys",
  "ListUserTags",
  "CreateAccessKey",
  "TagUser",
  "UntagUser",
  "UpdateAccessKey",
  "DeleteAccessKey",
  "GetAccessKeyLastUsed",
  "GetCallerIdentity",
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      days: { type: "string", default: "400" },
      "fault-share": { type: "string", default: "0.5" },
      "max-gap": { type: "string", default: "12" },
    },
  });
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const days = Number(values.days);
  const share = Number(values["fault-share"]);
  const maxGap = Number(values["max-gap"]);
  const rand = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  console.log(`soak: seed ${seed}, ${days} days, fault share ${share}, gaps 1-${maxGap} days`);

  const T0 = new Date(Date.now() + 3_600_000);
  T0.setUTCMilliseconds(0);
  await startEmulator();
  const proxy = new FaultProxy(emulator().endpoint);
  await proxy.start();
  const project = new ConsumerProject();
  project.install(packCurrent());
  const stack = new TestStack({ projectDir: project.dir, env: emulatorEnv(proxy.endpoint) });
  proxy.onKill = () => stack.kill();
  const figures = {
    deploys: 0,
    faultsPlanned: 0,
    faultsNotFired: 0,
    injected: {} as Record<string, number>,
    failedDeploys: 0,
    recoveries: 0,
    recoveryFailures: 0,
    invariantBreaks: 0,
    orphanKeys: 0,
    lostWorkingKeys: 0,
  };
  const started = Date.now();
  try {
    const user = await createUser("soak");
    await stack.init();
    await stack.setConfig("userName", user);
    let inUse: CurrentKey | undefined;
    let lastLog = 0;
    for (let day = 0; day <= days; day += 1 + Math.floor(rand() * maxGap)) {
      await setClock(addDays(T0, day));
      const runs: RunResult[] = [];
      let rule: FaultRule | undefined;
      if (rand() < share) {
        // An action the previous deploy made, so that the fault usually fires.
        const seen = [...new Set(proxy.log.slice(lastLog))].filter((a) => ACTIONS.includes(a));
        rule = {
          action: pick(seen.length > 0 ? seen : ACTIONS),
          fault: pick(FAULTS),
          occurrence: 1,
        };
        figures.faultsPlanned += 1;
        proxy.add(rule);
      }
      const before = { ...proxy.injected };
      lastLog = proxy.log.length;
      const first = await stack.up();
      runs.push(first);
      figures.deploys += 1;
      proxy.clear();
      let fired = false;
      for (const [kind, n] of Object.entries(proxy.injected)) {
        const added = n - (before[kind] ?? 0);
        if (added > 0) figures.injected[kind] = (figures.injected[kind] ?? 0) + added;
        if (added > 0) fired = true;
      }
      if (rule && !fired) figures.faultsNotFired += 1;
      let ok = first.code === 0;
      if (!ok) {
        figures.failedDeploys += 1;
        runs.push(await stack.run(["cancel", "--yes", "--stack", stack.stackName], {}, false));
        const again = await stack.up();
        runs.push(again);
        ok = again.code === 0;
        if (ok) figures.recoveries += 1;
        else {
          figures.recoveryFailures += 1;
          console.log(`day ${day}: recovery failed:\n${again.visible.slice(-2000)}`);
        }
      }
      const report = await checkInvariants(stack, user, inUse, runs);
      figures.orphanKeys += report.orphans.length;
      if (report.lostWorkingKey) figures.lostWorkingKeys += 1;
      if (report.problems.length > 0) {
        figures.invariantBreaks += 1;
        console.log(`day ${day}: ${report.problems.join("; ")}`);
      }
      const fault = rule
        ? `${rule.fault} at ${rule.action}#${rule.occurrence}${fired ? "" : " (did not fire)"}`
        : "no fault";
      console.log(`day ${day}: ${fault}; ${ok ? "ok" : "FAILED"}${first.code === 0 ? "" : " (recovered)"}`);
      // The application picks up the current key after every successful deploy.
      if (ok) inUse = report.current;
    }
  } finally {
    proxy.clear();
    await stack.remove();
    await proxy.stop();
    cleanUpPacks();
    await stopEmulator();
  }
  console.log(`soak: seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(JSON.stringify(figures, null, 2));
  const bad =
    figures.invariantBreaks + figures.orphanKeys + figures.lostWorkingKeys + figures.recoveryFailures;
  process.exit(bad === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
