/**
 * The pure schedule: table tests over dates.
 */
import * as assert from "assert";
import { addDays } from "../../core/clock";
import {
  deactivationReason,
  EMPTY_SLOT,
  nextPlan,
  observeFromPlan,
  ObservedKey,
  Plan,
  retiredKeys,
  rotationDueDate,
  SlotPlan,
} from "../../components/rotation/schedule";
import { diffSchedule, selfLockout } from "../../components/providers/rotationSchedule";
import { DEFAULTS, resolveSettings, RotationSettings } from "../../core/settings";

const T0 = new Date("2027-01-01T09:00:00.000Z");
const day = (n: number) => addDays(T0, n);
const settings = (over: Partial<RotationSettings> = {}): RotationSettings => ({ ...DEFAULTS, ...over });

/** IAM as the key provider would leave it after carrying out `plan` (every planned key exists). */
function iamAfter(plan: Plan): ObservedKey[] {
  return (["a", "b"] as const)
    .filter((s) => plan[s].present)
    .map((s) => ({
      accessKeyId:
        plan[s].adoptedKeyId || `AKIA${s.toUpperCase()}${String(plan[s].generation).padStart(15, "0")}`,
      status: plan[s].status,
      createDate: plan[s].createdAt,
      ...(plan[s].adoptedKeyId ? {} : { tag: { slot: s, generation: plan[s].generation } }),
    }));
}

/** Summary of a plan: "a:1A* b:2I" (generation, status initial, * for current). */
function summary(plan: Plan): string {
  return (["a", "b"] as const)
    .map((s) =>
      plan[s].present
        ? `${s}:${plan[s].adoptedKeyId ? "0" : plan[s].generation}${plan[s].status[0]}${plan.current === s ? "*" : ""}`
        : `${s}:-`,
    )
    .join(" ");
}

function simulate(days: number[], s = settings()): { day: number; plan: string; events: string[] }[] {
  let plan: Plan | undefined;
  const out: { day: number; plan: string; events: string[] }[] = [];
  for (const d of days) {
    const result = nextPlan(plan, plan ? iamAfter(plan) : [], day(d), s);
    plan = result.plan;
    out.push({ day: d, plan: summary(plan), events: result.events.map((e) => e.kind) });
  }
  return out;
}

describe("schedule: the lifecycle with daily deploys (defaults 30/7/90)", () => {
  const rows = simulate(Array.from({ length: 100 }, (_, d) => d));
  const expectAt: [number, string, string[]][] = [
    [0, "a:1A* b:-", ["create"]],
    [1, "a:1A* b:-", []],
    [29, "a:1A* b:-", []],
    [30, "a:1A b:2A*", ["create"]],
    [36, "a:1A b:2A*", []],
    [37, "a:1I b:2A*", ["deactivate"]],
    [59, "a:1I b:2A*", []],
    [60, "a:3A* b:2A", ["create"]],
    [66, "a:3A* b:2A", []],
    [67, "a:3A* b:2I", ["deactivate"]],
    [90, "a:3A b:4A*", ["create"]],
    [97, "a:3I b:4A*", ["deactivate"]],
  ];
  for (const [d, plan, events] of expectAt) {
    it(`day ${d}: ${plan}`, () => {
      assert.deepStrictEqual(rows[d], { day: d, plan, events });
    });
  }
  it("never plans a key Active past rotationDays + overlapDays, nor more than two keys", () => {
    let plan: Plan | undefined;
    for (let d = 0; d < 400; d++) {
      plan = nextPlan(plan, plan ? iamAfter(plan) : [], day(d), settings()).plan;
      for (const s of ["a", "b"] as const) {
        if (plan[s].present && plan[s].status === "Active") {
          const age = (day(d).getTime() - new Date(plan[s].createdAt).getTime()) / 86_400_000;
          assert.ok(age <= 37, `day ${d}: slot ${s} Active at age ${age}`);
        }
      }
    }
  });
});

