/**
 * iam-access-key-max-age, run in-process through the harness (engine-like config reconciliation,
 * the analyzer server's deserialization and unknown-checking proxy). Each case starts from a
 * compliant stack and changes one property.
 */
import * as assert from "assert";
import { iamAccessKeyMaxAge } from "../../policypack/policies/maxAge";
import { registerSecret } from "../support/secretGuard";
import {
  CraftedResource,
  Diagnostic,
  PolicyConfigError,
  RunOptions,
  UNKNOWN,
  daysBefore,
  pinClock,
  runStackPolicies,
  secret,
  unpinClock,
  urnOf,
} from "../support/policyHarness";

const POLICY = "iam-access-key-max-age";
const DESCRIPTION = iamAccessKeyMaxAge.description;
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1";
registerSecret(SECRET);

const DYNAMIC = "pulumi-nodejs:dynamic/keyrotation:AccessKey";
const PLUGIN = "keyrotation:iam:AccessKey";
const AWS = "aws:iam/accessKey:AccessKey";

let at: Date;

/** A compliant stack: a fresh current key, an old Inactive predecessor, a fresh aws.iam.AccessKey, noise. */
function compliantStack(): CraftedResource[] {
  return [
    {
      type: DYNAMIC,
      name: "alice-key-a",
      props: {
        userName: "alice",
        accessKeyId: "AKIAALICECURRENT0001",
        secretAccessKey: secret(SECRET),
        status: "Active",
        createDate: daysBefore(at, 10),
      },
    },
    {
      type: DYNAMIC,
      name: "alice-key-b",
      props: {
        userName: "alice",
        accessKeyId: "AKIAALICEPREVIOUS001",
        secretAccessKey: secret(SECRET),
        status: "Inactive",
        createDate: daysBefore(at, 200),
      },
    },
    {
      type: AWS,
      name: "ci-key",
      props: { id: "AKIACIUSERKEY0000001", user: "ci", status: "Active", createDate: daysBefore(at, 89) },
    },
    { type: "aws:iam/user:User", name: "ci", props: { name: "ci", createDate: daysBefore(at, 500) } },
  ];
}

function withProps(
  stack: CraftedResource[],
  name: string,
  props: Record<string, unknown>,
): CraftedResource[] {
  return stack.map((r) => (r.name === name ? { ...r, props: { ...r.props, ...props } } : r));
}

async function run(stack: CraftedResource[], options: RunOptions = {}): Promise<Diagnostic[]> {
  const ds = await runStackPolicies([iamAccessKeyMaxAge], stack, options);
  for (const d of ds) assert.ok(!d.message.includes(SECRET), "a diagnostic contains the secret access key");
  return ds;
}

function dynamicStale(id: string, user: string, age: number, limit: number, created: string): string {
  return (
    `${DESCRIPTION}\nAccess key ${id} of IAM user ${user} is Active and ${age} days old (created ${created}), ` +
    `older than the limit of ${limit} days. Rotate it: run pulumi up so that its RotatingAccessKey rotates it ` +
    `(rotationDays + overlapDays must stay below ${limit}). To accept it for a while, add an exemption with a ` +
    `reason and an expiry date to the ${POLICY} configuration.`
  );
}

