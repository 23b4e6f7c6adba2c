/**
 * The audit's `rotation-stopped` verdict as a pure function (audit/verdict.ts): a key the rotation
 * manages whose user's newest managed key is past `rotationDays + overlapDays + 2` days, while it
 * is still within `maxAgeDays`; with the date the rotation should have acted and the days left.
 */
import * as assert from "assert";
import { renderCsv, renderTable } from "../../audit/format";
import {
  AuditKey,
  judgeKeys,
  judgeUserKeys,
  mayBeStopped,
  MIN_STOPPED_AGE_DAYS,
  ROTATION_GRACE_DAYS,
  stoppedRotation,
  UserRotation,
  Verdict,
} from "../../audit/verdict";
import { AuditResult } from "../../audit/audit";

const NOW = new Date("2027-06-01T12:00:00Z");
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString().replace(".000Z", "Z");

function key(id: string, ageDays: number, status: "Active" | "Inactive" = "Active"): AuditKey {
  return {
    userName: "app",
    accessKeyId: id,
    status,
    createDate: daysAgo(ageDays),
    lastUsedDate: null,
    lastUsedService: null,
    lastUsedRegion: null,
    lastUsedRead: true,
    source: "live",
  };
}

const rules = { maxAgeDays: 90, unusedDays: 30, exemptions: [], now: NOW };
const schedule = { rotationDays: 30, overlapDays: 7, maxAgeDays: 90 };
const managing = (...ids: string[]): UserRotation => ({ schedule, managedKeyIds: ids });

interface Row {
  name: string;
  keys: AuditKey[];
  rotation?: UserRotation;
  /** Verdict per key id, in creation order. */
  verdicts: Record<string, Verdict>;
  /** dueAction, dueDate and daysLeft of the rotation-stopped keys. */
  stopped?: Record<string, [string, string, number]>;
}

const rows: Row[] = [
  {
    name: "the newest managed key at exactly 30 + 7 + 2 days: not yet",
    keys: [key("K1", 39)],
    rotation: managing("K1"),
    verdicts: { K1: "ok" },
  },
  {
    name: "the newest managed key just past 39 days",
    keys: [key("K1", 39.5)],
    rotation: managing("K1"),
    verdicts: { K1: "rotation-stopped" },
    stopped: { K1: ["replace", daysAgo(9.5), 50] },
  },
  {
    name: "60 days: should have been replaced on day 30",
    keys: [key("K1", 60)],
    rotation: managing("K1"),
    verdicts: { K1: "rotation-stopped" },
    stopped: { K1: ["replace", daysAgo(30), 30] },
  },
  {
    name: "exactly 90 days: still rotation-stopped, 0 days left",
    keys: [key("K1", 90)],
    rotation: managing("K1"),
    verdicts: { K1: "rotation-stopped" },
    stopped: { K1: ["replace", daysAgo(60), 0] },
  },
  {
    name: "past 90 days: stale, rotate",
    keys: [key("K1", 90.01)],
    rotation: managing("K1"),
    verdicts: { K1: "rotate" },
  },
  {
    name: "a user whose tags name no schedule: judged by age alone",
    keys: [key("K1", 60)],
    verdicts: { K1: "ok" },
  },
  {
    name: "a key the rotation does not manage (made outside it), on a managed user",
    keys: [key("OUTSIDE", 60)],
    rotation: managing("K1"),
    verdicts: { OUTSIDE: "ok" },
  },
  {
    name: "a live rotation whose older key waits on a use: the newest key is young, both ok",
    keys: [key("K1", 55), key("K2", 25)],
    rotation: managing("K1", "K2"),
    verdicts: { K1: "ok", K2: "ok" },
  },
  {
    name: "stopped with two Active keys: the newest should have been replaced, the older one deactivated",
    keys: [key("K1", 70), key("K2", 40)],
    rotation: managing("K1", "K2"),
    verdicts: { K1: "rotation-stopped", K2: "rotation-stopped" },
    stopped: { K1: ["deactivate", daysAgo(33), 20], K2: ["replace", daysAgo(10), 50] },
  },
  {
    name: "stopped after the older key was deactivated: the Inactive key keeps its own verdict",
    keys: [key("K1", 70, "Inactive"), key("K2", 45)],
    rotation: managing("K1", "K2"),
    verdicts: { K1: "delete", K2: "rotation-stopped" },
    stopped: { K2: ["replace", daysAgo(15), 45] },
  },
  {
    name: "stopped long ago: the older key is stale (rotate), the newest rotation-stopped",
    keys: [key("K1", 95), key("K2", 65)],
    rotation: managing("K1", "K2"),
    verdicts: { K1: "rotate", K2: "rotation-stopped" },
    stopped: { K2: ["replace", daysAgo(35), 25] },
  },
  {
    name: "a shorter schedule (rotation=20 overlap=3): past 25 days",
    keys: [key("K1", 25.5)],
    rotation: { schedule: { rotationDays: 20, overlapDays: 3, maxAgeDays: 60 }, managedKeyIds: ["K1"] },
    verdicts: { K1: "rotation-stopped" },
    stopped: { K1: ["replace", daysAgo(5.5), 64] },
  },
  {
    name: "an adopted pre-existing key and a young outside key: the newest managed key decides",
    keys: [key("ADOPTED", 50), key("OUTSIDE", 5)],
    rotation: managing("ADOPTED"),
    verdicts: { ADOPTED: "rotation-stopped", OUTSIDE: "ok" },
    stopped: { ADOPTED: ["replace", daysAgo(20), 40] },
  },
];

