/**
 * Notifications as pure functions: the setting's validation, event ids, the message shape
 * (version 1), subjects, the ids a resource keeps, and what the schedule's plan and the key
 * resources announce.
 */
import * as assert from "assert";
import {
  buildMessage,
  eventId,
  isFifoTopic,
  keepEventIds,
  KEPT_EVENT_IDS,
  Notice,
  NoticeContext,
  NotificationMessage,
  snsTopicArnFailure,
  subjectOf,
  topicRegion,
  unpublished,
} from "../../core/notifications";
import { deduplicationId, stackOfUrn } from "../../core/notify";
import { keyNotice, planNotices, refusalNotice, unmanagedNotice } from "../../components/rotation/notices";
import { EMPTY_SLOT, ObservedKey, Plan, PlanEvent } from "../../components/rotation/schedule";
import { DEFAULTS, RotationSettings } from "../../core/settings";
import { engineAddressOf } from "../../provider/main";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:key-rotation";
const K1 = "AKIANOTIFYTEST000001";
const K2 = "AKIANOTIFYTEST000002";

describe("notifySnsTopicArn: validation", () => {
  const table: [string, unknown, string | undefined][] = [
    ["unset", undefined, undefined],
    ["empty (none)", "", undefined],
    ["a standard topic", TOPIC, undefined],
    ["a FIFO topic", `${TOPIC}.fifo`, undefined],
    ["GovCloud", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", undefined],
    ["China", "arn:aws-cn:sns:cn-north-1:123456789012:t_1-x", undefined],
    ["an SQS queue", "arn:aws:sqs:eu-west-1:123456789012:q", `"arn:aws:sqs:eu-west-1:123456789012:q"`],
    ["a topic name only", "key-rotation", `"key-rotation"`],
    ["an 11-digit account", "arn:aws:sns:eu-west-1:12345678901:t", `"arn:aws:sns:eu-west-1:12345678901:t"`],
    ["no region", "arn:aws:sns::123456789012:t", `"arn:aws:sns::123456789012:t"`],
    [
      "a dot in the name",
      "arn:aws:sns:eu-west-1:123456789012:a.b",
      `"arn:aws:sns:eu-west-1:123456789012:a.b"`,
    ],
    ["a subscription ARN", `${TOPIC}:0b6f2a9e-1`, `"${TOPIC}:0b6f2a9e-1"`],
    ["a number", 12, "a number"],
  ];
  for (const [what, value, got] of table) {
    it(`${what}: ${got === undefined ? "accepted" : "refused, naming the setting and the fix"}`, () => {
      const f = snsTopicArnFailure(value);
      if (got === undefined) {
        assert.strictEqual(f, undefined);
        return;
      }
      assert.deepStrictEqual(f, {
        property: "notifySnsTopicArn",
        reason:
          `notifySnsTopicArn ${got} is not the ARN of an SNS topic: set notifySnsTopicArn to ` +
          `arn:aws:sns:<region>:<12-digit account>:<topic name> (aws sns list-topics shows it), or remove it to send no notifications.`,
      });
    });
  }

  it("names the setting as the caller does (a stack config key)", () => {
    assert.strictEqual(
      snsTopicArnFailure("x", "aws-key-rotation:notifySnsTopicArn")?.property,
      "aws-key-rotation:notifySnsTopicArn",
    );
  });

  it("reads the region and FIFO-ness from the ARN", () => {
    assert.deepStrictEqual(
      [topicRegion(TOPIC), isFifoTopic(TOPIC), isFifoTopic(`${TOPIC}.fifo`)],
      ["eu-west-1", false, true],
    );
  });
});

const context: NoticeContext = {
  account: "123456789012",
  userName: "alice",
  at: "2027-05-01T12:00:00.000Z",
  stack: "prod",
  project: "aws-key-rotation",
};

describe("the message (version 1)", () => {
  it("has the common fields first, then the type's own in alphabetical order; a detail never overrides a common field", () => {
    const notice: Notice = {
      type: "key.created",
      eventId: eventId("key.created", K1),
      accessKeyId: K1,
      details: { status: "Active", slot: "a", generation: 1, userName: "mallory", version: 7 },
    };
    const m = buildMessage(notice, context);
    assert.deepStrictEqual(Object.entries(m), [
      ["version", 1],
      ["type", "key.created"],
      ["eventId", `key.created/${K1}`],
      ["account", "123456789012"],
      ["userName", "alice"],
      ["accessKeyId", K1],
      ["at", "2027-05-01T12:00:00.000Z"],
      ["stack", "prod"],
      ["project", "aws-key-rotation"],
      ["generation", 1],
      ["slot", "a"],
      ["status", "Active"],
    ]);
  });

  it("leaves out stack and project when they are not known; the account is null when unknown", () => {
    const m = buildMessage(
      { type: "key.deleted", eventId: "key.deleted/X", accessKeyId: K1, details: {} },
      { account: null, userName: "bob", at: context.at },
    );
    assert.deepStrictEqual(m, {
      version: 1,
      type: "key.deleted",
      eventId: "key.deleted/X",
      account: null,
      userName: "bob",
      accessKeyId: K1,
      at: context.at,
    });
  });

  it("event ids: type, then the keys and step, joined with /", () => {
    assert.deepStrictEqual(
      [
        eventId("retirement.waiting", K1, "deactivate"),
        eventId("deploy.refused", "self-key", K1),
        eventId("key.created", K2),
      ],
      [`retirement.waiting/${K1}/deactivate`, `deploy.refused/self-key/${K1}`, `key.created/${K2}`],
    );
  });

  it("a FIFO deduplication id is the event id, or its SHA-256 when longer than 128 characters", () => {
    assert.strictEqual(deduplicationId(`key.created/${K1}`), `key.created/${K1}`);
    const long = `unmanaged-keys.found/${"A".repeat(120)}`;
    assert.match(deduplicationId(long), /^[0-9a-f]{64}$/);
  });

  it("the stack and project come from the resource's URN", () => {
    assert.deepStrictEqual(
      stackOfUrn(
        "urn:pulumi:prod::aws-key-rotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:AccessKey::alice-a",
      ),
      { stack: "prod", project: "aws-key-rotation" },
    );
    assert.deepStrictEqual(stackOfUrn(undefined), {});
  });
});

describe("subjects: readable, ASCII, under 100 characters", () => {
  const message = (
    type: Notice["type"],
    details: Notice["details"],
    userName = "alice",
  ): NotificationMessage =>
    buildMessage(
      { type, eventId: `${type}/x`, accessKeyId: type === "unmanaged-keys.found" ? null : K1, details },
      { ...context, userName },
    );
  const table: [string, NotificationMessage, string][] = [
    ["key.created", message("key.created", {}), `keyrotation: Access key ${K1} created for IAM user alice`],
    [
      "key.deactivated",
      message("key.deactivated", {}),
      `keyrotation: Access key ${K1} of IAM user alice deactivated`,
    ],
    ["key.deleted", message("key.deleted", {}), `keyrotation: Access key ${K1} of IAM user alice deleted`],
    [
      "retirement.waiting",
      message("retirement.waiting", { serviceName: "s3" }),
      `keyrotation: Action needed: key ${K1} of alice still used by s3`,
    ],
    [
      "age.nearing-limit",
      message("age.nearing-limit", { daysLeft: 9 }),
      `keyrotation: Action needed: key ${K1} of alice is 9 days from maxAgeDays`,
    ],
    [
      "deploy.refused",
      message("deploy.refused", { reason: "self-key" }),
      `keyrotation: Action needed: deploy refused (self-key) for key ${K1} of alice`,
    ],
    [
      "unmanaged-keys.found, refused",
      message("unmanaged-keys.found", { accessKeyIds: [K1, K2], action: "refused" }),
      "keyrotation: Action needed: 2 key(s) made outside the rotation on alice",
    ],
    [
      "unmanaged-keys.found, taken over",
      message("unmanaged-keys.found", { accessKeyIds: [K1], action: "retire" }),
      "keyrotation: Taking over 1 key(s) made outside the rotation on alice",
    ],
    [
      "a 64-character user name, cut",
      message("key.deactivated", {}, "u".repeat(64)),
      `keyrotation: Access key ${K1} of IAM user ${"u".repeat(64)}`.slice(0, 96) + "...",
    ],
    [
      "a detail that is not ASCII",
      message("retirement.waiting", { serviceName: "s\u00e9rvice\nx" }),
      `keyrotation: Action needed: key ${K1} of alice still used by s?rvice?x`,
    ],
  ];
  for (const [what, m, subject] of table) {
    it(what, () => {
      const s = subjectOf(m);
      assert.strictEqual(s, subject);
      assert.ok(s.length < 100 && /^[\x20-\x7e]+$/.test(s), s);
    });
  }
});

describe("the ids a resource keeps, and what is still to publish", () => {
  it("keeps old then new ids once each, at most KEPT_EVENT_IDS, the newest", () => {
    assert.deepStrictEqual(keepEventIds(["a", "b"], ["b", "c"]), ["a", "b", "c"]);
    assert.deepStrictEqual(keepEventIds(undefined, []), []);
    const many = Array.from({ length: KEPT_EVENT_IDS + 5 }, (_, i) => `id${i}`);
    const kept = keepEventIds(many, ["new"]);
    assert.strictEqual(kept.length, KEPT_EVENT_IDS);
    assert.deepStrictEqual([kept[0], kept[kept.length - 1]], ["id6", "new"]);
  });

  it("publishes only notices whose ids are not recorded, each id once", () => {
    const n = (id: string): Notice => ({ type: "key.created", eventId: id, accessKeyId: K1, details: {} });
    assert.deepStrictEqual(
      unpublished([n("a"), n("b"), n("b"), n("c")], ["a"]).map((x) => x.eventId),
      ["b", "c"],
    );
  });
});

const DAY0 = new Date("2027-05-01T12:00:00.000Z");
const day = (d: number) => new Date(DAY0.getTime() + d * 86_400_000);
const settings = (over: Partial<RotationSettings> = {}): RotationSettings => ({ ...DEFAULTS, ...over });

/** K1 in slot a (generation 1, created day 0), K2 current in slot b (generation 2, created day 30). */
const plan: Plan = {
  current: "b",
  a: { ...EMPTY_SLOT, present: true, generation: 1, createdAt: DAY0.toISOString(), status: "Active" },
  b: { ...EMPTY_SLOT, present: true, generation: 2, createdAt: day(30).toISOString(), status: "Active" },
  nextRotationDate: day(60).toISOString(),
};
const observed: ObservedKey[] = [
  { accessKeyId: K1, status: "Active", createDate: DAY0.toISOString(), tag: { slot: "a", generation: 1 } },
  { accessKeyId: K2, status: "Active", createDate: day(30).toISOString(), tag: { slot: "b", generation: 2 } },
];
const use = { lastUsedDate: "2027-06-30T11:00:00.000Z", serviceName: "s3", region: "eu-west-1" };
const until = "2027-07-01T11:00:00.000Z";
const deactivationWait: PlanEvent = {
  kind: "wait",
  slot: "a",
  generation: 1,
  accessKeyId: K1,
  waitsFor: "deactivate",
  use,
  until,
  message: "deactivation waits",
};
const rotationWait: PlanEvent = { ...deactivationWait, waitsFor: "delete", message: "rotation waits" };

describe("what the schedule's plan announces", () => {
  it("a wait: retirement.waiting with the key, the step, its last use and until when", () => {
    assert.deepStrictEqual(planNotices([deactivationWait], plan, observed, day(40), settings()), [
      {
        type: "retirement.waiting",
        eventId: `retirement.waiting/${K1}/deactivate`,
        accessKeyId: K1,
        details: {
          waitsFor: "deactivate",
          lastUsedDate: use.lastUsedDate,
          serviceName: "s3",
          region: "eu-west-1",
          until,
          deletionGuardHours: 24,
          message: "deactivation waits",
        },
      },
    ]);
  });

  // maxAgeDays 90: the waiting key (day 0) is at the limit on day 90; the current key (day 30) on day 120.
  const nearingTable: { name: string; events: PlanEvent[]; at: number; want: string[] }[] = [
    { name: "15 days left: not yet", events: [deactivationWait], at: 75, want: [] },
    {
      name: "14 days left: the waiting key nears the limit",
      events: [deactivationWait],
      at: 76,
      want: [`${K1} 14 deactivated`],
    },
    {
      name: "on the limit: 0 days left",
      events: [deactivationWait],
      at: 90.5,
      want: [`${K1} 0 deactivated`],
    },
    {
      name: "a rotation that waits: the current key's limit counts (the deploy is then refused)",
      events: [rotationWait],
      at: 106,
      want: [`${K2} 14 deploy-refused`],
    },
    {
      name: "both waits at once, each key once",
      events: [rotationWait, deactivationWait],
      at: 110,
      want: [`${K2} 10 deploy-refused`, `${K1} 0 deactivated`],
    },
  ];
  for (const row of nearingTable) {
    it(`age.nearing-limit: ${row.name}`, () => {
      const notices = planNotices(row.events, plan, observed, day(row.at), settings());
      assert.deepStrictEqual(
        notices
          .filter((n) => n.type === "age.nearing-limit")
          .map((n) => `${n.accessKeyId} ${n.details.daysLeft} ${n.details.atLimit}`),
        row.want,
      );
    });
  }

  it("age.nearing-limit carries the age, the limit and when it is reached, and who uses the waiting key", () => {
    const [, nearing] = planNotices([deactivationWait], plan, observed, day(80), settings());
    assert.deepStrictEqual(nearing, {
      type: "age.nearing-limit",
      eventId: `age.nearing-limit/${K1}`,
      accessKeyId: K1,
      details: {
        ageDays: 80,
        daysLeft: 10,
        maxAgeDays: 90,
        limitAt: day(90).toISOString(),
        atLimit: "deactivated",
        waitingAccessKeyId: K1,
        lastUsedDate: use.lastUsedDate,
        serviceName: "s3",
        region: "eu-west-1",
      },
    });
  });

  it("keys taken over (unmanagedKeys retire): one unmanaged-keys.found with their ids, sorted", () => {
    const adopt = (id: string): PlanEvent => ({
      kind: "adopt",
      slot: "b",
      generation: 0,
      accessKeyId: id,
      message: "adopted",
    });
    const notices = planNotices([adopt(K2), adopt(K1)], plan, observed, day(1), settings());
    assert.deepStrictEqual(
      notices.map((n) => [n.type, n.eventId, n.accessKeyId, n.details.accessKeyIds, n.details.action]),
      [["unmanaged-keys.found", `unmanaged-keys.found/retire/${K1},${K2}`, null, [K1, K2], "retire"]],
    );
  });

  it("other events announce nothing (the key resources announce their own changes)", () => {
    const kinds = ["create", "recreate", "deactivate", "max-age", "slot-emptied", "leftover"] as const;
    const events = kinds.map((kind): PlanEvent => ({ kind, slot: "a", generation: 1, message: kind }));
    assert.deepStrictEqual(planNotices(events, plan, observed, day(1), settings()), []);
  });

  it("refusals and keys made outside the rotation", () => {
    assert.deepStrictEqual(refusalNotice("self-key", K1, "text", { wouldRetire: "deactivate" }), {
      type: "deploy.refused",
      eventId: `deploy.refused/self-key/${K1}`,
      accessKeyId: K1,
      details: { reason: "self-key", wouldRetire: "deactivate", message: "text" },
    });
    assert.deepStrictEqual(unmanagedNotice([K2, K1], "refused", "text"), {
      type: "unmanaged-keys.found",
      eventId: `unmanaged-keys.found/refused/${K1},${K2}`,
      accessKeyId: null,
      details: { accessKeyIds: [K1, K2], action: "refused", message: "text" },
    });
  });

  it("key changes", () => {
    assert.deepStrictEqual(keyNotice("key.deactivated", { accessKeyId: K1, slot: "a", generation: 1 }), {
      type: "key.deactivated",
      eventId: `key.deactivated/${K1}`,
      accessKeyId: K1,
      details: { slot: "a", generation: 1 },
    });
  });
});

describe("the provider plugin's engine address", () => {
  const table: [string[], string | undefined][] = [
    [["127.0.0.1:4000"], "127.0.0.1:4000"],
    [["--logtostderr", "-v=9", "127.0.0.1:4000"], "127.0.0.1:4000"],
    [["--tracing", "http://t", "127.0.0.1:4000"], "127.0.0.1:4000"],
    [[], undefined],
  ];
  for (const [args, address] of table) {
    it(`${JSON.stringify(args)} -> ${address}`, () => {
      assert.strictEqual(engineAddressOf(args), address);
    });
  }
});
