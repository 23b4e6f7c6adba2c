/**
 * The user tags the rotation writes for tools that read IAM (core/scheduleTag.ts): the schedule
 * tag's value round-trips, stays within IAM's tag value rules, and the reader ignores what this
 * package does not write.
 */
import * as assert from "assert";
import {
  isRotationKeyTag,
  parseScheduleTag,
  rotationFromTags,
  SCHEDULE_TAG_KEY,
  scheduleTagValue,
} from "../../core/scheduleTag";
import { BOUNDS, DEFAULTS } from "../../core/settings";

/** IAM's pattern and length for tag values (API reference, Tag). */
const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const IAM_TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

describe("the schedule tag (keyrotation:schedule)", () => {
  it("is a valid IAM tag key, and its value for the defaults is rotation=30 overlap=7 max=90", () => {
    assert.match(SCHEDULE_TAG_KEY, IAM_TAG_KEY);
    assert.strictEqual(scheduleTagValue(DEFAULTS), "rotation=30 overlap=7 max=90");
  });

  it("stays within IAM's tag value rules at the settings' bounds, and reads back the same", () => {
    const s = {
      rotationDays: BOUNDS.rotationDays.max,
      overlapDays: BOUNDS.overlapDays.max,
      maxAgeDays: BOUNDS.maxAgeDays.max,
    };
    const value = scheduleTagValue(s);
    assert.strictEqual(value, "rotation=365 overlap=364 max=3650");
    assert.match(value, IAM_TAG_VALUE);
    assert.deepStrictEqual(parseScheduleTag(value), s);
  });

  const values: [string, string | undefined, ReturnType<typeof parseScheduleTag>][] = [
    ["the defaults", "rotation=30 overlap=7 max=90", { rotationDays: 30, overlapDays: 7, maxAgeDays: 90 }],
    ["no overlap", "rotation=1 overlap=0 max=2", { rotationDays: 1, overlapDays: 0, maxAgeDays: 2 }],
    ["absent", undefined, undefined],
    ["empty", "", undefined],
    ["separated by semicolons (IAM refuses ;)", "rotation=30;overlap=7;max=90", undefined],
    ["fields in another order", "overlap=7 rotation=30 max=90", undefined],
    ["a missing field", "rotation=30 overlap=7", undefined],
    ["an overlap not below the rotation", "rotation=7 overlap=7 max=90", undefined],
    ["a zero rotation", "rotation=0 overlap=0 max=90", undefined],
    ["a trailing space", "rotation=30 overlap=7 max=90 ", undefined],
  ];
  for (const [name, value, expected] of values) {
    it(`parses ${name}: ${JSON.stringify(value)}`, () => {
      assert.deepStrictEqual(parseScheduleTag(value), expected);
    });
  }
});

describe("rotation facts from a user's tags", () => {
  const keyTags: [string, string | undefined, boolean][] = [
    ["slot key", "slot=a generation=3", true],
    ["slot b", "slot=b generation=12", true],
    ["adopted", "adopted", true],
    ["standalone AccessKey (no schedule)", "managed", false],
    ["another slot", "slot=c generation=1", false],
    ["empty", "", false],
    ["absent", undefined, false],
  ];
  for (const [name, value, expected] of keyTags) {
    it(`a key tag ${name} is ${expected ? "" : "not "}a key of the rotation`, () => {
      assert.strictEqual(isRotationKeyTag(value), expected);
    });
  }

  it("reads the schedule and the rotation's keys, and ignores intents, standalone keys and other tools' tags", () => {
    const facts = rotationFromTags([
      { Key: "team", Value: "payments" },
      { Key: "keyrotation:AKIAB", Value: "slot=b generation=2" },
      { Key: "keyrotation:AKIAA", Value: "adopted" },
      { Key: "keyrotation:AKIASTANDALONE", Value: "managed" },
      { Key: "keyrotation:pending-a", Value: "" },
      { Key: "keyrotation:pending-b", Value: "generation=2 at=2027-01-01T00:00:00.000Z" },
      { Key: SCHEDULE_TAG_KEY, Value: "rotation=20 overlap=5 max=60" },
    ]);
    assert.deepStrictEqual(facts, {
      schedule: { rotationDays: 20, overlapDays: 5, maxAgeDays: 60 },
      managedKeyIds: ["AKIAA", "AKIAB"],
    });
  });

  it("without the schedule tag (or with one it cannot read) there is no schedule", () => {
    assert.deepStrictEqual(rotationFromTags([{ Key: "keyrotation:AKIAA", Value: "slot=a generation=1" }]), {
      managedKeyIds: ["AKIAA"],
    });
    assert.deepStrictEqual(rotationFromTags([{ Key: SCHEDULE_TAG_KEY, Value: "every month" }]), {
      managedKeyIds: [],
    });
  });
});
