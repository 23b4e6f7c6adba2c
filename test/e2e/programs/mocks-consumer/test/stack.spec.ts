// The consumer's own mocks test, with the package's testing helper (as the README shows).
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { keyRotationMocks } from "pulumi-aws-key-rotation/testing";

function value<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

describe("ci stack", () => {
  it("gives the deployer a current key, planned by the real schedule", async () => {
    const others: string[] = [];
    const mocks = keyRotationMocks({
      now: "2027-01-01T00:00:00Z",
      fallback: {
        newResource: (args) => {
          others.push(args.type);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
    });
    pulumi.runtime.setMocks(mocks, "consumer", "test", false);
    const stack = await import("../index.js");
    const id = await value(stack.accessKeyId);
    assert.strictEqual(id, "AKIAMOCK000000000001");
    assert.deepStrictEqual(
      mocks.keysOf("ci-deployer").map((k) => [k.accessKeyId, k.status, k.createDate]),
      [["AKIAMOCK000000000001", "Active", "2027-01-01T00:00:00.000Z"]],
    );
    assert.strictEqual(await value(stack.nextRotationDate), "2027-01-31T00:00:00.000Z");
    const keys = await value(stack.deployerKey.keys);
    assert.deepStrictEqual(
      keys.map((k) => [k.slot, k.id, k.status, k.current]),
      [["a", "AKIAMOCK000000000001", "Active", true]],
    );
    const publication = await value(stack.deployerKey.publication);
    assert.ok(publication, "the key is published to Secrets Manager");
    assert.deepStrictEqual(others, []);
  });
});
