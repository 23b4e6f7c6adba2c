/**
 * Hard time limits against an endpoint that accepts connections and never answers (a hung IAM or
 * STS call): an SDK call fails within the request timeout, and verification ends at its deadline.
 * No emulator: the hung endpoint is a local TCP server.
 */
import * as assert from "assert";
import * as iam from "@aws-sdk/client-iam";
import * as http from "http";
import * as net from "net";
import { KeyRotationError } from "../../core/errors";
import { createIamClient, sharedIamClient } from "../../core/iam";
import { verifyKey } from "../../components/providers/accessKeyOps";

describe("hard time limits on a hung endpoint", function () {
  this.timeout(10_000);
  let server: net.Server;
  let endpoint: string;
  const sockets = new Set<net.Socket>();
  /** Every variable this suite sets or clears, with the value it had (restored after). */
  const VARS = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
  ];
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket); // read the request, never answer
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    for (const key of VARS) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIAHANGTEST0000",
      AWS_SECRET_ACCESS_KEY: "not-a-secret",
      AWS_ENDPOINT_URL: endpoint,
    });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    for (const key of VARS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it("an IAM call fails after the request timeout instead of waiting on the socket", async () => {
    const client = createIamClient({ endpoint, requestTimeoutMs: 400, maxAttempts: 1 });
    const started = Date.now();
    try {
      await assert.rejects(client.send(new iam.ListAccessKeysCommand({ UserName: "u" })), (err: Error) => {
        assert.strictEqual(err.name, "TimeoutError");
        return true;
      });
    } finally {
      client.destroy();
    }
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 3_000, `failed after ${took} ms`);
  });

  it("verification ends at verifyTimeoutSeconds although the STS call never answers", async () => {
    const started = Date.now();
    await assert.rejects(verifyKey("AKIANEWKEY000000", "s3cr3t-never-shown", "u", 1), (err: Error) => {
      assert.ok(err instanceof KeyRotationError);
      assert.match(err.message, /^New access key AKIANEWKEY000000 of IAM user "u" did not work within 1 s/);
      assert.ok(!err.message.includes("s3cr3t-never-shown"));
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 1_000 && took < 2_500, `ended after ${took} ms`);
  });
});

describe("the providers' shared IAM client", () => {
  let saved: string | undefined;
  before(() => {
    saved = process.env.AWS_ENDPOINT_URL_IAM;
  });
  after(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_IAM;
    else process.env.AWS_ENDPOINT_URL_IAM = saved;
  });

  it("is one client per process, replaced when its endpoint or credentials change, with adaptive retries", async () => {
    process.env.AWS_ENDPOINT_URL_IAM = "http://127.0.0.1:1";
    const first = sharedIamClient();
    first.destroy(); // callers destroy their client; the shared one stays usable
    assert.strictEqual(sharedIamClient(), first);
    assert.strictEqual(((await first.config.retryStrategy()) as { mode?: string }).mode, "adaptive");
    process.env.AWS_ENDPOINT_URL_IAM = "http://127.0.0.1:2";
    const second = sharedIamClient();
    assert.notStrictEqual(second, first);
    assert.strictEqual(sharedIamClient(), second);
  });
});

describe("IAM clients' retries: throttling is retried, a quota answer is not", () => {
  let server: http.Server;
  let endpoint: string;
  /** The answers still to give, in order; then 200 with an empty ListUserTags result. */
  let script: { status: number; code: string }[] = [];
  let requests = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        requests += 1;
        const next = script.shift();
        if (next) {
          res.writeHead(next.status, { "content-type": "text/xml" });
          res.end(
            `<ErrorResponse><Error><Type>Sender</Type><Code>${next.code}</Code><Message>scripted</Message></Error>` +
              `<RequestId>r</RequestId></ErrorResponse>`,
          );
          return;
        }
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(
          `<ListUserTagsResponse><ListUserTagsResult><Tags/><IsTruncated>false</IsTruncated></ListUserTagsResult>` +
            `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListUserTagsResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const credentials = { accessKeyId: "AKIARETRYTEST000", secretAccessKey: "not-a-secret" };
  for (const retryMode of ["standard", "adaptive"] as const) {
    it(`${retryMode}: LimitExceeded fails after one request; Throttling twice, then the answer`, async () => {
      const client = createIamClient({ endpoint, credentials, retryMode });
      try {
        script = [{ status: 409, code: "LimitExceeded" }];
        requests = 0;
        const err = await client.send(new iam.ListUserTagsCommand({ UserName: "u" })).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(
          err instanceof iam.LimitExceededException,
          `expected LimitExceededException, got ${String(err)}`,
        );
        assert.strictEqual(requests, 1);
        assert.strictEqual(err.$metadata.attempts, 1);

        script = [
          { status: 400, code: "Throttling" },
          { status: 400, code: "Throttling" },
        ];
        requests = 0;
        const out = await client.send(new iam.ListUserTagsCommand({ UserName: "u" }));
        assert.deepStrictEqual(out.Tags, []);
        assert.strictEqual(requests, 3);
        assert.strictEqual(out.$metadata.attempts, 3);
      } finally {
        client.destroy();
      }
    });
  }
});
