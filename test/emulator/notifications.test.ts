/**
 * Publishing to the emulator's SNS (moto), read back from an SQS queue subscribed with raw
 * delivery: the publisher's message, subject attributes and FIFO fields; the account read with
 * STS; a missing topic as a warning; and the AccessKey provider announcing its create,
 * deactivation and delete (and a pre-existing key it deletes to make room), never with a secret.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sns from "@aws-sdk/client-sns";
import * as sqs from "@aws-sdk/client-sqs";
import { accessKeyProvider } from "../../components/providers/accessKey";
import { AccessKeyInputs, AccessKeyOutputs, diffKey } from "../../components/providers/accessKeyOps";
import { NotificationMessage } from "../../core/notifications";
import {
  publishNotices,
  setWarningSink,
  snsPublisher,
  stderrWarnings,
  withCallContext,
} from "../../core/notify";
import { adminIam, createUser, emulator, resetClock, setClock } from "../support/moto";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const provider = accessKeyProvider as Required<typeof accessKeyProvider>;
const REGION = "us-east-1";

interface Subscribed {
  topicArn: string;
  queueUrl: string;
}

const sqsClient = () => new sqs.SQSClient({ region: REGION, endpoint: emulator().endpoint });
const snsClient = () => new sns.SNSClient({ region: REGION, endpoint: emulator().endpoint });

async function subscribedTopic(name: string, fifo = false): Promise<Subscribed> {
  const s = snsClient();
  const q = sqsClient();
  try {
    const topicArn = (
      await s.send(
        new sns.CreateTopicCommand({
          Name: name,
          ...(fifo ? { Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false" } } : {}),
        }),
      )
    ).TopicArn as string;
    const queueUrl = (
      await q.send(
        new sqs.CreateQueueCommand({
          QueueName: name,
          ...(fifo ? { Attributes: { FifoQueue: "true" } } : {}),
        }),
      )
    ).QueueUrl as string;
    const arn = (
      await q.send(new sqs.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))
    ).Attributes?.QueueArn;
    await s.send(
      new sns.SubscribeCommand({
        TopicArn: topicArn,
        Protocol: "sqs",
        Endpoint: arn,
        Attributes: { RawMessageDelivery: "true" },
      }),
    );
    return { topicArn, queueUrl };
  } finally {
    s.destroy();
    q.destroy();
  }
}

/** The messages in the queue (emptied), with their attributes. */
async function drain(queueUrl: string): Promise<{ body: string; attributes: Record<string, string> }[]> {
  const q = sqsClient();
  const out: { body: string; attributes: Record<string, string> }[] = [];
  try {
    for (;;) {
      const r = await q.send(
        new sqs.ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ["All"],
        }),
      );
      if (!r.Messages?.length) return out;
      for (const m of r.Messages) {
        out.push({
          body: m.Body ?? "",
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ""]),
          ),
        });
        await q.send(new sqs.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
  } finally {
    q.destroy();
  }
}

const message = (over: Partial<NotificationMessage> = {}): NotificationMessage => ({
  version: 1,
  type: "key.created",
  eventId: "key.created/AKIAEMULATORNOTIFY01",
  account: "123456789012",
  userName: "alice",
  accessKeyId: "AKIAEMULATORNOTIFY01",
  at: "2027-05-01T12:00:00.000Z",
  ...over,
});

describe("notifications: publishing to the emulator's SNS", () => {
  const warned: { message: string; urn?: string }[] = [];
  beforeEach(() => {
    warned.length = 0;
    setWarningSink((m, urn) => warned.push({ message: m, urn }));
  });
  afterEach(() => setWarningSink(stderrWarnings));

  it("the publisher sends the JSON, with type and userName as message attributes", async () => {
    const { topicArn, queueUrl } = await subscribedTopic(`notify-plain-${process.pid}`);
    await snsPublisher(topicArn, message(), "keyrotation: a subject");
    const got = await drain(queueUrl);
    assert.deepStrictEqual(
      got.map((m) => [JSON.parse(m.body), m.attributes]),
      [[message(), { type: "key.created", userName: "alice" }]],
    );
  });

  it("a FIFO topic (which refuses a publish without a message group) gets the user as message group and the event id as deduplication id", async () => {
    const { topicArn, queueUrl } = await subscribedTopic(`notify-fifo-${process.pid}.fifo`, true);
    await snsPublisher(topicArn, message({ type: "key.deleted", eventId: "key.deleted/X" }), "s");
    const got = await drain(queueUrl);
    assert.deepStrictEqual(
      got.map((m) => JSON.parse(m.body).eventId),
      ["key.deleted/X"],
    );
  });

  it("publishNotices adds the account (STS), user, time and the URN's stack and project; returns the ids sent", async () => {
    const { topicArn, queueUrl } = await subscribedTopic(`notify-context-${process.pid}`);
    const urn =
      "urn:pulumi:prod::aws-key-rotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:AccessKey::bob-a";
    const sent = await withCallContext({ urn }, () =>
      publishNotices(topicArn, "bob", "2027-05-02T00:00:00.000Z", [
        { type: "key.deactivated", eventId: "key.deactivated/K", accessKeyId: "K", details: { slot: "a" } },
      ]),
    );
    assert.deepStrictEqual(sent, ["key.deactivated/K"]);
    assert.deepStrictEqual(
      (await drain(queueUrl)).map((m) => JSON.parse(m.body)),
      [
        {
          version: 1,
          type: "key.deactivated",
          eventId: "key.deactivated/K",
          account: "123456789012",
          userName: "bob",
          accessKeyId: "K",
          at: "2027-05-02T00:00:00.000Z",
          stack: "prod",
          project: "aws-key-rotation",
          slot: "a",
        },
      ],
    );
    assert.deepStrictEqual(warned, []);
  });

  it("a topic that does not exist: a warning on the resource naming the event, key, topic and fix; nothing sent", async () => {
    const missing = `arn:aws:sns:${REGION}:123456789012:missing-${process.pid}`;
    const urn = "urn:pulumi:prod::p::keyrotation:iam:AccessKey::k";
    const sent = await withCallContext({ urn }, () =>
      publishNotices(missing, "carol", "2027-05-02T00:00:00.000Z", [
        { type: "key.deleted", eventId: "key.deleted/K9", accessKeyId: "K9", details: {} },
      ]),
    );
    assert.deepStrictEqual(sent, []);
    assert.deepStrictEqual(warned.length, 1);
    assert.strictEqual(warned[0].urn, urn);
    assert.ok(
      warned[0].message.startsWith(
        `The key.deleted notification for access key K9 of IAM user "carol" could not be published to SNS topic ${missing}: NotFoundException`,
      ),
      warned[0].message,
    );
    assert.ok(warned[0].message.endsWith("or fix notifySnsTopicArn."), warned[0].message);
  });
});