describe("schedule: the end-to-end calendar, with gaps", () => {
  it("days 0,1,29,30,31,36,37,38,59,60,61,95 and 295 (after a 200-day gap)", () => {
    const rows = simulate([0, 1, 29, 30, 31, 36, 37, 38, 59, 60, 61, 95, 295]);
    assert.deepStrictEqual(
      rows.map((r) => `${r.day} ${r.plan} ${r.events.join(",")}`),
      [
        "0 a:1A* b:- create",
        "1 a:1A* b:- ",
        "29 a:1A* b:- ",
        "30 a:1A b:2A* create",
        "31 a:1A b:2A* ",
        "36 a:1A b:2A* ",
        "37 a:1I b:2A* deactivate",
        "38 a:1I b:2A* ",
        "59 a:1I b:2A* ",
        "60 a:3A* b:2A create",
        "61 a:3A* b:2A ",
        // No deploy on day 67: key 2 is still Active on day 95, in the slot that is refilled.
        "95 a:3A b:4A* create",
        // Catch-up: key 3 (the older) is deleted, key 5 takes slot a; key 4 (200 days) is
        // deactivated at once because maxAgeDays wins over the overlap.
        "295 a:5A* b:4I create,max-age",
      ],
    );
  });

  it("after a gap of an even number of periods, refills the slot of the older key, not the one in use", () => {
    // Slot b holds the key in use (generation 2, created day 30); a gap of 60 days (two periods).
    // The key in use (slot b) keeps its overlap; slot a (the older key) is refilled.
    const rows = simulate([0, 30, 37, 90]);
    assert.deepStrictEqual(rows[3].plan, "a:3A* b:2A");
    const rows2 = simulate([0, 30, 37, 60, 120]);
    assert.deepStrictEqual(rows2[3].plan, "a:3A* b:2A");
    assert.deepStrictEqual(rows2[4].plan, "a:3A b:4A*");
  });

  it("the catch-up message says the age limit wins over the overlap", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const p1 = nextPlan(p0, iamAfter(p0), day(100), settings());
    assert.deepStrictEqual(summary(p1.plan), "a:1I b:2A*");
    const maxAge = p1.events.find((e) => e.kind === "max-age");
    assert.strictEqual(
      maxAge?.message,
      "deactivate key generation 1 (slot a) now, before its overlap ends: it is 100 days old and maxAgeDays is 90 (the age limit wins over the overlap)",
    );
  });
});

describe("schedule: boundaries", () => {
  const current = (createdAt: string, generation = 2): SlotPlan => ({
    ...EMPTY_SLOT,
    present: true,
    generation,
    createdAt,
    status: "Active",
  });
  const table: [string, string, number, number, string][] = [
    // name, createdAt, rotationDays, staggerDays, expected due date
    ["plain", "2027-01-01T00:00:00.000Z", 30, 0, "2027-01-31T00:00:00.000Z"],
    ["across Feb in a leap year", "2028-02-15T00:00:00.000Z", 30, 0, "2028-03-16T00:00:00.000Z"],
    ["across Feb in a common year", "2027-02-15T00:00:00.000Z", 30, 0, "2027-03-17T00:00:00.000Z"],
    ["over Feb 29", "2028-02-29T12:00:00.000Z", 1, 0, "2028-03-01T12:00:00.000Z"],
    ["over the year end", "2027-12-20T00:00:00.000Z", 30, 0, "2028-01-19T00:00:00.000Z"],
  ];
  for (const [name, createdAt, rotationDays, staggerDays, due] of table) {
    it(`due date ${name}`, () => {
      assert.strictEqual(
        rotationDueDate(current(createdAt), { rotationDays, staggerDays }).toISOString(),
        due,
      );
    });
  }

  it("stagger only moves the first key's rotation", () => {
    const s = { rotationDays: 30, staggerDays: 11 };
    assert.strictEqual(
      rotationDueDate(current("2027-01-01T00:00:00.000Z", 1), s).toISOString(),
      "2027-01-20T00:00:00.000Z",
    );
    assert.strictEqual(
      rotationDueDate(current("2027-01-01T00:00:00.000Z", 2), s).toISOString(),
      "2027-01-31T00:00:00.000Z",
    );
  });

  it("rotates at exactly the due instant, not a millisecond before", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const before = nextPlan(p0, iamAfter(p0), new Date(day(30).getTime() - 1), settings()).plan;
    const at = nextPlan(p0, iamAfter(p0), day(30), settings()).plan;
    assert.strictEqual(summary(before), "a:1A* b:-");
    assert.strictEqual(summary(at), "a:1A b:2A*");
    assert.strictEqual(at.nextRotationDate, day(60).toISOString());
  });

  it("deactivates at exactly the end of the overlap, and before the age limit", () => {
    const pred = current(day(0).toISOString(), 1);
    const succ = current(day(30).toISOString(), 2);
    const s = { overlapDays: 7, maxAgeDays: 90 };
    assert.strictEqual(deactivationReason(pred, succ, new Date(day(37).getTime() - 1), s), undefined);
    assert.strictEqual(deactivationReason(pred, succ, day(37), s), "overlap");
    const old = current(day(0).toISOString(), 1);
    const young = current(day(88).toISOString(), 2);
    assert.strictEqual(deactivationReason(old, young, day(89), s), undefined);
    assert.strictEqual(deactivationReason(old, young, new Date(day(89).getTime() + 1), s), "max-age");
  });
});

