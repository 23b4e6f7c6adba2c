/**
 * Faults between the product and IAM, with the real Pulumi CLI: a consumer stack (the packed
 * tarball in its node_modules) deploys through a fault-injecting proxy in front of the emulator.
 * Each scenario injects one fault (a lost answer, throttling, a 5xx, a reset, a hang) or SIGKILLs
 * the whole deployment at a named point, then runs the recovery the README names ("When a deploy
 * is interrupted") and checks the invariants:
 * - every key IAM holds for the user is a key the state holds, and the other way round; at most two;
 * - the exported current key is Active, and a request signed with it works;
 * - the key applications used before the fault is still Active (none of these passes the age limit);
 * - no secret access key in plain text in the state or the CLI's output.
 *
 * `KEYROTATION_FAULTS_COMMIT=<commit>` installs the package as built at that commit instead of the
 * working tree: how the suite was seen to fail before the crash-safety fix.
 */
import * as assert from "assert";
import { addDays } from "../../core/clock";
import { cleanUpPacks, ConsumerProject, packCurrent, packPrevious } from "../support/consumer";
import { FaultProxy, FaultRule } from "../support/faultProxy";
import { checkInvariants, currentKey } from "../support/invariants";
import { createUser, emulator, emulatorEnv, setClock } from "../support/moto";
import { RunResult, TestStack } from "../support/pulumiCli";

interface Scenario {
  name: string;
  /** Days of deploys before the faulty one (each a clean `up`). */
  before: number[];
  /** The day of the faulty deploy. */
  day: number;
  rule: FaultRule;
  /** Whether the faulty `up` still succeeds (the product recovers in-process). */
  faultyUpSucceeds: boolean;
  /** Stack config besides userName. */
  config?: Record<string, string>;
  /** What the preview after the documented recovery step reports (a key or intent the fault left). */
  previewSays?: RegExp;
}

const kill = (action: string, when: "before" | "after", bodyIncludes?: string): FaultRule => ({
  action,
  fault: when === "before" ? "kill-before" : "kill-after",
  ...(bodyIncludes ? { bodyIncludes } : {}),
});

const SCENARIOS: Scenario[] = [
  {
    name: "the answer to CreateAccessKey is lost after the key was created",
    before: [],
    day: 0,
    rule: { action: "CreateAccessKey", fault: "lose-answer" },
    faultyUpSucceeds: true,
  },
  {
    name: "CreateAccessKey is throttled",
    before: [],
    day: 0,
    rule: { action: "CreateAccessKey", fault: "throttle" },
    faultyUpSucceeds: true,
  },
  {
    name: "TagUser answers 503 (the new key's slot tag)",
    before: [],
    day: 0,
    rule: { action: "TagUser", fault: "unavailable", bodyIncludes: "slot=a generation=1" },
    faultyUpSucceeds: true,
  },
  {
    name: "TagUser answers 503 (the schedule tag)",
    before: [],
    day: 0,
    rule: { action: "TagUser", fault: "unavailable", bodyIncludes: "keyrotation:schedule" },
    faultyUpSucceeds: true,
  },
  {
    name: "the connection of ListAccessKeys is reset",
    before: [],
    day: 0,
    rule: { action: "ListAccessKeys", fault: "reset" },
    faultyUpSucceeds: true,
  },
  {
    // Without a request timeout the SDK waits on a hung socket for minutes per attempt; with the
    // 30 s limit the call is retried and the deploy goes on.
    name: "an IAM call hangs (TagUser of the new key's slot tag never answers): cut off after 30 s and retried",
    before: [],
    day: 0,
    rule: { action: "TagUser", fault: "hang", bodyIncludes: "slot=a generation=1" },
    faultyUpSucceeds: true,
  },
  {
    name: "STS hangs during the new key's verification (verifyTimeoutSeconds 5)",
    before: [],
    day: 0,
    rule: { action: "GetCallerIdentity", fault: "hang" },
    faultyUpSucceeds: false,
    config: { verifyTimeoutSeconds: "5" },
  },
  {
    name: "IAM still lists the replaced key for a few seconds after its delete (rotation into its slot)",
    before: [0, 30, 37],
    day: 60,
    rule: { action: "DeleteAccessKey", fault: "stale-list" },
    faultyUpSucceeds: true,
  },
  {
    name: "killed after CreateAccessKey took effect (first deploy)",
    before: [],
    day: 0,
    rule: kill("CreateAccessKey", "after"),
    faultyUpSucceeds: false,
    previewSays:
      /an earlier deploy recorded at \S+ that it was creating slot a generation 1 for IAM user "faults-[\w-]+" and was interrupted/,
  },
  {
    name: "killed between CreateAccessKey and the tag write (rotation)",
    before: [0],
    day: 30,
    rule: kill("TagUser", "before", "slot=b generation=2"),
    faultyUpSucceeds: false,
    previewSays: /an earlier deploy recorded at \S+ that it was creating slot b generation 2 for IAM user/,
  },
  {
    name: "killed after the tag write, before the engine records the key (rotation)",
    before: [0],
    day: 30,
    rule: kill("TagUser", "after", "slot=b generation=2"),
    faultyUpSucceeds: false,
    previewSays:
      /access key [A-Z0-9]+ of IAM user "faults-[\w-]+" is tagged for slot b generation 2, which no state holds: an earlier deploy was interrupted after creating it/,
  },
  {
    name: "killed during the new key's verification",
    before: [0],
    day: 30,
    rule: kill("GetCallerIdentity", "before"),
    faultyUpSucceeds: false,
  },
  {
    name: "killed between deactivation and deletion (after UpdateAccessKey took effect)",
    before: [0, 30],
    day: 37,
    rule: kill("UpdateAccessKey", "after"),
    faultyUpSucceeds: false,
  },
  {
    name: "killed during a Secrets Manager publication",
    before: [0],
    day: 30,
    rule: kill("PutSecretValue", "before"),
    faultyUpSucceeds: false,
    config: { secretId: "faults/app-key" },
  },
];

