/**
 * The IAM emulator for tests: moto's server on a free loopback port, started through
 * `moto_clock_server.py` so that IAM's clock can be moved together with `KEYROTATION_NOW`.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as net from "net";
import * as path from "path";
import * as iam from "@aws-sdk/client-iam";
import * as sts from "@aws-sdk/client-sts";
import { forgetKeyless } from "../../components/providers/accessKeyOps";

export interface Emulator {
  endpoint: string;
  port: number;
  process: ChildProcess;
}

let running: Emulator | undefined;

const PYTHON = process.env.KEYROTATION_PYTHON ?? "python3";

/** Environment that points the AWS SDK (and any child process) at the emulator. */
export function emulatorEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_IAM: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_SNS: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ACCESS_KEY_ID: "AKIAEMULATORADMIN000",
    AWS_SECRET_ACCESS_KEY: "emulator-dummy-secret-not-a-real-key",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    // A simulation against the emulator: the component honours KEYROTATION_NOW.
    KEYROTATION_SIMULATION: "1",
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function assertMotoInstalled(): void {
  const probe = spawnSync(PYTHON, ["-c", "import moto, flask, werkzeug; print(moto.__version__)"], {
    encoding: "utf8",
  });
  if (probe.status !== 0) {
    throw new Error(
      `The IAM emulator (moto's server) is not installed for ${PYTHON}: ${(probe.stderr || probe.error?.message || "").trim()}\n` +
        `Install it with: pip install "moto[server]"  (or set KEYROTATION_PYTHON to a Python that has it).`,
    );
  }
}

async function waitUntilReady(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let delay = 50;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto's server exited with code ${child.exitCode} before it was ready:\n${log()}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`moto's server did not answer on ${endpoint}/moto-api/ within 30 s:\n${log()}`);
}

/** Starts the emulator (once per test process) and points this process's AWS SDK at it. */
export async function startEmulator(): Promise<Emulator> {
  if (running) return running;
  assertMotoInstalled();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const script = path.join(__dirname, "moto_clock_server.py");
  const child = spawn(PYTHON, [script, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await waitUntilReady(endpoint, child, () => output);
  Object.assign(process.env, emulatorEnv(endpoint));
  running = { endpoint, port, process: child };
  return running;
}

export async function stopEmulator(): Promise<void> {
  const emulator = running;
  running = undefined;
  if (!emulator || emulator.process.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    emulator.process.once("exit", () => resolve());
    emulator.process.kill("SIGTERM");
    setTimeout(() => emulator.process.kill("SIGKILL"), 3000).unref();
  });
}

export function emulator(): Emulator {
  if (!running)
    throw new Error("The IAM emulator is not running: the root hooks in test/support/hooks.ts start it.");
  return running;
}

/** Moves the emulator's clock (CreateDate, LastUsedDate) to `at`, and `KEYROTATION_NOW` with it. */
export async function setClock(at: Date): Promise<void> {
  const res = await fetch(`${emulator().endpoint}/_clock`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ now: at.toISOString() }),
  });
  if (res.status !== 200) throw new Error(`setting the emulator clock failed: HTTP ${res.status}`);
  process.env.KEYROTATION_NOW = at.toISOString();
  process.env.KEYROTATION_SIMULATION = "1";
}

/** Puts the emulator's clock back to the real one and clears `KEYROTATION_NOW`. */
export async function resetClock(): Promise<void> {
  await setClock(new Date());
  delete process.env.KEYROTATION_NOW;
}

/** Deletes every IAM entity in the emulator. */
export async function resetEmulator(): Promise<void> {
  const res = await fetch(`${emulator().endpoint}/moto-api/reset`, { method: "POST" });
  if (res.status !== 200) throw new Error(`resetting the emulator failed: HTTP ${res.status}`);
  // What this process remembers of IAM's users (the providers run in-process in these tests).
  forgetKeyless();
}

/** An IAM client for test set-up and assertions (the code under test makes its own). */
export function adminIam(): iam.IAMClient {
  return new iam.IAMClient({ region: "us-east-1", endpoint: emulator().endpoint });
}

let userCounter = 0;
/** A fresh IAM user with a name unique to this test run. */
export async function createUser(prefix = "user"): Promise<string> {
  userCounter += 1;
  const userName = `${prefix}-${process.pid}-${userCounter}`;
  await adminIam().send(new iam.CreateUserCommand({ UserName: userName }));
  return userName;
}

/** The user's keys as IAM reports them, oldest first. */
export async function listKeys(userName: string): Promise<iam.AccessKeyMetadata[]> {
  const out = await adminIam().send(new iam.ListAccessKeysCommand({ UserName: userName }));
  return [...(out.AccessKeyMetadata ?? [])].sort(
    (a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0),
  );
}

/**
 * An IAM client acting in another emulated account: credentials of a role assumed there (moto
 * keeps each account's IAM data apart for assumed-role credentials; the role need not exist).
 */
export async function accountIam(account: string, roleName = "KeyRotation"): Promise<iam.IAMClient> {
  const stsClient = new sts.STSClient({ region: "us-east-1", endpoint: emulator().endpoint });
  try {
    const { Credentials: c } = await stsClient.send(
      new sts.AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/${roleName}`,
        RoleSessionName: "test-setup",
      }),
    );
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`no credentials for account ${account}`);
    return new iam.IAMClient({
      region: "us-east-1",
      endpoint: emulator().endpoint,
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
      },
    });
  } finally {
    stsClient.destroy();
  }
}

/** The user's keys in `client`'s account, oldest first. */
export async function listKeysWith(
  client: iam.IAMClient,
  userName: string,
): Promise<iam.AccessKeyMetadata[]> {
  const out = await client.send(new iam.ListAccessKeysCommand({ UserName: userName }));
  return [...(out.AccessKeyMetadata ?? [])].sort(
    (a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0),
  );
}

/** A second emulator that enforces IAM authorization once its first `unchecked` requests are done. */
export interface AuthEmulator {
  endpoint: string;
  /** Moves this emulator's clock (CreateDate, LastUsedDate), like `setClock` for the main one. */
  setClock(at: Date): Promise<void>;
  stop(): void;
}

/**
 * Starts an emulator that runs its first `unchecked` requests without checks (set up users,
 * policies and keys), then checks every request's signature and evaluates it against the
 * caller's IAM policies (moto's INITIAL_NO_AUTH_ACTION_COUNT; see FACTS.md for its limits).
 */
export async function startAuthEmulator(unchecked: number): Promise<AuthEmulator> {
  assertMotoInstalled();
  const port = await freePort();
  const script = path.join(__dirname, "moto_clock_server.py");
  const child = spawn(PYTHON, [script, String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(unchecked) },
    stdio: "ignore",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i >= 600 || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error("the policy-enforcing emulator did not start within 30 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    async setClock(at: Date) {
      const res = await fetch(`${endpoint}/_clock`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ now: at.toISOString() }),
      });
      if (res.status !== 200) throw new Error(`setting the emulator clock failed: HTTP ${res.status}`);
    },
    stop: () => child.kill("SIGTERM"),
  };
}

/** The ARN STS names for a key pair (GetCallerIdentity signed with it): the key works and whose it is. */
export async function callerArn(accessKeyId: string, secretAccessKey: string): Promise<string> {
  const client = new sts.STSClient({
    region: "us-east-1",
    endpoint: emulator().endpoint,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    return (await client.send(new sts.GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    client.destroy();
  }
}