describe("schedule: keys the component did not create", () => {
  const unmanaged = (id: string, d: number, status: "Active" | "Inactive" = "Active"): ObservedKey => ({
    accessKeyId: id,
    status,
    createDate: day(d).toISOString(),
  });

  it("by default reports them and plans nothing", () => {
    const result = nextPlan(undefined, [unmanaged("AKIAOLD0000000000001", -200)], day(0), settings());
    assert.deepStrictEqual(
      result.unmanaged.map((k) => k.accessKeyId),
      ["AKIAOLD0000000000001"],
    );
    assert.deepStrictEqual(result.events, []);
  });

  it("with retire, adopts one old key, creates a current key, and deactivates the old one (past the age limit)", () => {
    const s = settings({ unmanagedKeys: "retire" });
    const r = nextPlan(undefined, [unmanaged("AKIAOLD0000000000001", -200)], day(0), s);
    assert.deepStrictEqual(summary(r.plan), "a:1A* b:0I");
    assert.strictEqual(r.plan.b.adoptedKeyId, "AKIAOLD0000000000001");
    assert.deepStrictEqual(
      r.events.map((e) => e.kind),
      ["adopt", "create", "max-age"],
    );
    assert.deepStrictEqual(r.unmanaged, []);
  });

  it("with retire, a young adopted key keeps its overlap, then is deleted when its slot is next needed", () => {
    const s = settings({ unmanagedKeys: "retire" });
    let plan = nextPlan(undefined, [unmanaged("AKIAYOUNG00000000001", -5)], day(0), s).plan;
    assert.strictEqual(summary(plan), "a:1A* b:0A");
    plan = nextPlan(plan, iamAfter(plan), day(7), s).plan;
    assert.strictEqual(summary(plan), "a:1A* b:0I");
    plan = nextPlan(plan, iamAfter(plan), day(30), s).plan;
    assert.strictEqual(summary(plan), "a:1A b:2A*");
    assert.strictEqual(plan.b.adoptedKeyId, "");
  });

  it("with retire and two old keys, the older makes room for the new key", () => {
    const s = settings({ unmanagedKeys: "retire" });
    const r = nextPlan(
      undefined,
      [unmanaged("AKIAOLDER00000000001", -300), unmanaged("AKIANEWER00000000002", -10)],
      day(0),
      s,
    );
    assert.strictEqual(summary(r.plan), "a:1A* b:0A");
    assert.strictEqual(r.plan.a.replacesKeyId, "AKIAOLDER00000000001");
    assert.strictEqual(r.plan.b.adoptedKeyId, "AKIANEWER00000000002");
  });

  it("reports a key added outside Pulumi later", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const r = nextPlan(p0, [...iamAfter(p0), unmanaged("AKIASNEAKY0000000001", 3)], day(3), settings());
    assert.deepStrictEqual(
      r.unmanaged.map((k) => k.accessKeyId),
      ["AKIASNEAKY0000000001"],
    );
  });
});