/** What the CLI shows at its default verbosity: the engine's diagnostics (not debug), then stderr. */
function diagnostics(r: RunResult): string[] {
  const messages = r.events
    .map((e) => e.diagnosticEvent)
    .filter((d) => d !== undefined && d.severity !== "debug")
    .map((d) => d?.message.trimEnd() ?? "");
  return [...messages, r.stderr];
}

describe("faults: interrupted and failing deploys converge (real CLI, fault proxy)", function () {
  this.timeout(3_600_000);
  const T0 = new Date(Date.now() + 5 * 3_600_000);
  T0.setUTCMilliseconds(0);
  let project: ConsumerProject;
  let proxy: FaultProxy;

  before(async () => {
    project = new ConsumerProject();
    const commit = process.env.KEYROTATION_FAULTS_COMMIT;
    project.install(commit ? packPrevious(commit) : packCurrent());
    proxy = new FaultProxy(emulator().endpoint);
    await proxy.start();
  });

  after(async () => {
    await proxy?.stop();
    cleanUpPacks();
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const user = await createUser("faults");
      const stack = new TestStack({ projectDir: project.dir, env: emulatorEnv(proxy.endpoint) });
      const runs: RunResult[] = [];
      const up = async (day: number, expectOk: boolean) => {
        await setClock(addDays(T0, day));
        const r = await stack.up();
        runs.push(r);
        if (expectOk) {
          const messages = diagnostics(r);
          assert.strictEqual(r.code, 0, `up on day ${day} failed:\n${[...messages, r.stderr].join("\n")}`);
        }
        return r;
      };
      try {
        await stack.init();
        await stack.setConfig("userName", user);
        for (const [key, value] of Object.entries(scenario.config ?? {})) await stack.setConfig(key, value);
        for (const day of scenario.before) await up(day, true);
        const inUse = scenario.before.length > 0 ? await currentKey(stack) : undefined;

        proxy.clear();
        proxy.onKill = () => stack.kill();
        proxy.add(scenario.rule);
        const faulty = await up(scenario.day, scenario.faultyUpSucceeds);
        assert.ok(
          proxy.allFired(),
          `the fault was injected (${scenario.rule.action}; seen: ${proxy.log.slice(-20)})`,
        );
        proxy.clear();
        if (!scenario.faultyUpSucceeds) {
          assert.notStrictEqual(faulty.code, 0, "the faulty deploy fails");
          // The documented recovery: release the lock a killed deployment leaves, then deploy again.
          const cancel = await stack.run(["cancel", "--yes", "--stack", stack.stackName], {}, false);
          runs.push(cancel);
          if (scenario.previewSays) {
            const preview = await stack.preview();
            runs.push(preview);
            const said = diagnostics(preview).join("\n");
            assert.strictEqual(preview.code, 0, said);
            assert.match(said, scenario.previewSays);
          }
          await up(scenario.day, true);
        }

        const report = await checkInvariants(stack, user, inUse, runs);
        assert.deepStrictEqual(report.problems, []);
      } finally {
        proxy.clear();
        await stack.remove();
      }
    });
  }
});
