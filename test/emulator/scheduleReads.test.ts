/**
 * What the schedule reads from IAM at every preview, counted at a proxy in front of the emulator:
 * one ListAccessKeys per user when IAM's keys are the ones the previous plan explains (or there
 * are none), and ListUserTags only when they are not.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import { observeKeys } from "../../components/providers/rotationSchedule";
import { nextPlan, Plan } from "../../components/rotation/schedule";
import { DEFAULTS } from "../../core/settings";
import { FaultProxy } from "../support/faultProxy";
import { adminIam, createUser, emulator, setClock } from "../support/moto";

describe("schedule: IAM reads per preview (emulator)", () => {
  let proxy: FaultProxy;
  let saved: string | undefined;

  before(async () => {
    proxy = new FaultProxy(emulator().endpoint);
    await proxy.start();
    saved = process.env.AWS_ENDPOINT_URL_IAM;
    process.env.AWS_ENDPOINT_URL_IAM = proxy.endpoint;
  });

  after(async () => {
    process.env.AWS_ENDPOINT_URL_IAM = saved;
    await proxy.stop();
  });

  const reads = async (userName: string, plan?: Plan) => {
    proxy.log.length = 0;
    const observed = await observeKeys(userName, plan);
    return { observed, calls: [...proxy.log] };
  };

  it("a user without keys: one ListAccessKeys", async () => {
    const user = await createUser("reads");
    const { observed, calls } = await reads(user);
    assert.deepStrictEqual(observed, []);
    assert.deepStrictEqual(calls, ["ListAccessKeys"]);
  });

  it("keys the plan explains: one ListAccessKeys; a key it does not: ListUserTags too", async () => {
    const user = await createUser("reads");
    const at = new Date(Date.now() + 3_600_000);
    at.setUTCMilliseconds(0);
    await setClock(at);
    const plan = nextPlan(undefined, [], at, DEFAULTS).plan;
    const created = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
    const id = created.AccessKey?.AccessKeyId as string;

    const explained = await reads(user, plan);
    assert.deepStrictEqual(explained.calls, ["ListAccessKeys"]);
    assert.deepStrictEqual(
      explained.observed.map((k) => [k.accessKeyId, k.tag]),
      [[id, { slot: "a", generation: 1 }]],
    );

    // A second key nobody planned: the tags decide (it has no slot tag: made outside Pulumi).
    const other = await adminIam().send(new iam.CreateAccessKeyCommand({ UserName: user }));
    const unexplained = await reads(user, plan);
    assert.deepStrictEqual(unexplained.calls.sort(), ["ListAccessKeys", "ListUserTags"]);
    assert.deepStrictEqual(
      unexplained.observed.map((k) => [k.accessKeyId, k.tag]).sort(),
      [
        [id, undefined],
        [other.AccessKey?.AccessKeyId, undefined],
      ].sort(),
    );
  });
});