describe("schedule: drift and failed deploys", () => {
  it("recreates a current key deleted outside Pulumi, counting its overlap from now", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const r = nextPlan(p0, [], day(10), settings());
    assert.strictEqual(summary(r.plan), "a:1A* b:-");
    assert.strictEqual(r.plan.a.createdAt, day(10).toISOString());
    assert.deepStrictEqual(
      r.events.map((e) => e.kind),
      ["recreate"],
    );
  });

  it("empties the slot of a previous key deleted outside Pulumi instead of recreating it", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const p1 = nextPlan(p0, iamAfter(p0), day(30), settings()).plan;
    const r = nextPlan(
      p1,
      iamAfter(p1).filter((k) => k.tag?.slot === "b"),
      day(32),
      settings(),
    );
    assert.strictEqual(summary(r.plan), "a:- b:2A*");
  });

  it("when a rotation's deletion was refused, the new key's overlap counts from when it is really created", () => {
    const p0 = nextPlan(undefined, [], day(0), settings()).plan;
    const p30 = nextPlan(p0, iamAfter(p0), day(30), settings()).plan;
    const p60 = nextPlan(p30, iamAfter(p30), day(60), settings()).plan; // a: gen 3 planned
    // The deploy on day 60 failed: IAM still has gen 1 in slot a (inactive) and gen 2 in slot b.
    const stale: ObservedKey[] = [
      {
        accessKeyId: "AKIAGEN1000000000001",
        status: "Inactive",
        createDate: day(0).toISOString(),
        tag: { slot: "a", generation: 1 },
      },
      {
        accessKeyId: "AKIAGEN2000000000002",
        status: "Active",
        createDate: day(30).toISOString(),
        tag: { slot: "b", generation: 2 },
      },
    ];
    const retry = nextPlan(p60, stale, day(62), settings()).plan;
    assert.strictEqual(summary(retry), "a:3A* b:2A");
    assert.strictEqual(retry.a.createdAt, day(62).toISOString());
    const later = nextPlan(retry, iamAfter(retry), day(68), settings()).plan;
    assert.strictEqual(summary(later), "a:3A* b:2A");
    assert.strictEqual(summary(nextPlan(later, iamAfter(later), day(69), settings()).plan), "a:3A* b:2I");
  });
});

describe("settings validation", () => {
  const table: [string, Partial<Record<string, unknown>>, string, string][] = [
    [
      "rotation too long for the limit",
      { rotationDays: 120 },
      "rotationDays",
      "must be below maxAgeDays (90)",
    ],
    [
      "rotation + overlap equal to the limit",
      { rotationDays: 83, overlapDays: 7 },
      "rotationDays",
      "83 + 7 = 90",
    ],
    ["zero rotation", { rotationDays: 0 }, "rotationDays", "from 1 to 365"],
    ["fractional overlap", { overlapDays: 1.5 }, "overlapDays", "whole number"],
    [
      "overlap not below rotation",
      { rotationDays: 10, overlapDays: 10 },
      "overlapDays",
      "less than rotationDays",
    ],
    ["negative guard", { deletionGuardHours: -1 }, "deletionGuardHours", "from 0 to 8760"],
    ["string number", { maxAgeDays: "90" }, "maxAgeDays", 'got "90"'],
    ["bad unmanaged policy", { unmanagedKeys: "delete" }, "unmanagedKeys", '"fail"'],
    ["stagger not below rotation", { staggerDays: 30 }, "staggerDays", "less than rotationDays"],
  ];
  for (const [name, raw, property, fragment] of table) {
    it(`rejects ${name}, naming ${property}`, () => {
      const { failures } = resolveSettings(raw);
      assert.strictEqual(failures.length, 1, JSON.stringify(failures));
      assert.strictEqual(failures[0].property, property);
      assert.ok(failures[0].reason.includes(fragment), failures[0].reason);
    });
  }
  it("accepts the defaults", () => {
    assert.deepStrictEqual(resolveSettings({}), { settings: DEFAULTS, failures: [] });
  });
});

