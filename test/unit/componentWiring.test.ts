/**
 * RotatingAccessKey's wiring under Pulumi mocks: children, names, parents, inputs, secret outputs,
 * and settings validation before any AWS call.
 */
import * as assert from "assert";
import { storedProviderText } from "../../components/providers/stored";
import * as pulumi from "@pulumi/pulumi";
import { AccessKey } from "../../components/providers/accessKey";
import { RotatingAccessKey, ValidationError } from "../../components";
import { Plan } from "../../components/rotation/schedule";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const MOCK_SECRET = "mock-secret-value-for-wiring-tests-000000";

let registered: Registered[] = [];
let plan: Plan | undefined;

function output<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

const slot = (generation: number, createdAt: string, status: "Active" | "Inactive") => ({
  present: true,
  generation,
  createdAt,
  status,
  adoptedKeyId: "",
  replacesKeyId: "",
});

before(() => {
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === "keyrotation:iam:RotationSchedule") {
          return { id: `schedule-${args.inputs.userName}`, state: { ...args.inputs, plan, events: [] } };
        }
        if (args.type === "keyrotation:iam:AccessKey") {
          const id = `AKIAMOCK${String(args.inputs.slot).toUpperCase()}${String(args.inputs.generation).padStart(11, "0")}`;
          return {
            id,
            state: {
              ...args.inputs,
              accessKeyId: id,
              secretAccessKey: MOCK_SECRET,
              createDate: "2027-01-01T00:00:00.000Z",
            },
          };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "keyrotation",
    "test",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

describe("RotatingAccessKey wiring (Pulumi mocks)", () => {
  it("creates the schedule and the current key, named from the component and parented to it", async () => {
    plan = {
      current: "a",
      a: slot(1, "2027-01-01T00:00:00.000Z", "Active"),
      b: { ...slot(0, "", "Inactive"), present: false },
      nextRotationDate: "2027-01-31T00:00:00.000Z",
    };
    const key = new RotatingAccessKey("svc", { userName: "svc-user", secretsManagerSecretId: "svc/key" });
    assert.strictEqual(await output(key.accessKeyId), "AKIAMOCKA00000000001");
    assert.strictEqual(await output(key.previousAccessKeyId), undefined);
    assert.strictEqual(await output(key.nextRotationDate), "2027-01-31T00:00:00.000Z");
    const publication = await output(key.publication);
    assert.ok(publication);
    assert.ok(
      (await output(publication.urn)).endsWith(
        "RotatingAccessKey$keyrotation:iam:SecretPublication::svc-secret",
      ),
    );
    assert.deepStrictEqual(
      registered.map((r) => `${r.type} ${r.name}`),
      [
        "keyrotation:iam:RotatingAccessKey svc",
        "keyrotation:iam:RotationSchedule svc-schedule",
        "keyrotation:iam:AccessKey svc-a",
        "keyrotation:iam:SecretPublication svc-secret",
      ],
    );
    const urns = await Promise.all([
      output(key.schedule.urn),
      ...(await output(key.keyResources)).map((k) => output(k.urn)),
    ]);
    assert.deepStrictEqual(urns, [
      "urn:pulumi:test::keyrotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:RotationSchedule::svc-schedule",
      "urn:pulumi:test::keyrotation::keyrotation:iam:RotatingAccessKey$keyrotation:iam:AccessKey::svc-a",
    ]);
  });

  it("passes the defaults to the schedule and the plan to each key", async () => {
    plan = {
      current: "b",
      a: slot(1, "2027-01-01T00:00:00.000Z", "Active"),
      b: slot(2, "2027-01-31T00:00:00.000Z", "Active"),
      nextRotationDate: "2027-03-02T00:00:00.000Z",
    };
    const key = new RotatingAccessKey("svc2", { userName: "svc2-user", overlapDays: 3, forceDelete: true });
    await output(key.keys);
    const schedule = registered.find((r) => r.name === "svc2-schedule");
    assert.deepStrictEqual(schedule?.inputs, {
      userName: "svc2-user",
      rotationDays: 30,
      overlapDays: 3,
      maxAgeDays: 90,
      deletionGuardHours: 24,
      staggerDays: 0,
      forceDelete: true,
      unmanagedKeys: "fail",
      verifyTimeoutSeconds: 60,
    });
    const keyInputs = (name: string) => registered.find((r) => r.name === name)?.inputs;
    assert.deepStrictEqual(keyInputs("svc2-b"), {
      userName: "svc2-user",
      slot: "b",
      generation: 2,
      status: "Active",
      adoptAccessKeyId: "",
      replacesAccessKeyId: "",
      deletionGuardHours: 24,
      forceDelete: true,
      verifyTimeoutSeconds: 60,
    });
    assert.deepStrictEqual(keyInputs("svc2-a")?.generation, 1);
    // The current key registers first; the previous one follows it.
    assert.deepStrictEqual(
      registered.filter((r) => r.type.endsWith(":AccessKey")).map((r) => r.name),
      ["svc2-b", "svc2-a"],
    );
    assert.deepStrictEqual(await output(key.keys), [
      {
        slot: "b",
        id: "AKIAMOCKB00000000002",
        accessKeyId: "AKIAMOCKB00000000002",
        status: "Active",
        createDate: "2027-01-01T00:00:00.000Z",
        generation: 2,
        current: true,
      },
      {
        slot: "a",
        id: "AKIAMOCKA00000000001",
        accessKeyId: "AKIAMOCKA00000000001",
        status: "Active",
        createDate: "2027-01-01T00:00:00.000Z",
        generation: 1,
        current: false,
      },
    ]);
    assert.strictEqual(await output(key.previousAccessKeyId), "AKIAMOCKA00000000001");
  });

  it("passes notifySnsTopicArn to the schedule (with whether this is a preview) and to each key", async () => {
    plan = {
      current: "b",
      a: slot(1, "2027-01-01T00:00:00.000Z", "Active"),
      b: slot(2, "2027-01-31T00:00:00.000Z", "Active"),
      nextRotationDate: "2027-03-02T00:00:00.000Z",
    };
    const topic = "arn:aws:sns:us-east-1:123456789012:key-rotation";
    const key = new RotatingAccessKey("svc3", { userName: "svc3-user", notifySnsTopicArn: topic });
    await output(key.keys);
    const inputs = (name: string) => registered.find((r) => r.name === name)?.inputs ?? {};
    assert.deepStrictEqual(
      [inputs("svc3-schedule").notifySnsTopicArn, inputs("svc3-schedule").dryRun],
      [topic, false],
    );
    assert.deepStrictEqual(
      [inputs("svc3-a").notifySnsTopicArn, inputs("svc3-b").notifySnsTopicArn],
      [topic, topic],
    );
    const component = registered.find(
      (r) => r.name === "svc3" && r.type === "keyrotation:iam:RotatingAccessKey",
    );
    assert.strictEqual(component?.inputs.notifySnsTopicArn, topic);
  });

  it("wraps the secret access key as a Pulumi secret, and keeps it out of `keys`", async () => {
    plan = {
      current: "a",
      a: slot(1, "2027-01-01T00:00:00.000Z", "Active"),
      b: { ...slot(0, "", "Inactive"), present: false },
      nextRotationDate: "2027-01-31T00:00:00.000Z",
    };
    const key = new RotatingAccessKey("svc3", { userName: "svc3-user" });
    assert.strictEqual(await isSecret(key.secretAccessKey), true);
    assert.strictEqual(await output(key.secretAccessKey), MOCK_SECRET);
    assert.ok(!JSON.stringify(await output(key.keys)).includes(MOCK_SECRET));
    assert.strictEqual(await isSecret(key.accessKeyId), false);
  });

  it("registers the provider plugin's types with no provider code in their inputs", async () => {
    plan = {
      current: "b",
      a: slot(1, "2027-01-01T00:00:00.000Z", "Active"),
      b: slot(2, "2027-01-31T00:00:00.000Z", "Active"),
      nextRotationDate: "2027-03-02T00:00:00.000Z",
    };
    const key = new RotatingAccessKey("plugin", {
      userName: "plugin-user",
      secretsManagerSecretId: "plugin/key",
    });
    await output(key.keys);
    await output(key.publication);
    const resources = registered.filter(
      (r) => r.type.startsWith("keyrotation:iam:") && r.type !== "keyrotation:iam:RotatingAccessKey",
    );
    assert.deepStrictEqual([...new Set(resources.map((r) => r.type))].sort(), [
      "keyrotation:iam:AccessKey",
      "keyrotation:iam:RotationSchedule",
      "keyrotation:iam:SecretPublication",
    ]);
    assert.deepStrictEqual(
      resources.filter((r) => "__provider" in r.inputs).map((r) => r.name),
      [],
    );
  });

  it("old state's stored provider loader still loads the built providers the way the engine's dynamic host does", async () => {
    const { accessKeyProvider } = await import("../../components/providers/accessKey");
    const { scheduleProvider } = await import("../../components/providers/rotationSchedule");
    const text = storedProviderText("AccessKey");
    assert.ok(text.length < 250, `${text.length} bytes`);
    // The host evaluates the text as a module whose node_modules paths start at its working
    // directory (here the repository: the package is not in node_modules, so dist/ is loaded).
    const requireFromString = require("require-from-string") as (code: string) => { handler(): object };
    const loaded = requireFromString(text).handler() as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(loaded).sort(), Object.keys(accessKeyProvider).sort());
    const schedule = requireFromString(storedProviderText("RotationSchedule")).handler();
    assert.deepStrictEqual(Object.keys(schedule).sort(), Object.keys(scheduleProvider).sort());
    assert.ok(AccessKey !== undefined);
  });

  const bad: [string, Record<string, unknown>, string, string][] = [
    [
      "rotationDays too long",
      { rotationDays: 120 },
      "rotationDays",
      "rotationDays + overlapDays (120 + 7 = 127) must be below maxAgeDays (90)",
    ],
    [
      "overlap not below rotation",
      { rotationDays: 5, overlapDays: 5 },
      "overlapDays",
      "overlapDays (5) must be less than rotationDays (5)",
    ],
    [
      "fractional maxAgeDays",
      { maxAgeDays: 89.5 },
      "maxAgeDays",
      "maxAgeDays must be a whole number from 2 to 3650; got 89.5",
    ],
    ["unknown unmanagedKeys", { unmanagedKeys: "ignore" }, "unmanagedKeys", 'got "ignore"'],
    ["empty userName", { userName: "" }, "userName", "userName is empty"],
    [
      "a notifySnsTopicArn that is not a topic ARN",
      { notifySnsTopicArn: "arn:aws:sqs:us-east-1:123456789012:q" },
      "notifySnsTopicArn",
      'notifySnsTopicArn "arn:aws:sqs:us-east-1:123456789012:q" is not the ARN of an SNS topic: set notifySnsTopicArn to arn:aws:sns:<region>:<12-digit account>:<topic name>',
    ],
  ];
  for (const [name, over, property, fragment] of bad) {
    it(`refuses ${name} before any resource is registered`, () => {
      const count = registered.length;
      assert.throws(
        () => new RotatingAccessKey(`bad-${property}`, { userName: "u", ...over } as never),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, String(err));
          assert.strictEqual(err.property, property);
          assert.ok(err.message.includes(fragment), err.message);
          return true;
        },
      );
      assert.strictEqual(registered.length, count);
    });
  }
});