describe("notifications: the AccessKey provider announces its changes", () => {
  let topic: Subscribed;
  before(async () => {
    topic = await subscribedTopic(`notify-keys-${process.pid}`);
    await setClock(new Date(Date.now() + 60_000));
  });
  after(async () => {
    await resetClock();
  });

  async function checked(news: Record<string, unknown>): Promise<AccessKeyInputs> {
    const result = await provider.check({}, news);
    assert.deepStrictEqual(result.failures, []);
    return result.inputs as AccessKeyInputs;
  }

  const received = async () =>
    (await drain(topic.queueUrl)).map((m) => {
      assertNoSecrets(m.body, "a notification");
      return JSON.parse(m.body) as NotificationMessage;
    });

  it("check: the topic is kept only when set, validated naming notifySnsTopicArn; a changed topic is an update", async () => {
    assert.strictEqual("notifySnsTopicArn" in (await checked({ userName: "u" })), false);
    assert.strictEqual(
      "notifySnsTopicArn" in (await checked({ userName: "u", notifySnsTopicArn: "" })),
      false,
    );
    const bad = await provider.check({}, { userName: "u", notifySnsTopicArn: "sns-topic" });
    assert.deepStrictEqual(
      bad.failures?.map((f) => f.property),
      ["notifySnsTopicArn"],
    );
    const inputs = await checked({ userName: "u", notifySnsTopicArn: topic.topicArn });
    const outs = { ...inputs, accessKeyId: "AKIAX", secretAccessKey: "", createDate: "" } as AccessKeyOutputs;
    assert.deepStrictEqual(diffKey(outs, inputs), { changes: false, replaces: [] });
    assert.deepStrictEqual(diffKey({ ...outs, notifySnsTopicArn: undefined }, inputs), {
      changes: true,
      replaces: [],
    });
  });

  it("create, deactivation and delete: one message each, after IAM made the change", async () => {
    const userName = await createUser("notify-keys");
    const inputs = await checked({ userName, slot: "a", generation: 1, notifySnsTopicArn: topic.topicArn });
    const created = (await provider.create(inputs)) as { id: string; outs: AccessKeyOutputs };
    registerSecret(created.outs.secretAccessKey);
    const id = created.id;
    const first = await received();
    assert.deepStrictEqual(
      first.map((m) => [m.type, m.accessKeyId, m.userName, m.slot, m.generation, m.status, m.createDate]),
      [["key.created", id, userName, "a", 1, "Active", created.outs.createDate]],
    );
    assert.strictEqual(first[0].account, "123456789012");
    const inactive = await checked({ ...inputs, status: "Inactive" });
    await provider.update(id, created.outs, inactive);
    await provider.update(id, { ...created.outs, status: "Inactive" }, { ...inactive, forceDelete: true });
    assert.deepStrictEqual(
      (await received()).map((m) => [m.type, m.accessKeyId]),
      [["key.deactivated", id]],
    );
    await provider.delete(id, { ...created.outs, ...inactive });
    assert.deepStrictEqual(
      (await received()).map((m) => [m.type, m.accessKeyId]),
      [["key.deleted", id]],
    );
    // A key already gone is not announced again.
    await provider.delete(id, { ...created.outs, ...inactive });
    assert.deepStrictEqual(await received(), []);
  });

  it("a pre-existing key deleted to make room for the new key is announced as deleted", async () => {
    const userName = await createUser("notify-room");
    const c = adminIam();
    const old1 = (await c.send(new iam.CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    const old2 = (await c.send(new iam.CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    registerSecret(old1?.SecretAccessKey);
    registerSecret(old2?.SecretAccessKey);
    const inputs = await checked({
      userName,
      slot: "a",
      generation: 1,
      replacesAccessKeyId: old1?.AccessKeyId,
      notifySnsTopicArn: topic.topicArn,
    });
    const created = (await provider.create(inputs)) as { id: string; outs: AccessKeyOutputs };
    registerSecret(created.outs.secretAccessKey);
    assert.deepStrictEqual(
      (await received()).map((m) => [m.type, m.accessKeyId, m.slot, m.generation]),
      [
        ["key.deleted", old1?.AccessKeyId, "a", 0],
        ["key.created", created.id, "a", 1],
      ],
    );
  });

  it("without a topic nothing is published", async () => {
    const userName = await createUser("notify-none");
    const created = (await provider.create(await checked({ userName }))) as {
      id: string;
      outs: AccessKeyOutputs;
    };
    registerSecret(created.outs.secretAccessKey);
    await provider.delete(created.id, created.outs);
    assert.deepStrictEqual(await received(), []);
  });
});