describe("schedule: keys left by an interrupted create", () => {
  const leftover: ObservedKey = {
    accessKeyId: "AKIALEFTOVER00000001",
    status: "Active",
    createDate: day(0).toISOString(),
    leftover: "created after the intent to create slot a generation 1, and never tagged",
  };

  it("a first deploy plans the key and reports the leftover instead of refusing it as unmanaged", () => {
    const result = nextPlan(undefined, [leftover], day(0), settings());
    assert.strictEqual(summary(result.plan), "a:1A* b:-");
    assert.deepStrictEqual(result.unmanaged, []);
    assert.deepStrictEqual(
      result.events.map((e) => e.kind),
      ["create", "leftover"],
    );
    assert.match(
      result.events[1].message,
      /^access key AKIALEFTOVER00000001 was left by an interrupted deploy/,
    );
  });

  it("a later deploy re-creates the current key the interrupted create never recorded", () => {
    const first = nextPlan(undefined, [], day(0), settings()).plan;
    const result = nextPlan(first, [leftover], day(0), settings());
    assert.strictEqual(summary(result.plan), "a:1A* b:-");
    assert.deepStrictEqual(result.unmanaged, []);
    assert.deepStrictEqual(
      result.events.map((e) => e.kind),
      ["recreate", "leftover"],
    );
  });

  it("an untagged key that is not a leftover is still refused as unmanaged", () => {
    const first = nextPlan(undefined, [], day(0), settings()).plan;
    const { leftover: _reason, ...outside } = leftover;
    const result = nextPlan(first, [...iamAfter(first), outside], day(1), settings());
    assert.deepStrictEqual(
      result.unmanaged.map((k) => k.accessKeyId),
      ["AKIALEFTOVER00000001"],
    );
  });
});

describe("schedule: usage-aware retirement (the seed's procedure)", () => {
  const idOf = (plan: Plan, s: "a" | "b") =>
    iamAfter(plan).find((k) => k.tag?.slot === s)?.accessKeyId as string;
  /** The plan of days 0 and 30 (key 1 in slot a, key 2 current in slot b). */
  function afterRotation(): Plan {
    let plan = nextPlan(undefined, [], day(0), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(30), settings()).plan;
    return plan;
  }
  const used = (d: Date, hoursAgo: number) => ({
    lastUsedDate: new Date(d.getTime() - hoursAgo * 3_600_000).toISOString(),
    serviceName: "s3",
    region: "eu-west-1",
  });

  it("the predecessor is not deactivated while used within deletionGuardHours; it is once unused that long", () => {
    const plan = afterRotation();
    const k1 = idOf(plan, "a");
    const waiting = nextPlan(plan, iamAfter(plan), day(37), settings(), new Map([[k1, used(day(37), 1)]]));
    assert.strictEqual(summary(waiting.plan), "a:1A b:2A*");
    assert.deepStrictEqual(
      waiting.events.map((e) => e.kind),
      ["wait"],
    );
    assert.strictEqual(
      waiting.events[0].message,
      `deactivation waits: ${k1} was used ${used(day(37), 1).lastUsedDate} by service s3 in region eu-west-1, within deletionGuardHours 24; ` +
        `it is deactivated by the first deploy after ${new Date(day(37).getTime() + 23 * 3_600_000).toISOString()} without a use (move that application to the current key)`,
    );
    const later = nextPlan(
      waiting.plan,
      iamAfter(waiting.plan),
      day(38),
      settings(),
      new Map([[k1, used(day(37), 1)]]),
    );
    assert.strictEqual(summary(later.plan), "a:1I b:2A*");
  });

  it("the age limit deactivates a key still in use, naming who uses it", () => {
    let plan = nextPlan(undefined, [], day(0), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(60), settings()).plan; // gap: key 1 is 60 days old
    const k1 = idOf(plan, "a");
    const result = nextPlan(plan, iamAfter(plan), day(89.5), settings(), new Map([[k1, used(day(89.5), 2)]]));
    assert.strictEqual(summary(result.plan), "a:1I b:2A*");
    assert.strictEqual(result.events[0].kind, "max-age");
    assert.match(
      result.events[0].message,
      new RegExp(
        `${k1} was used .* by service s3 in region eu-west-1: move that application to the current key$`,
      ),
    );
  });

  it("a rotation waits while the key in the slot it refills was used within deletionGuardHours", () => {
    let plan = afterRotation();
    plan = nextPlan(plan, iamAfter(plan), day(37), settings()).plan; // key 1 deactivated
    const k1 = idOf(plan, "a");
    const result = nextPlan(plan, iamAfter(plan), day(60), settings(), new Map([[k1, used(day(60), 3)]]));
    assert.strictEqual(summary(result.plan), "a:1I b:2A*");
    assert.deepStrictEqual(
      result.events.map((e) => e.kind),
      ["wait"],
    );
    assert.match(
      result.events[0].message,
      /^rotation waits: .* is deleted and a new key created in slot a by the first deploy after /,
    );
    const next = nextPlan(
      result.plan,
      iamAfter(result.plan),
      day(61),
      settings(),
      new Map([[k1, used(day(60), 3)]]),
    );
    assert.strictEqual(summary(next.plan), "a:3A* b:2A");
  });

  it("when waiting would pass the age limit, the deploy is blocked at preview with the facts and the fixes", () => {
    let plan = nextPlan(undefined, [], day(0), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(30), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(37), settings()).plan;
    const k1 = idOf(plan, "a");
    const result = nextPlan(
      plan,
      iamAfter(plan),
      day(119.5),
      settings(),
      new Map([[k1, used(day(119.5), 1)]]),
    );
    assert.strictEqual(result.blocked?.property, "maxAgeDays");
    assert.match(
      result.blocked?.reason ?? "",
      /^The current key \(key generation 2 \(slot b\)\) is 89 days old and must be rotated now/,
    );
    assert.match(result.blocked?.reason ?? "", /or set forceDelete: true to delete .* anyway\.$/);
  });

  it("forceDelete rotates and deactivates without waiting", () => {
    let plan = afterRotation();
    const k1 = idOf(plan, "a");
    const s = settings({ forceDelete: true });
    plan = nextPlan(plan, iamAfter(plan), day(37), s, new Map([[k1, used(day(37), 1)]])).plan;
    assert.strictEqual(summary(plan), "a:1I b:2A*");
  });
});