describe("audit verdict rotation-stopped (table)", () => {
  it("waits 2 days of grace; the youngest key it can apply to is older than 3 days", () => {
    assert.strictEqual(ROTATION_GRACE_DAYS, 2);
    assert.strictEqual(MIN_STOPPED_AGE_DAYS, 3);
  });

  for (const row of rows) {
    it(row.name, () => {
      const findings = judgeUserKeys(row.keys, rules, row.rotation);
      assert.deepStrictEqual(
        Object.fromEntries(findings.map((f) => [f.accessKeyId, f.verdict])),
        row.verdicts,
      );
      const stopped = findings.filter((f) => f.rotationStopped);
      assert.deepStrictEqual(
        Object.fromEntries(
          stopped.map((f) => [
            f.accessKeyId,
            [f.rotationStopped?.dueAction, f.rotationStopped?.dueDate, f.rotationStopped?.daysLeft],
          ]),
        ),
        row.stopped ?? {},
      );
      for (const f of stopped) {
        assert.strictEqual(f.rotationStopped?.rotationDays, row.rotation?.schedule.rotationDays);
        assert.strictEqual(f.rotationStopped?.overlapDays, row.rotation?.schedule.overlapDays);
        assert.strictEqual(f.rotationStopped?.graceDays, 2);
      }
    });
  }

  it("says why, when the rotation should have acted, how long is left, and what to check", () => {
    const [older, newest] = judgeUserKeys([key("K1", 70), key("K2", 40)], rules, managing("K1", "K2"));
    assert.strictEqual(
      newest.reason,
      "Active and 40 days old: the rotation that manages it (rotation=30 overlap=7, 2 days' grace) should have " +
        "replaced it by 2027-05-22 and has not; 50 days left before the 90-day limit.",
    );
    assert.strictEqual(
      older.reason,
      "Active and 70 days old: the rotation that manages it (rotation=30 overlap=7, 2 days' grace) should have " +
        "deactivated it by 2027-04-29 and has not; 20 days left before the 90-day limit.",
    );
    assert.strictEqual(
      newest.nextStep,
      "Check the scheduled deploy that rotates app's keys: that it still runs (a disabled schedule, expired CI " +
        "credentials, an unreachable state backend stop it) and that its deploys succeed (a retirement waiting on " +
        "a key still in use, a refused deploy). Then run pulumi up, which rotates the key; rotate it by hand " +
        "before 2027-07-21 otherwise.",
    );
  });

  it("a current exemption makes it exempt (the facts kept); an expired one says so", () => {
    const exemption = { userName: "app", reason: "Migration, SEC-7", expires: "2027-07-01" };
    const [exempt] = judgeUserKeys([key("K1", 50)], { ...rules, exemptions: [exemption] }, managing("K1"));
    assert.strictEqual(exempt.verdict, "exempt");
    assert.strictEqual(exempt.rotationStopped?.daysLeft, 40);
    assert.match(
      exempt.reason,
      /has not; 40 days left before the 90-day limit, but exempt until 2027-07-01: Migration, SEC-7\.$/,
    );
    assert.strictEqual(
      exempt.nextStep,
      "None until 2027-07-01; then restart the rotation or renew the exemption.",
    );
    const expired = { ...exemption, expires: "2027-05-01" };
    const [late] = judgeUserKeys([key("K1", 50)], { ...rules, exemptions: [expired] }, managing("K1"));
    assert.strictEqual(late.verdict, "rotation-stopped");
    assert.match(late.reason, /Its exemption expired on 2027-05-01\.$/);
  });

  it("judgeKeys applies each user's rotation to that user only", () => {
    const other = { ...key("K9", 60), userName: "other" };
    const findings = judgeKeys([key("K1", 60), other], rules, new Map([["app", managing("K1")]]));
    assert.deepStrictEqual(
      findings.map((f) => [f.userName, f.verdict]),
      [
        ["app", "rotation-stopped"],
        ["other", "ok"],
      ],
    );
  });

  it("stoppedRotation ignores keys without an id (the credential report's)", () => {
    assert.strictEqual(
      stoppedRotation([{ ...key("K1", 60), accessKeyId: null }], managing("K1"), rules).size,
      0,
    );
  });

  const candidates: [string, AuditKey, boolean][] = [
    ["Active, 3 days", key("K", 3), false],
    ["Active, 3.1 days", key("K", 3.1), true],
    ["Active, 90 days", key("K", 90), true],
    ["Active, 91 days", key("K", 91), false],
    ["Inactive, 40 days", key("K", 40, "Inactive"), false],
  ];
  for (const [name, k, expected] of candidates) {
    it(`the audit reads the tags of a user with a key ${name}: ${expected}`, () => {
      assert.strictEqual(mayBeStopped(k, 90, NOW), expected);
    });
  }
});

