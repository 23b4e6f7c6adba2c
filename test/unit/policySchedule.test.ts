/**
 * rotating-access-key-schedule, run in-process through the harness as Analyze would run it on a
 * resource's inputs. Each case starts from a compliant schedule and changes one property.
 */
import * as assert from "assert";
import { rotatingAccessKeySchedule } from "../../policypack/policies/schedule";
import {
  CraftedResource,
  Diagnostic,
  PolicyConfigError,
  RunOptions,
  UNKNOWN,
  runResourcePolicies,
  secret,
} from "../support/policyHarness";

const POLICY = "rotating-access-key-schedule";
const DESCRIPTION = rotatingAccessKeySchedule.description;
const COMPONENT = "keyrotation:iam:RotatingAccessKey";
const SCHEDULE = "pulumi-nodejs:dynamic/keyrotation:RotationSchedule";

function schedule(
  props: Record<string, unknown> = {},
  type = SCHEDULE,
  name = "alice-schedule",
): CraftedResource {
  return {
    type,
    name,
    props: {
      userName: "alice",
      rotationDays: 30,
      overlapDays: 7,
      maxAgeDays: 90,
      deletionGuardHours: 24,
      ...props,
    },
  };
}

const run = (resource: CraftedResource, options: RunOptions = {}): Promise<Diagnostic[]> =>
  runResourcePolicies([rotatingAccessKeySchedule], resource, options);

function violation(what: string, r: number, o: number, source: string, limit: number): Diagnostic {
  return {
    policyName: POLICY,
    enforcementLevel: "mandatory",
    message:
      `${DESCRIPTION}\n${what} (IAM user alice) rotates every ${r} days and keeps the previous key Active for ${o} more ` +
      `days, so a key can stay Active ${r + o} days (rotationDays + overlapDays = ${r} + ${o}), which is not below ` +
      `${source}. Lower rotationDays or overlapDays so that their sum is below ${limit}.`,
  };
}

const policyLimit = (n: number) => `the limit of the ${POLICY} policy (maxAgeDays ${n})`;

