/**
 * Notifications with the real Pulumi CLI, the emulator (IAM, SNS and SQS) and one shared clock:
 * the root project rotates one user's keys with `notifySnsTopicArn` set, over simulated days 0,
 * 31, 38 and 61, while one application goes on using the user's first key. An SQS queue
 * subscribed to the topic receives exactly the expected messages: each once, none from a preview
 * or a repeated up, none with a secret. A topic that does not exist makes a warning, never a
 * failed deploy; a deploy refused by the age limit is announced once by the failing up.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as sns from "@aws-sdk/client-sns";
import * as sqs from "@aws-sdk/client-sqs";
import * as sts from "@aws-sdk/client-sts";
import { addDays } from "../../core/clock";
import { NotificationMessage, subjectOf } from "../../core/notifications";
import { adminIam, emulator, listKeys, setClock } from "../support/moto";
import { diagnostics, EngineEvent, REPO_ROOT, RunResult, TestStack } from "../support/pulumiCli";
import { assertNoSecrets, registerSecret } from "../support/secretGuard";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

interface Received {
  subject: string;
  message: NotificationMessage;
  /** The whole SQS body (the SNS envelope), for the secret check. */
  body: string;
}

describe("e2e: notifications over simulated days (root project, SNS to SQS)", function () {
  this.timeout(1_800_000);
  const user = `notify-${process.pid}`;
  const T0 = new Date(Date.now() + 3_600_000);
  T0.setUTCMilliseconds(0);
  let stack: TestStack;
  let topicArn: string;
  let queueUrl: string;
  const client = <T>(make: new (c: object) => T): T =>
    new make({ region: REGION, endpoint: emulator().endpoint });
  const snsClient = () => client(sns.SNSClient);
  const sqsClient = () => client(sqs.SQSClient);
  /** Every message the queue received, in order, over the whole test (for the issue's note). */
  const all: { day: number; type: string; accessKeyId: string | null }[] = [];
  /** Key ids in the order IAM created them: K1, K2, ... */
  const keyIds: string[] = [];
  const secrets = new Map<string, string>();
  let day = 0;

  /** What the queue holds now (emptied): messages published since the last call. */
  async function received(): Promise<Received[]> {
    const q = sqsClient();
    const out: Received[] = [];
    try {
      for (;;) {
        const r = await q.send(
          new sqs.ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        const messages = r.Messages ?? [];
        if (messages.length === 0) break;
        for (const m of messages) {
          const envelope = JSON.parse(m.Body ?? "{}") as { Subject?: string; Message?: string };
          out.push({
            subject: envelope.Subject ?? "",
            message: JSON.parse(envelope.Message ?? "{}") as NotificationMessage,
            body: m.Body ?? "",
          });
          await q.send(new sqs.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
      }
    } finally {
      q.destroy();
    }
    for (const r of out) {
      all.push({ day, type: r.message.type, accessKeyId: r.message.accessKeyId });
      if (process.env.KEYROTATION_E2E_VERBOSE)
        console.log(`      day ${day}: ${r.subject}\n${JSON.stringify(r.message)}`);
    }
    return out;
  }

  /** `type key` of each message, with key ids named K1, K2... (their order of creation). */
  function named(messages: Received[]): string[] {
    return messages.map((r) => {
      const id = r.message.accessKeyId;
      const i = id === null ? -1 : keyIds.indexOf(id);
      return `${r.message.type} ${id === null ? "-" : i >= 0 ? `K${i + 1}` : id}`;
    });
  }

  /** The application that never moved off the first key: signs a request with it. */
  async function appUsesFirstKey(): Promise<void> {
    const id = keyIds[0];
    const c = new sts.STSClient({
      region: REGION,
      endpoint: emulator().endpoint,
      credentials: { accessKeyId: id, secretAccessKey: secrets.get(id) as string },
    });
    try {
      await c.send(new sts.GetCallerIdentityCommand({}));
    } finally {
      c.destroy();
    }
  }

  async function at(d: number): Promise<void> {
    day = d;
    await setClock(addDays(T0, d));
  }

  /** After a successful up: records new key ids and secrets (for the secret check). */
  async function learnKeys(): Promise<void> {
    const out = await stack.outputs(true);
    const id = (out.accessKeyIds as Record<string, string>)[user];
    const secret = (out.secretAccessKeys as Record<string, string>)[user];
    registerSecret(secret);
    if (!keyIds.includes(id)) {
      keyIds.push(id);
      secrets.set(id, secret);
    }
  }

  function warnings(events: EngineEvent[]): string[] {
    return events
      .filter((e) => e.diagnosticEvent?.severity === "warning")
      .map((e) => e.diagnosticEvent?.message ?? "");
  }

  async function up(): Promise<RunResult> {
    const r = await stack.up();
    assert.strictEqual(r.code, 0, r.visible);
    await learnKeys();
    return r;
  }

  /** Shape and content every message has, and no secret anywhere in what the queue received. */
  function assertWellFormed(messages: Received[]): void {
    for (const r of messages) {
      const m = r.message;
      assert.strictEqual(m.version, 1);
      assert.strictEqual(m.account, ACCOUNT);
      assert.strictEqual(m.userName, user);
      assert.strictEqual(m.stack, "e2e");
      assert.strictEqual(m.project, "aws-key-rotation");
      assert.strictEqual(m.at, addDays(T0, day).toISOString());
      assert.ok(m.eventId.startsWith(`${m.type}/`), m.eventId);
      assert.strictEqual(r.subject, subjectOf(m));
      assert.ok(r.subject.length < 100 && /^[\x20-\x7e]+$/.test(r.subject), r.subject);
      assert.strictEqual("secretAccessKey" in m, false);
      assertNoSecrets(r.body, `the ${m.type} message`);
    }
  }

  before(async () => {
    await adminIam().send(new iam.CreateUserCommand({ UserName: user }));
    const s = snsClient();
    const q = sqsClient();
    topicArn = (await s.send(new sns.CreateTopicCommand({ Name: `rotation-${process.pid}` })))
      .TopicArn as string;
    queueUrl = (await q.send(new sqs.CreateQueueCommand({ QueueName: `rotation-${process.pid}` })))
      .QueueUrl as string;
    const attrs = await q.send(
      new sqs.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    await s.send(
      new sns.SubscribeCommand({
        TopicArn: topicArn,
        Protocol: "sqs",
        Endpoint: attrs.Attributes?.QueueArn,
      }),
    );
    s.destroy();
    q.destroy();
    stack = new TestStack({ projectDir: REPO_ROOT });
    await stack.init();
    await stack.setConfig("aws-key-rotation:users[0]", user, { path: true });
    await stack.setConfig("aws-key-rotation:notifySnsTopicArn", topicArn);
    // 70 days: on day 61 the first key, still in use, is 9 days from the limit.
    await stack.setConfig("aws-key-rotation:maxAgeDays", "70");
  });

  after(async () => {
    console.log(
      `      messages received: ${JSON.stringify(all.map((m) => ({ ...m, accessKeyId: m.accessKeyId === null ? null : `K${keyIds.indexOf(m.accessKeyId) + 1}` })))}`,
    );
    await stack?.remove();
  });

  it("day 0: the first key is announced", async () => {
    await at(0);
    await up();
    const got = await received();
    assert.deepStrictEqual(named(got), ["key.created K1"]);
    assertWellFormed(got);
    assert.deepStrictEqual(
      { slot: got[0].message.slot, generation: got[0].message.generation, status: got[0].message.status },
      { slot: "a", generation: 1, status: "Active" },
    );
  });

  it("day 31: the rotation's new key is announced; the application still uses the first key", async () => {
    await at(31);
    await appUsesFirstKey();
    await up();
    const got = await received();
    assert.deepStrictEqual(named(got), ["key.created K2"]);
    assertWellFormed(got);
  });

  it("day 38: the first key's deactivation waits on its use: announced with the service, region and until when", async () => {
    await at(38);
    await appUsesFirstKey();
    await up();
    const got = await received();
    assert.deepStrictEqual(named(got), ["retirement.waiting K1"]);
    assertWellFormed(got);
    const m = got[0].message;
    assert.strictEqual(m.waitsFor, "deactivate");
    assert.strictEqual(m.serviceName, "sts");
    assert.strictEqual(m.region, REGION);
    const lastUse = new Date(m.lastUsedDate as string).getTime();
    assert.ok(Math.abs(lastUse - addDays(T0, 38).getTime()) < 120_000, String(m.lastUsedDate));
    assert.strictEqual(m.until, new Date(lastUse + 24 * 3_600_000).toISOString());
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => `${keyIds.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
      ["1:Active", "2:Active"],
    );
  });

  it("day 61: preview sends nothing; up announces the rotation's wait and the first key nearing maxAgeDays; a second up sends nothing", async () => {
    await at(61);
    await appUsesFirstKey();
    const preview = await stack.preview();
    assert.strictEqual(preview.code, 0, preview.visible);
    assert.deepStrictEqual(named(await received()), []);
    await up();
    const got = await received();
    // The deactivation's wait was announced on day 38 already.
    assert.deepStrictEqual(named(got), ["retirement.waiting K1", "age.nearing-limit K1"]);
    assertWellFormed(got);
    assert.strictEqual(got[0].message.waitsFor, "delete");
    assert.deepStrictEqual(
      {
        daysLeft: got[1].message.daysLeft,
        maxAgeDays: got[1].message.maxAgeDays,
        atLimit: got[1].message.atLimit,
        limitAt: got[1].message.limitAt,
      },
      { daysLeft: 9, maxAgeDays: 70, atLimit: "deactivated", limitAt: addDays(T0, 70).toISOString() },
    );
    const again = await up();
    assert.deepStrictEqual(named(await received()), []);
    assert.deepStrictEqual(
      warnings(again.events).filter((w) => w.includes("notification")),
      [],
    );
  });

  it("a topic that does not exist: the deploy succeeds, deactivates the first key at the age limit and warns", async () => {
    const missing = `arn:aws:sns:${REGION}:${ACCOUNT}:missing-${process.pid}`;
    await stack.setConfig("aws-key-rotation:notifySnsTopicArn", missing);
    await at(70);
    await appUsesFirstKey();
    const r = await up();
    assert.deepStrictEqual(named(await received()), []);
    const said = warnings(r.events).filter((w) => w.includes("could not be published"));
    assert.deepStrictEqual(said.length, 1, warnings(r.events).join("\n"));
    assert.ok(
      said[0].startsWith(
        `The key.deactivated notification for access key ${keyIds[0]} of IAM user "${user}" could not be published to SNS topic ${missing}: NotFoundException`,
      ),
      said[0],
    );
    assert.ok(said[0].includes("sns:Publish"), said[0]);
    assert.deepStrictEqual(
      (await listKeys(user)).map((k) => `${keyIds.indexOf(k.AccessKeyId as string) + 1}:${k.Status}`),
      ["1:Inactive", "2:Active"],
    );
    assertNoSecrets(r.visible, "the up's output");
  });

  it("a deploy refused by the age limit: preview fails and sends nothing; up fails, announces it once", async () => {
    await stack.setConfig("aws-key-rotation:notifySnsTopicArn", topicArn);
    await at(101);
    await appUsesFirstKey();
    const before = await listKeys(user);
    const preview = await stack.preview();
    assert.notStrictEqual(preview.code, 0);
    assert.match(diagnostics(preview.events).join("\n"), /must be rotated now to stay under maxAgeDays 70/);
    assert.deepStrictEqual(named(await received()), []);
    const refused = await stack.up();
    assert.notStrictEqual(refused.code, 0);
    if (process.env.KEYROTATION_E2E_VERBOSE) console.log(diagnostics(refused.events).join("\n"));
    assert.match(diagnostics(refused.events).join("\n"), /must be rotated now to stay under maxAgeDays 70/);
    const got = await received();
    assert.deepStrictEqual(named(got), ["deploy.refused K2"]);
    assertWellFormed(got);
    assert.strictEqual(got[0].message.reason, "age-limit");
    const again = await stack.up();
    assert.notStrictEqual(again.code, 0);
    assert.deepStrictEqual(named(await received()), []);
    assert.deepStrictEqual(await listKeys(user), before);
    assertNoSecrets(preview.visible + refused.visible + again.visible, "the refused runs' output");
    assertNoSecrets((await stack.exportState()).text, "the state");
  });
});