describe("schedule: keys a plan takes out of use, and the deployer's own key", () => {
  it("lists the keys deactivated and deleted, by id", () => {
    let plan = nextPlan(undefined, [], day(0), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(30), settings()).plan;
    const before = iamAfter(plan);
    const deactivating = nextPlan(plan, before, day(37), settings()).plan;
    assert.deepStrictEqual(retiredKeys(deactivating, before), {
      deactivated: [before[0].accessKeyId],
      deleted: [],
    });
    const after37 = iamAfter(deactivating);
    const rotating = nextPlan(deactivating, after37, day(60), settings()).plan;
    assert.deepStrictEqual(retiredKeys(rotating, after37), {
      deactivated: [],
      deleted: [after37[0].accessKeyId],
    });
  });

  it("refuses a plan that would deactivate or delete the key the deployment is signed with, naming it and the fix", () => {
    let plan = nextPlan(undefined, [], day(0), settings()).plan;
    plan = nextPlan(plan, iamAfter(plan), day(30), settings()).plan;
    const keys = iamAfter(plan);
    const deactivating = nextPlan(plan, keys, day(37), settings()).plan;
    assert.strictEqual(
      selfLockout("ci-deployer", keys[0].accessKeyId, deactivating, keys),
      `This deploy would deactivate access key ${keys[0].accessKeyId} of IAM user "ci-deployer", and the deployment's own AWS calls ` +
        `are signed with that key: the rest of this deploy and every later one would be locked out. Nothing was changed. ` +
        `Run the deploy with the user's current key ${keys[1].accessKeyId} (the RotatingAccessKey's accessKeyId and secretAccessKey outputs, ` +
        `or its Secrets Manager secret when secretsManagerSecretId is set), or run it once with other credentials.`,
    );
    assert.strictEqual(selfLockout("ci-deployer", keys[1].accessKeyId, deactivating, keys), undefined);
    assert.strictEqual(selfLockout("ci-deployer", undefined, deactivating, keys), undefined);
  });
});

describe("schedule resource diff", () => {
  it("a deploy that only waits still updates the schedule, so that its events reach the preview and the output", () => {
    const plan = nextPlan(undefined, [], day(0), settings()).plan;
    const base = { ...settings(), userName: "u", plan, scheduleTag: "rotation=30 overlap=7 max=90" };
    const event = (kind: "wait" | "create") => ({
      kind,
      slot: "a" as const,
      generation: 1,
      message: "m",
      at: day(1).toISOString(),
    });
    assert.deepStrictEqual(diffSchedule({ ...base, events: [] }, { ...base, events: [] }), {
      changes: false,
      replaces: [],
    });
    assert.deepStrictEqual(diffSchedule({ ...base, events: [] }, { ...base, events: [event("create")] }), {
      changes: false,
      replaces: [],
    });
    assert.deepStrictEqual(diffSchedule({ ...base, events: [] }, { ...base, events: [event("wait")] }), {
      changes: true,
      replaces: [],
    });
  });

  it("a state without the schedule tag (deployed before it existed) or with another value is updated, so that the tag gets written", () => {
    const plan = nextPlan(undefined, [], day(0), settings()).plan;
    const base = {
      ...settings(),
      userName: "u",
      plan,
      events: [],
      scheduleTag: "rotation=30 overlap=7 max=90",
    };
    const { scheduleTag: _omitted, ...untagged } = base;
    assert.deepStrictEqual(diffSchedule(untagged, base), { changes: true, replaces: [] });
    assert.deepStrictEqual(diffSchedule({ ...base, scheduleTag: "rotation=20 overlap=7 max=90" }, base), {
      changes: true,
      replaces: [],
    });
    assert.deepStrictEqual(diffSchedule(base, base), { changes: false, replaces: [] });
  });
});