describe("policy iam-access-key-max-age", () => {
  beforeEach(() => {
    at = pinClock();
  });
  afterEach(unpinClock);

  it("passes the compliant stack with no config at all (engine defaults applied)", async () => {
    assert.deepStrictEqual(await run(compliantStack()), []);
  });

  it("passes the compliant stack when getConfig() returns nothing (defaults applied in code)", async () => {
    assert.deepStrictEqual(await run(compliantStack(), { rawConfig: {} }), []);
  });

  it("reports an Active dynamic key older than 90 days, naming id, user, age, limit and fix", async () => {
    const created = daysBefore(at, 91);
    const ds = await run(withProps(compliantStack(), "alice-key-a", { createDate: created }));
    assert.deepStrictEqual(ds, [
      {
        policyName: POLICY,
        enforcementLevel: "mandatory",
        message: dynamicStale("AKIAALICECURRENT0001", "alice", 91, 90, created),
        urn: urnOf({ type: DYNAMIC, name: "alice-key-a" }),
      },
    ]);
  });

  it("judges the provider plugin's key (keyrotation:iam:AccessKey) exactly like 0.1.x's dynamic key", async () => {
    const created = daysBefore(at, 91);
    const stack = withProps(compliantStack(), "alice-key-a", { createDate: created }).map((r) =>
      r.name === "alice-key-a" ? { ...r, type: PLUGIN } : r,
    );
    const ds = await run(stack);
    assert.deepStrictEqual(ds, [
      {
        policyName: POLICY,
        enforcementLevel: "mandatory",
        message: dynamicStale("AKIAALICECURRENT0001", "alice", 91, 90, created),
        urn: urnOf({ type: PLUGIN, name: "alice-key-a" }),
      },
    ]);
    assert.deepStrictEqual(
      await run(compliantStack().map((r) => (r.type === DYNAMIC ? { ...r, type: PLUGIN } : r))),
      [],
    );
  });

  it("applies the same rule without engine defaults (raw config)", async () => {
    const created = daysBefore(at, 91);
    const ds = await run(withProps(compliantStack(), "alice-key-a", { createDate: created }), {
      rawConfig: {},
    });
    assert.strictEqual(ds.length, 1);
    assert.strictEqual(ds[0].message, dynamicStale("AKIAALICECURRENT0001", "alice", 91, 90, created));
  });

  it("allows a key of exactly maxAgeDays and reports one a minute older", async () => {
    assert.deepStrictEqual(
      await run(withProps(compliantStack(), "alice-key-a", { createDate: daysBefore(at, 90) })),
      [],
    );
    const justOver = new Date(at.getTime() - 90 * 86_400_000 - 60_000).toISOString();
    const ds = await run(withProps(compliantStack(), "alice-key-a", { createDate: justOver }));
    assert.strictEqual(ds.length, 1);
    assert.match(ds[0].message, /is Active and 90\.0 days old .* older than the limit of 90 days/);
  });

  it("reports a stale aws.iam.AccessKey with the replace fix", async () => {
    const created = daysBefore(at, 120);
    const ds = await run(withProps(compliantStack(), "ci-key", { createDate: created }));
    const urn = urnOf({ type: AWS, name: "ci-key" });
    assert.deepStrictEqual(ds, [
      {
        policyName: POLICY,
        enforcementLevel: "mandatory",
        message:
          `${DESCRIPTION}\nAccess key AKIACIUSERKEY0000001 of IAM user ci is Active and 120 days old (created ${created}), ` +
          `older than the limit of 90 days. Rotate it: create a new key, move its consumers over, then replace this ` +
          `resource (pulumi up --replace '${urn}'), or let a RotatingAccessKey manage the user's keys. To accept it ` +
          `for a while, add an exemption with a reason and an expiry date to the ${POLICY} configuration.`,
        urn,
      },
    ]);
  });

  it("treats an aws.iam.AccessKey without a status as Active", async () => {
    const stack = compliantStack().map((r) =>
      r.name === "ci-key"
        ? { ...r, props: { id: "AKIACIUSERKEY0000001", user: "ci", createDate: daysBefore(at, 95) } }
        : r,
    );
    assert.strictEqual((await run(stack)).length, 1);
  });

  it("ignores Inactive keys however old", async () => {
    const stack = withProps(compliantStack(), "alice-key-a", {
      status: "Inactive",
      createDate: daysBefore(at, 400),
    });
    assert.deepStrictEqual(await run(stack), []);
  });

  it("does not report a key whose values are unknown at preview, and still checks the others", async () => {
    const base = withProps(compliantStack(), "ci-key", { createDate: daysBefore(at, 100) });
    for (const unknownProps of [
      { createDate: UNKNOWN },
      { status: UNKNOWN },
      { accessKeyId: UNKNOWN, status: UNKNOWN, createDate: UNKNOWN, secretAccessKey: UNKNOWN },
    ]) {
      const stack = withProps(
        withProps(base, "alice-key-a", { createDate: daysBefore(at, 300) }),
        "alice-key-a",
        unknownProps,
      );
      const ds = await run(stack);
      assert.deepStrictEqual(
        ds.map((d) => [d.enforcementLevel, d.urn]),
        [["mandatory", urnOf({ type: AWS, name: "ci-key" })]],
        `with ${JSON.stringify(unknownProps)}`,
      );
    }
  });

  it("does not report a key planned at preview with no createDate yet (being created)", async () => {
    const planned: CraftedResource = {
      type: DYNAMIC,
      name: "bob-key-a",
      props: { userName: "bob", status: "Active" },
    };
    assert.deepStrictEqual(await run([...compliantStack(), planned]), []);
  });

  it("names a key whose id is unknown by its resource name", async () => {
    const created = daysBefore(at, 95);
    const ds = await run(
      withProps(compliantStack(), "alice-key-a", { accessKeyId: UNKNOWN, createDate: created }),
    );
    assert.strictEqual(ds.length, 1);
    assert.match(
      ds[0].message,
      /Access key \(id not known yet, resource alice-key-a\) of IAM user alice is Active and 95/,
    );
  });

  it("never puts a secret value in a message, even when the secret sits next to a stale key", async () => {
    const ds = await run(withProps(compliantStack(), "alice-key-a", { createDate: daysBefore(at, 150) }));
    assert.strictEqual(ds.length, 1);
    assert.ok(!ds[0].message.includes(SECRET));
  });

  describe("configuration", () => {
    it("maxAgeDays lowers the limit", async () => {
      const created = daysBefore(at, 40);
      const ds = await run(withProps(compliantStack(), "alice-key-a", { createDate: created }), {
        config: { [POLICY]: { maxAgeDays: 30 } },
      });
      // The 89-day aws key is now stale too.
      assert.deepStrictEqual(
        ds.map((d) =>
          /^Access key (\S+) of IAM user (\S+) is Active and (\d+) days old/
            .exec(d.message.split("\n")[1])
            ?.slice(1),
        ),
        [
          ["AKIAALICECURRENT0001", "alice", "40"],
          ["AKIACIUSERKEY0000001", "ci", "89"],
        ],
      );
      assert.strictEqual(ds[0].message, dynamicStale("AKIAALICECURRENT0001", "alice", 40, 30, created));
    });

    it("maxAgeDays raises the limit", async () => {
      const stack = withProps(compliantStack(), "alice-key-a", { createDate: daysBefore(at, 200) });
      assert.deepStrictEqual(await run(stack, { config: { [POLICY]: { maxAgeDays: 365 } } }), []);
    });

    it("maxAgeDays out of bounds is refused by the engine's schema check", async () => {
      for (const [value, problem] of [
        [0, "maxAgeDays: Must be greater than or equal to 1"],
        [366, "maxAgeDays: Must be less than or equal to 365"],
        [30.5, "maxAgeDays: Invalid type. Expected: integer, given: number"],
        ["90", "maxAgeDays: Invalid type. Expected: integer, given: string"],
      ] as const) {
        await assert.rejects(
          run(compliantStack(), { config: { [POLICY]: { maxAgeDays: value } } }),
          (err) => {
            assert.ok(err instanceof PolicyConfigError);
            assert.deepStrictEqual(err.problems, [`${POLICY}: ${problem}`]);
            return true;
          },
        );
      }
    });

    it("maxAgeDays out of bounds without the engine is a violation naming the setting", async () => {
      const ds = await run(compliantStack(), { rawConfig: { [POLICY]: { maxAgeDays: 0 } } });
      assert.deepStrictEqual(ds, [
        {
          policyName: POLICY,
          enforcementLevel: "mandatory",
          message:
            `${DESCRIPTION}\nThe policy configuration sets maxAgeDays to 0, but it must be a whole number from 1 to 365. ` +
            `Fix maxAgeDays in the policy pack configuration.`,
        },
      ]);
    });

    it("enforcementLevel advisory, disabled, and 'all' are honoured", async () => {
      const stale = withProps(compliantStack(), "alice-key-a", { createDate: daysBefore(at, 91) });
      assert.deepStrictEqual(
        (await run(stale, { config: { [POLICY]: "advisory" } })).map((d) => d.enforcementLevel),
        ["advisory"],
      );
      assert.deepStrictEqual(
        (await run(stale, { config: { [POLICY]: { enforcementLevel: "advisory", maxAgeDays: 90 } } })).map(
          (d) => d.enforcementLevel,
        ),
        ["advisory"],
      );
      assert.deepStrictEqual(await run(stale, { config: { [POLICY]: "disabled" } }), []);
      assert.deepStrictEqual(
        (await run(stale, { config: { all: "advisory" } })).map((d) => d.enforcementLevel),
        ["advisory"],
      );
      assert.deepStrictEqual(
        (await run(stale, { config: { all: "advisory", [POLICY]: "mandatory" } })).map(
          (d) => d.enforcementLevel,
        ),
        ["mandatory"],
      );
    });
  });

  describe("exemptions", () => {
    const stale = () => withProps(compliantStack(), "alice-key-a", { createDate: daysBefore(at, 120) });
    const inFuture = () => new Date(at.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);

    it("a key-id exemption suspends the rule for that key only", async () => {
      const exemptions = [
        { accessKeyId: "AKIAALICECURRENT0001", reason: "SEC-42: vendor appliance", expires: inFuture() },
      ];
      const stack = withProps(stale(), "ci-key", { createDate: daysBefore(at, 95) });
      const ds = await run(stack, { config: { [POLICY]: { exemptions } } });
      assert.deepStrictEqual(
        ds.map((d) => d.urn),
        [urnOf({ type: AWS, name: "ci-key" })],
      );
    });

    it("a user exemption covers every key of that user", async () => {
      const exemptions = [{ userName: "alice", reason: "SEC-43: migration", expires: inFuture() }];
      assert.deepStrictEqual(await run(stale(), { config: { [POLICY]: { exemptions } } }), []);
    });

    it("an expired exemption stops applying and is reported as an advisory line", async () => {
      const exemptions = [
        { accessKeyId: "AKIAALICECURRENT0001", reason: "SEC-42: vendor appliance", expires: "2020-01-31" },
        { userName: "nobody", reason: "SEC-7: old", expires: "2021-06-30T12:00:00Z" },
      ];
      const ds = await run(stale(), { config: { [POLICY]: { exemptions } } });
      assert.deepStrictEqual(
        ds.map((d) => [d.enforcementLevel, d.message]),
        [
          [
            "advisory",
            `The exemption for access key AKIAALICECURRENT0001 (reason: "SEC-42: vendor appliance") expired on ` +
              `2020-01-31 and no longer applies. Renew it with a later expires date or remove it from the ${POLICY} configuration.`,
          ],
          [
            "advisory",
            `The exemption for IAM user nobody (reason: "SEC-7: old") expired on 2021-06-30T12:00:00Z and no longer ` +
              `applies. Renew it with a later expires date or remove it from the ${POLICY} configuration.`,
          ],
          [
            "mandatory",
            dynamicStale("AKIAALICECURRENT0001", "alice", 120, 90, daysBefore(at, 120)) +
              " Its exemption expired on 2020-01-31.",
          ],
        ],
      );
    });

    it("a malformed exemption is refused by the schema, and without the engine is a violation", async () => {
      const exemptions = [{ accessKeyId: "AKIAALICECURRENT0001", expires: "2030-01-01" }];
      await assert.rejects(run(stale(), { config: { [POLICY]: { exemptions } } }), (err) => {
        assert.ok(err instanceof PolicyConfigError);
        assert.deepStrictEqual(err.problems, [`${POLICY}: exemptions.0: reason is required`]);
        return true;
      });
      await assert.rejects(
        run(stale(), { config: { [POLICY]: { exemptions: [{ reason: "x", expires: "2030-01-01" }] } } }),
        /exemptions.0: Must validate at least one schema \(anyOf\)/,
      );
      const ds = await run(stale(), { rawConfig: { [POLICY]: { exemptions } } });
      assert.deepStrictEqual(ds, [
        {
          policyName: POLICY,
          enforcementLevel: "mandatory",
          message:
            `${DESCRIPTION}\nThe policy configuration is invalid: exemptions[0].reason is missing: say why the key is ` +
            `exempt (owner, ticket).`,
        },
      ]);
    });
  });

  describe("clock", () => {
    it("KEYROTATION_NOW moves the clock forward: a fresh key becomes stale", async () => {
      const created = daysBefore(at, 10);
      process.env.KEYROTATION_NOW = new Date(at.getTime() + 85 * 86_400_000).toISOString();
      const ds = await run(withProps(compliantStack(), "ci-key", { status: "Inactive" }));
      assert.deepStrictEqual(
        ds.map((d) => d.message),
        [dynamicStale("AKIAALICECURRENT0001", "alice", 95, 90, created)],
      );
    });

    it("a KEYROTATION_NOW earlier than the real clock is a violation, not a crash", async () => {
      process.env.KEYROTATION_NOW = "2020-01-01T00:00:00Z";
      const ds = await run(compliantStack());
      assert.strictEqual(ds.length, 1);
      assert.strictEqual(ds[0].enforcementLevel, "mandatory");
      assert.match(
        ds[0].message,
        /Cannot tell the age of the stack's access keys: KEYROTATION_NOW=2020-01-01T00:00:00.000Z is earlier than the real clock/,
      );
    });

    it("a malformed KEYROTATION_NOW is a violation too", async () => {
      process.env.KEYROTATION_NOW = "next tuesday";
      const ds = await run(compliantStack());
      assert.strictEqual(ds.length, 1);
      assert.match(ds[0].message, /KEYROTATION_NOW="next tuesday" is not an ISO-8601 instant/);
    });
  });
});
