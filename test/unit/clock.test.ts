/**
 * The shared clock: `KEYROTATION_NOW` moves time forward only.
 */
import * as assert from "assert";
import { componentNow, isLoopbackEndpoint, now, parseInstant } from "../../core/clock";
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

describe("clock override in the rotation component: honoured only in a simulation", () => {
  const REAL_NOW = new Date("2027-05-01T12:00:00.000Z");
  const LATER = "2027-09-01T00:00:00.000Z";
  const table: [string, NodeJS.ProcessEnv, string | RegExp][] = [
    ["unset: the real clock", {}, REAL_NOW.toISOString()],
    [
      "a stray override in a real deploy: refused, naming it",
      { KEYROTATION_NOW: LATER },
      /KEYROTATION_NOW=2027-09-01T00:00:00.000Z is set, but the rotation component honours it only in a simulation: KEYROTATION_SIMULATION=1 with IAM reached through a local emulator .*now unset\)\. Unset KEYROTATION_NOW for a real deploy\.$/,
    ],
    [
      "opt-in against real IAM: refused",
      {
        KEYROTATION_NOW: LATER,
        KEYROTATION_SIMULATION: "1",
        AWS_ENDPOINT_URL_IAM: "https://iam.amazonaws.com",
      },
      /honours it only in a simulation.*now "https:\/\/iam.amazonaws.com"/,
    ],
    [
      "an emulator without the opt-in: refused",
      { KEYROTATION_NOW: LATER, AWS_ENDPOINT_URL_IAM: "http://127.0.0.1:5000" },
      /honours it only in a simulation/,
    ],
    [
      "opt-in with a loopback IAM endpoint: honoured",
      { KEYROTATION_NOW: LATER, KEYROTATION_SIMULATION: "1", AWS_ENDPOINT_URL_IAM: "http://127.0.0.1:5000" },
      LATER,
    ],
    [
      "opt-in with localhost through AWS_ENDPOINT_URL: honoured",
      { KEYROTATION_NOW: LATER, KEYROTATION_SIMULATION: "1", AWS_ENDPOINT_URL: "http://localhost:4566" },
      LATER,
    ],
    [
      "opt-in does not allow moving the clock back",
      {
        KEYROTATION_NOW: "2027-01-01T00:00:00Z",
        KEYROTATION_SIMULATION: "1",
        AWS_ENDPOINT_URL_IAM: "http://127.0.0.1:5000",
      },
      /is earlier than the real clock/,
    ],
  ];
  for (const [name, env, expected] of table) {
    it(name, () => {
      if (typeof expected === "string")
        assert.strictEqual(componentNow(env, REAL_NOW).toISOString(), expected);
      else assert.throws(() => componentNow(env, REAL_NOW), expected);
    });
  }

  it("tells loopback endpoints from others", () => {
    assert.deepStrictEqual(
      [
        "http://127.0.0.1:1",
        "http://localhost",
        "http://[::1]:8080",
        "http://127.1.2.3",
        "https://iam.amazonaws.com",
        "http://10.0.0.1",
        "",
        "not a url",
      ].map((u) => isLoopbackEndpoint(u)),
      [true, true, true, true, false, false, false, false],
    );
  });
});