describe("schedule: keys the previous plan explains need no tag read", () => {
  // Day 31 of the lifecycle: slot a (generation 1, day 0) and slot b (generation 2, day 31, current).
  const first = nextPlan(undefined, [], day(0), settings()).plan;
  const plan = nextPlan(first, iamAfter(first), day(31), settings()).plan;
  const listed = (id: string, at: Date, status: "Active" | "Inactive" = "Active") => ({
    accessKeyId: id,
    status,
    createDate: at.toISOString(),
  });
  const minutes = (d: Date, m: number) => new Date(d.getTime() + m * 60_000);
  const table: { name: string; keys: ReturnType<typeof listed>[]; expected: string | undefined }[] = [
    {
      name: "one key per planned slot, each created seconds after the plan decided on it",
      keys: [listed("AKIAK2", minutes(day(31), 0.2)), listed("AKIAK1", minutes(day(0), 0.1), "Inactive")],
      expected: "AKIAK2=b2 AKIAK1=a1",
    },
    {
      name: "created 59 minutes after the plan",
      keys: [listed("AKIAK1", minutes(day(0), 59)), listed("AKIAK2", minutes(day(31), 1))],
      expected: "AKIAK1=a1 AKIAK2=b2",
    },
    {
      name: "created 61 minutes after the plan: the tags decide",
      keys: [listed("AKIAK1", minutes(day(0), 61)), listed("AKIAK2", minutes(day(31), 1))],
      expected: undefined,
    },
    {
      name: "created 6 minutes before the plan decided on it: the tags decide",
      keys: [listed("AKIAK1", minutes(day(0), -6)), listed("AKIAK2", minutes(day(31), 1))],
      expected: undefined,
    },
    {
      name: "a planned key is missing: the tags decide",
      keys: [listed("AKIAK2", day(31))],
      expected: undefined,
    },
    {
      name: "a third key: the tags decide",
      keys: [listed("AKIAK1", day(0)), listed("AKIAK2", day(31)), listed("AKIAK3", day(31))],
      expected: undefined,
    },
    {
      name: "two keys fit one slot's time, none the other's: the tags decide",
      keys: [listed("AKIAK2", minutes(day(31), 1)), listed("AKIAK3", minutes(day(31), 2))],
      expected: undefined,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const seen = observeFromPlan(row.keys, plan);
      assert.strictEqual(
        seen?.map((k) => `${k.accessKeyId}=${k.tag ? `${k.tag.slot}${k.tag.generation}` : "?"}`).join(" "),
        row.expected,
      );
      if (seen)
        assert.deepStrictEqual(
          seen.map((k) => k.status),
          row.keys.map((k) => k.status),
        );
    });
  }

  it("an adopted key is matched by its id, and observed without a slot tag", () => {
    const adopted: Plan = {
      ...plan,
      a: { ...plan.a, adoptedKeyId: "AKIAOLD", generation: 0, createdAt: day(-200).toISOString() },
    };
    const keys = [listed("AKIAOLD", day(-200)), listed("AKIAK2", day(31))];
    assert.deepStrictEqual(observeFromPlan(keys, adopted), [
      { accessKeyId: "AKIAOLD", status: "Active", createDate: day(-200).toISOString() },
      {
        accessKeyId: "AKIAK2",
        status: "Active",
        createDate: day(31).toISOString(),
        tag: { slot: "b", generation: 2 },
      },
    ]);
    assert.strictEqual(observeFromPlan([listed("AKIAOTHER", day(-200)), keys[1]], adopted), undefined);
  });
});
