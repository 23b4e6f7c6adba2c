/**
 * What each key on a user is, from the user's tags (pure): slot keys, standalone and adopted keys,
 * keys left by an interrupted create, and keys made outside Pulumi.
 */
import * as assert from "assert";
import {
  describeRole,
  keyRoles,
  ListedKey,
  observe,
  pendingTagKey,
  pendingTagValue,
  readTags,
  staleKeyTags,
} from "../../components/rotation/keyRoles";

const T = "2027-02-01T10:00:00.000Z";
const at = (minutes: number) => new Date(new Date(T).getTime() + minutes * 60_000).toISOString();
const key = (id: string, minutes: number): ListedKey => ({
  accessKeyId: id,
  status: "Active",
  createDate: at(minutes),
});

describe("key roles from the user's tags", () => {
  const table: {
    name: string;
    tags: Record<string, string>;
    creating?: { slot: string; generation: number };
    minutes: number;
    expected: string;
  }[] = [
    {
      name: "a slot tag",
      tags: { "keyrotation:AKIAK1": "slot=a generation=2" },
      minutes: 0,
      expected: "slot a 2",
    },
    {
      name: "a standalone key",
      tags: { "keyrotation:AKIAK1": "managed" },
      minutes: 0,
      expected: "standalone",
    },
    { name: "an adopted key", tags: { "keyrotation:AKIAK1": "adopted" }, minutes: 0, expected: "adopted" },
    { name: "no tag, no intent", tags: {}, minutes: 0, expected: "outside" },
    {
      name: "untagged, created 2 s after the intent of slot b",
      tags: { [pendingTagKey("b")]: pendingTagValue({ generation: 3, at: T }) },
      minutes: 2 / 60,
      expected: "leftover b 3",
    },
    {
      name: "untagged, created 4 minutes before the intent (clock skew allowance)",
      tags: { [pendingTagKey("a")]: pendingTagValue({ generation: 1, at: T }) },
      minutes: -4,
      expected: "leftover a 1",
    },
    {
      name: "untagged, created 6 minutes before the intent: made outside Pulumi",
      tags: { [pendingTagKey("a")]: pendingTagValue({ generation: 1, at: T }) },
      minutes: -6,
      expected: "outside",
    },
    {
      name: "untagged, created 11 minutes after a stale intent: made outside Pulumi, never deleted",
      tags: { [pendingTagKey("a")]: pendingTagValue({ generation: 1, at: T }) },
      minutes: 11,
      expected: "outside",
    },
    {
      name: "tagged for the slot and generation being created again: left by an unrecorded attempt",
      tags: { "keyrotation:AKIAK1": "slot=b generation=2" },
      creating: { slot: "b", generation: 2 },
      minutes: 0,
      expected: "leftover b 2",
    },
    {
      name: "tagged for another generation of the slot being created: the slot's old key",
      tags: { "keyrotation:AKIAK1": "slot=b generation=1" },
      creating: { slot: "b", generation: 2 },
      minutes: 0,
      expected: "slot b 1",
    },
    {
      name: "a standalone key's intent",
      tags: { [pendingTagKey("")]: pendingTagValue({ generation: 0, at: T }) },
      minutes: 0,
      expected: "leftover  0",
    },
    {
      name: "a malformed intent is ignored",
      tags: { "keyrotation:pending-a": "generation=x at=yesterday" },
      minutes: 0,
      expected: "outside",
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const tags = readTags(Object.entries(row.tags).map(([Key, Value]) => ({ Key, Value })));
      const role = keyRoles([key("AKIAK1", row.minutes)], tags, row.creating).get("AKIAK1");
      const shown =
        role?.kind === "slot"
          ? `slot ${role.slot} ${role.generation}`
          : role?.kind === "leftover"
            ? `leftover ${role.slot} ${role.generation}`
            : role?.kind;
      assert.strictEqual(shown, row.expected);
    });
  }

  it("reads only this package's tags, and counts every tag for the 50-tag limit", () => {
    const tags = readTags([
      { Key: "team", Value: "payments" },
      { Key: "keyrotation:AKIAK1", Value: "slot=a generation=1" },
      { Key: pendingTagKey("b"), Value: pendingTagValue({ generation: 2, at: T }) },
    ]);
    assert.deepStrictEqual([...tags.keyTags.entries()], [["AKIAK1", "slot=a generation=1"]]);
    assert.deepStrictEqual(tags.pending, [{ slot: "b", generation: 2, at: T }]);
    assert.strictEqual(tags.total, 3);
  });

  it("finds tags of keys that no longer exist (never the schedule tag, which names no key)", () => {
    const tags = readTags([
      { Key: "keyrotation:AKIAGONE", Value: "slot=a generation=1" },
      { Key: "keyrotation:AKIAK1", Value: "slot=b generation=2" },
      { Key: "keyrotation:schedule", Value: "rotation=30 overlap=7 max=90" },
    ]);
    assert.deepStrictEqual(staleKeyTags([key("AKIAK1", 0)], tags.keyTags), ["keyrotation:AKIAGONE"]);
    assert.strictEqual(tags.total, 3);
  });

  it("observes slot keys with their tag and leftovers with the reason, for the schedule", () => {
    const tags = readTags([
      { Key: "keyrotation:AKIAK1", Value: "slot=a generation=1" },
      { Key: pendingTagKey("b"), Value: pendingTagValue({ generation: 2, at: T }) },
    ]);
    const seen = observe([key("AKIAK1", -100), key("AKIAK2", 0.1)], tags);
    assert.deepStrictEqual(seen[0], { ...key("AKIAK1", -100), tag: { slot: "a", generation: 1 } });
    assert.match(
      seen[1].leftover ?? "",
      /^created 2027-02-01T10:00:06.000Z, after the intent to create slot b generation 2 recorded at 2027-02-01T10:00:00.000Z, and never tagged/,
    );
  });

  it("resolves two keys tagged for one slot and generation: the newest is the slot's, the older one a leftover", () => {
    const tags = readTags([
      { Key: "keyrotation:AKIAOLD", Value: "slot=b generation=4" },
      { Key: "keyrotation:AKIANEW", Value: "slot=b generation=4" },
      { Key: "keyrotation:AKIAA", Value: "slot=a generation=3" },
    ]);
    const keys = [key("AKIANEW", 5), key("AKIAOLD", 0), key("AKIAA", -500)];
    const seen = observe(keys, tags);
    assert.deepStrictEqual(seen[0], { ...key("AKIANEW", 5), tag: { slot: "b", generation: 4 } });
    assert.strictEqual(
      seen[1].leftover,
      "tagged for slot b generation 4 like the newer key AKIANEW, which the state holds: an earlier attempt was interrupted before the state recorded it",
    );
    assert.deepStrictEqual(seen[2], { ...key("AKIAA", -500), tag: { slot: "a", generation: 3 } });
    // The same answer whatever order IAM lists them in, and for equal creation dates.
    assert.deepStrictEqual(observe([...keys].reverse(), tags).reverse(), seen);
    const same = [key("AKIAY", 0), key("AKIAX", 0)];
    const sameTags = readTags([
      { Key: "keyrotation:AKIAX", Value: "slot=a generation=1" },
      { Key: "keyrotation:AKIAY", Value: "slot=a generation=1" },
    ]);
    for (const order of [same, [...same].reverse()]) {
      const roles = keyRoles(order, sameTags);
      assert.deepStrictEqual([roles.get("AKIAX")?.kind, roles.get("AKIAY")?.kind], ["leftover", "slot"]);
    }
  });

  it("names each key's role in messages, with an age that is never negative", () => {
    const now = new Date(at(-1));
    assert.strictEqual(
      describeRole(key("AKIAK1", 0), { kind: "outside" }, now),
      `AKIAK1 (made outside Pulumi; Active, created ${T}, 0 days old)`,
    );
    assert.strictEqual(
      describeRole(
        key("AKIAK1", 0),
        { kind: "leftover", slot: "a", generation: 1, reason: "r" },
        new Date(at(2 * 1440)),
      ),
      `AKIAK1 (left by an interrupted deploy; Active, created ${T}, 2 days old)`,
    );
  });
});