describe("rotation-stopped in the outputs", () => {
  const findings = judgeUserKeys([key("K1", 60)], rules, managing("K1"));
  const result = {
    schemaVersion: 1,
    generatedAt: "2027-06-01T12:00:00Z",
    source: "live",
    sourceReason: "test",
    credentialReport: null,
    settings: {
      maxAgeDays: 90,
      unusedDays: 30,
      failOn: ["rotate", "rotation-stopped"],
      checkSchedule: true,
      userNames: null,
      pathPrefix: null,
      exemptions: 0,
    },
    summary: {
      users: 1,
      keys: 1,
      rotate: 0,
      delete: 0,
      ok: 0,
      exempt: 0,
      "rotation-stopped": 1,
      compliant: false,
    },
    keys: findings,
    notFoundUsers: [],
    vanishedUsers: [],
    expiredExemptions: [],
    warnings: [],
  } as AuditResult;

  it("the table shows ROTATION STOPPED and counts it", () => {
    const table = renderTable(result);
    assert.ok(
      table.includes("app   K1             Active  2027-04-02  60   never      ROTATION STOPPED\n"),
      table,
    );
    assert.ok(
      table.includes("1 users, 1 keys: 0 rotate, 0 delete, 1 rotation stopped, 0 exempt, 0 ok."),
      table,
    );
    assert.ok(table.includes("- app K1: ROTATION STOPPED. Active and 60 days old"), table);
  });

  it("the CSV has the due date and the days left in its last two columns", () => {
    const lines = renderCsv(result).split("\r\n");
    assert.ok(lines[0].endsWith(",source,last_used_read,rotation_due_date,days_left"), lines[0]);
    assert.ok(lines[1].endsWith(`,live,true,${daysAgo(30)},30`), lines[1]);
    assert.ok(lines[1].includes(",rotation-stopped,"), lines[1]);
  });
});