describe("policy rotating-access-key-schedule", () => {
  it("passes compliant schedules on both types, with no config at all and with raw config", async () => {
    for (const type of [SCHEDULE, COMPONENT]) {
      assert.deepStrictEqual(await run(schedule({}, type)), []);
      assert.deepStrictEqual(await run(schedule({}, type), { rawConfig: {} }), []);
    }
  });

  it("uses the defaults (30 + 7 < 90) for absent properties", async () => {
    assert.deepStrictEqual(await run({ type: SCHEDULE, name: "s", props: { userName: "alice" } }), []);
    assert.deepStrictEqual(
      await run({ type: COMPONENT, name: "c", props: { userName: "alice", rotationDays: 50 } }),
      [],
    );
  });

  it("blocks rotationDays 120 on a RotationSchedule and on a RotatingAccessKey", async () => {
    assert.deepStrictEqual(await run(schedule({ rotationDays: 120 })), [
      violation('RotationSchedule "alice-schedule"', 120, 7, policyLimit(90), 90),
    ]);
    assert.deepStrictEqual(await run(schedule({ rotationDays: 120 }, COMPONENT, "alice")), [
      violation('RotatingAccessKey "alice"', 120, 7, policyLimit(90), 90),
    ]);
  });

  it("blocks a sum equal to the limit and allows one day less", async () => {
    assert.deepStrictEqual(await run(schedule({ rotationDays: 83 })), [
      violation('RotationSchedule "alice-schedule"', 83, 7, policyLimit(90), 90),
    ]);
    assert.deepStrictEqual(await run(schedule({ rotationDays: 82 })), []);
  });

  it("blocks a long overlap", async () => {
    assert.deepStrictEqual(await run(schedule({ overlapDays: 60 })), [
      violation('RotationSchedule "alice-schedule"', 30, 60, policyLimit(90), 90),
    ]);
  });

  it("blocks a schedule that cannot stay under the resource's own maxAgeDays", async () => {
    assert.deepStrictEqual(await run(schedule({ rotationDays: 40, overlapDays: 10, maxAgeDays: 45 })), [
      violation('RotationSchedule "alice-schedule"', 40, 10, "its own maxAgeDays (45)", 45),
    ]);
    // An absent maxAgeDays is the default 90.
    assert.deepStrictEqual(
      await run(schedule({ rotationDays: 40, overlapDays: 10, maxAgeDays: undefined })),
      [],
    );
  });

  it("does not judge a RotatingAccessKey whose settings were not sent (left to its RotationSchedule)", async () => {
    assert.deepStrictEqual(
      await run({ type: COMPONENT, name: "alice", props: {} }, { config: { [POLICY]: { maxAgeDays: 30 } } }),
      [],
    );
    // The same settings on the schedule resource are judged on the defaults.
    assert.deepStrictEqual(
      (await run({ type: SCHEDULE, name: "s", props: {} }, { config: { [POLICY]: { maxAgeDays: 30 } } }))
        .length,
      1,
    );
  });

  it("does not report values unknown at preview", async () => {
    for (const props of [
      { rotationDays: UNKNOWN },
      { overlapDays: UNKNOWN, rotationDays: 120 },
      { maxAgeDays: UNKNOWN },
    ]) {
      assert.deepStrictEqual(await run(schedule(props)), [], JSON.stringify(props));
    }
    // An unknown user name only drops the user from the message.
    const ds = await run(schedule({ userName: UNKNOWN, rotationDays: 120 }));
    assert.strictEqual(ds.length, 1);
    assert.match(ds[0].message, /\nRotationSchedule "alice-schedule" rotates every 120 days/);
  });

  it("reports invalid settings by name, without echoing a string value", async () => {
    assert.deepStrictEqual(
      (await run(schedule({ rotationDays: "s3cr3t-looking-string", overlapDays: -1 }))).map(
        (d) => d.message.split("\n")[1],
      ),
      [
        'RotationSchedule "alice-schedule" (IAM user alice) sets rotationDays to a value of type string, but it must be a number of days of at least 1. Fix rotationDays.',
        'RotationSchedule "alice-schedule" (IAM user alice) sets overlapDays to -1, but it must be a number of days of at least 0. Fix overlapDays.',
      ],
    );
  });

  it("reads secret inputs as their values and never prints a secret", async () => {
    const ds = await run(
      schedule({ rotationDays: secret(120), userName: "alice", token: secret("tok-9f8e7d6c5b4a39281706") }),
    );
    assert.strictEqual(ds.length, 1);
    assert.ok(!ds[0].message.includes("tok-9f8e7d6c5b4a39281706"));
  });

  it("ignores other resource types", async () => {
    assert.deepStrictEqual(
      await run(schedule({ rotationDays: 120 }, "pulumi-nodejs:dynamic/keyrotation:AccessKey")),
      [],
    );
  });

  describe("configuration", () => {
    it("maxAgeDays lowers the limit: the default schedule (37 days) fails under 30", async () => {
      assert.deepStrictEqual(await run(schedule(), { config: { [POLICY]: { maxAgeDays: 37 } } }), [
        violation('RotationSchedule "alice-schedule"', 30, 7, policyLimit(37), 37),
      ]);
      assert.deepStrictEqual(await run(schedule(), { config: { [POLICY]: { maxAgeDays: 38 } } }), []);
    });

    it("maxAgeDays raises the limit, but the resource's own maxAgeDays still binds", async () => {
      const r = schedule({ rotationDays: 100, maxAgeDays: 90 });
      assert.deepStrictEqual(await run(r, { config: { [POLICY]: { maxAgeDays: 180 } } }), [
        violation('RotationSchedule "alice-schedule"', 100, 7, "its own maxAgeDays (90)", 90),
      ]);
      assert.deepStrictEqual(
        await run(schedule({ rotationDays: 100, maxAgeDays: 120 }), {
          config: { [POLICY]: { maxAgeDays: 180 } },
        }),
        [],
      );
    });

    it("bad maxAgeDays is refused by the schema, and without the engine is a violation", async () => {
      await assert.rejects(run(schedule(), { config: { [POLICY]: { maxAgeDays: -5 } } }), (err) => {
        assert.ok(err instanceof PolicyConfigError);
        assert.deepStrictEqual(err.problems, [`${POLICY}: maxAgeDays: Must be greater than or equal to 1`]);
        return true;
      });
      const ds = await run(schedule(), { rawConfig: { [POLICY]: { maxAgeDays: 1000 } } });
      assert.deepStrictEqual(
        ds.map((d) => d.message.split("\n")[1]),
        [
          "The policy configuration sets maxAgeDays to 1000, but it must be a whole number from 1 to 365. Fix maxAgeDays in the policy pack configuration.",
        ],
      );
    });

    it("enforcement levels: advisory, disabled, remediate (reported as mandatory)", async () => {
      const bad = schedule({ rotationDays: 120 });
      assert.deepStrictEqual(
        (await run(bad, { config: { [POLICY]: "advisory" } })).map((d) => d.enforcementLevel),
        ["advisory"],
      );
      assert.deepStrictEqual(await run(bad, { config: { [POLICY]: "disabled" } }), []);
      assert.deepStrictEqual(
        (await run(bad, { config: { all: "remediate" } })).map((d) => d.enforcementLevel),
        ["mandatory"],
      );
    });
  });
});
