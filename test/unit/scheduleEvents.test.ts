/**
 * The schedule's check keeps the stored events on a run that decides nothing new, so that its
 * checked inputs equal the stored ones (the engine then has nothing to write for a "same" step);
 * and the component reports as new only the events this deployment decided.
 */
import * as assert from "assert";
import { checkSchedule, ScheduleSources, ScheduleState } from "../../components/providers/rotationSchedule";
import { freshEvents, ObservedKey } from "../../components/rotation/schedule";

const DAY0 = new Date("2027-05-01T12:00:00.000Z");
const KEY = "AKIAEVENTSTEST000001";

function sources(at: Date, keys: ObservedKey[]): ScheduleSources {
  return {
    observe: async () => keys,
    clock: () => at,
    caller: async () => undefined,
    lastUse: async () => ({ serviceName: "N/A", region: "N/A" }),
  };
}

/** The state as the engine hands it back: keys in sorted order, like a checkpoint's. */
function stored(inputs: Record<string, unknown>): Partial<ScheduleState> {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sort(inputs) as Partial<ScheduleState>;
}

describe("schedule check: stored events on a run that decides nothing new", () => {
  const news = { userName: "events-user" };
  const createdKey: ObservedKey = {
    accessKeyId: KEY,
    status: "Active",
    createDate: DAY0.toISOString(),
    tag: { slot: "a", generation: 1 },
  };

  it("keeps the stored events when nothing changes, so that the inputs equal the stored ones", async () => {
    const first = await checkSchedule({}, news, sources(DAY0, []));
    assert.deepStrictEqual(first.failures, []);
    // The value of the user tag that create and update write (never the check: not at preview).
    assert.strictEqual(first.inputs.scheduleTag, "rotation=30 overlap=7 max=90");
    const events = first.inputs.events as { kind: string }[];
    assert.deepStrictEqual(
      events.map((e) => e.kind),
      ["create"],
    );
    const olds = stored(first.inputs);
    const later = new Date(DAY0.getTime() + 3_600_000);
    const again = await checkSchedule(olds, news, sources(later, [createdKey]));
    assert.deepStrictEqual(again.failures, []);
    assert.deepStrictEqual(again.inputs.events, olds.events);
    assert.deepStrictEqual(stored(again.inputs), olds);
  });

  it("does not keep stored events that announce a wait or a clean-up (they would update every run)", async () => {
    const first = await checkSchedule({}, news, sources(DAY0, []));
    const olds = stored({
      ...first.inputs,
      events: [{ at: DAY0.toISOString(), kind: "wait", slot: "a", generation: 1, message: "waits" }],
    });
    const again = await checkSchedule(olds, news, sources(DAY0, [createdKey]));
    assert.deepStrictEqual(again.inputs.events, []);
  });

  it("does not keep them when a setting changes", async () => {
    const first = await checkSchedule({}, news, sources(DAY0, []));
    const olds = stored(first.inputs);
    const again = await checkSchedule(olds, { ...news, overlapDays: 3 }, sources(DAY0, [createdKey]));
    assert.deepStrictEqual(again.failures, []);
    assert.deepStrictEqual(again.inputs.events, []);
    assert.strictEqual(again.inputs.scheduleTag, "rotation=30 overlap=3 max=90");
  });
});

describe("freshEvents: what the component reports as decided by this deployment", () => {
  const registered = new Date("2027-05-01T12:00:00.000Z");
  const at = (offsetMs: number) => new Date(registered.getTime() + offsetMs).toISOString();
  const table: { name: string; eventAt: string; now: Date; fresh: boolean }[] = [
    { name: "stamped by this deployment's check", eventAt: at(2_000), now: new Date(at(5_000)), fresh: true },
    {
      name: "kept from the deploy before (stamped before registration)",
      eventAt: at(-60_000),
      now: new Date(at(5_000)),
      fresh: false,
    },
    { name: "simulated clock that does not move", eventAt: at(0), now: new Date(at(0)), fresh: true },
    { name: "stamped after now", eventAt: at(10_000), now: new Date(at(5_000)), fresh: false },
    {
      name: "an hour or more before now",
      eventAt: at(1_000),
      now: new Date(at(1_000 + 3_600_000)),
      fresh: false,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const events = [{ at: row.eventAt, kind: "create" }];
      assert.deepStrictEqual(freshEvents(events, registered, row.now), row.fresh ? events : []);
    });
  }
});
