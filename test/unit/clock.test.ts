/**
 * The shared clock: `KEYROTATION_NOW` moves time forward only.
 */
import * as assert from "assert";
import { now, parseInstant } from "../../core/clock";
import { checkSchedule } from "../../components/providers/rotationSchedule";

const REAL = new Date("2027-05-01T12:00:00.000Z");

describe("clock", () => {
  const table: [string, string | undefined, string | RegExp][] = [
    ["unset: the real clock", undefined, "2027-05-01T12:00:00.000Z"],
    ["empty: the real clock", "", "2027-05-01T12:00:00.000Z"],
    ["later: the override", "2027-08-01T00:00:00Z", "2027-08-01T00:00:00.000Z"],
    ["equal: the override", "2027-05-01T12:00:00.000Z", "2027-05-01T12:00:00.000Z"],
    ["with an offset", "2027-05-01T15:00:00+02:00", "2027-05-01T13:00:00.000Z"],
    [
      "earlier: rejected",
      "2027-04-30T12:00:00Z",
      /is earlier than the real clock \(2027-05-01T12:00:00.000Z\).*can only move time forward/,
    ],
    ["one millisecond earlier: rejected", "2027-05-01T11:59:59.999Z", /is earlier than the real clock/],
    ["malformed: rejected", "next tuesday", /KEYROTATION_NOW="next tuesday" is not an ISO-8601 instant/],
    ["impossible date: rejected", "2027-02-30T00:00:00Z", /is not an ISO-8601 instant|earlier/],
  ];
  for (const [name, value, expected] of table) {
    it(name, () => {
      const env = value === undefined ? {} : { KEYROTATION_NOW: value };
      if (typeof expected === "string") {
        assert.strictEqual(now(env, REAL).toISOString(), expected);
      } else {
        assert.throws(() => now(env, REAL), expected);
      }
    });
  }

  it("parses dates and instants, and nothing else", () => {
    assert.strictEqual(parseInstant("2027-06-30")?.toISOString(), "2027-06-30T00:00:00.000Z");
    assert.strictEqual(parseInstant("30/06/2027"), undefined);
    assert.strictEqual(parseInstant("2027-06-30T25:00:00Z"), undefined);
  });

  it("the schedule refuses to plan with a clock set backwards, naming KEYROTATION_NOW", async () => {
    const saved = process.env.KEYROTATION_NOW;
    process.env.KEYROTATION_NOW = "2020-01-01T00:00:00Z";
    try {
      const result = await checkSchedule({}, { userName: "clock-user" });
      assert.strictEqual(result.failures.length, 1);
      assert.strictEqual(result.failures[0].property, "KEYROTATION_NOW");
      assert.match(
        result.failures[0].reason,
        /^KEYROTATION_NOW=2020-01-01T00:00:00.000Z is earlier than the real clock/,
      );
      assert.strictEqual(result.inputs.plan, undefined);
    } finally {
      if (saved === undefined) delete process.env.KEYROTATION_NOW;
      else process.env.KEYROTATION_NOW = saved;
    }
  });
});
