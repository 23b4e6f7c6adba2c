/**
 * `npm run demo`: the whole story on this machine, with no AWS account.
 *
 * Starts the IAM emulator (moto's server) and a local Pulumi backend, runs the root project for
 * two users, moves the shared clock across two rotations, and prints a timeline of what happened
 * to each key, read from IAM after every `pulumi up`.
 */
import * as iam from "@aws-sdk/client-iam";
import { addDays } from "../core/clock";
import { adminIam, listKeys, setClock, startEmulator, stopEmulator } from "../test/support/moto";
import { REPO_ROOT, TestStack } from "../test/support/pulumiCli";

const USERS = ["ci-deployer", "reporting-service"];
// Deploy days: every day something is due for one of the two users (the second user's first
// rotation is staggered 11 days early, see README).
const DAYS = [0, 19, 26, 30, 37, 49, 56, 60, 67];

interface KeyView {
  id: string;
  status: string;
  created: string;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

async function snapshot(): Promise<Map<string, KeyView[]>> {
  const result = new Map<string, KeyView[]>();
  for (const user of USERS) {
    result.set(
      user,
      (await listKeys(user)).map((k) => ({
        id: k.AccessKeyId as string,
        status: k.Status as string,
        created: (k.CreateDate as Date).toISOString().slice(0, 10),
      })),
    );
  }
  return result;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const started = Date.now();
  console.log("Starting the IAM emulator (moto) and a local Pulumi backend...");
  await startEmulator();
  const stack = new TestStack({ projectDir: REPO_ROOT, stackName: "demo" });
  try {
    for (const user of USERS) await adminIam().send(new iam.CreateUserCommand({ UserName: user }));
    // Day 0 is the next 09:00 UTC at least an hour away (the clock can only move forward).
    const T0 = new Date(Date.now() + 3_600_000);
    const start = T0.getTime();
    T0.setUTCHours(9, 0, 0, 0);
    if (T0.getTime() < start) T0.setUTCDate(T0.getUTCDate() + 1);
    await setClock(T0);
    await stack.init();
    for (const [i, user] of USERS.entries()) {
      await stack.setConfig(`aws-key-rotation:users[${i}]`, user, { path: true });
    }
    console.log(
      `Users: ${USERS.join(", ")}. Settings: rotationDays 30, overlapDays 7, maxAgeDays 90, stagger on.\n`,
    );
    console.log(`${pad("day", 5)}${pad("date", 12)}${pad("user", 19)}${pad("what", 13)}key`);
    let before = await snapshot();
    for (const day of DAYS) {
      const at = addDays(T0, day);
      await setClock(at);
      const up = await stack.up();
      if (up.code !== 0) throw new Error(`pulumi up on day ${day} failed:\n${up.stdout}\n${up.stderr}`);
      const after = await snapshot();
      const out = await stack.outputs();
      const current = out.accessKeyIds as Record<string, string>;
      const next = out.nextRotationDates as Record<string, string>;
      const date = at.toISOString().slice(0, 10);
      for (const user of USERS) {
        const old = before.get(user) ?? [];
        const now = after.get(user) ?? [];
        const line = (what: string, k: KeyView, note = "") =>
          console.log(`${pad(String(day), 5)}${pad(date, 12)}${pad(user, 19)}${pad(what, 13)}${k.id}${note}`);
        for (const k of old.filter((o) => !now.some((n) => n.id === o.id)))
          line("deleted", k, ` (created ${k.created})`);
        for (const k of now.filter((n) => !old.some((o) => o.id === n.id))) {
          line(
            "created",
            k,
            k.id === current[user] ? `  current; next rotation ${next[user].slice(0, 10)}` : "",
          );
        }
        for (const k of now.filter((n) => old.some((o) => o.id === n.id && o.status !== n.status))) {
          line(k.status === "Inactive" ? "deactivated" : "reactivated", k, ` (created ${k.created})`);
        }
      }
      before = after;
    }
    console.log("\nIAM now:");
    for (const user of USERS) {
      for (const k of before.get(user) ?? [])
        console.log(`  ${pad(user, 19)}${k.id}  ${pad(k.status, 9)} created ${k.created}`);
    }
    console.log(`\nDone in ${Math.round((Date.now() - started) / 1000)} s (${DAYS.length} deploys).`);
  } finally {
    await stack.remove().catch(() => undefined);
    await stopEmulator();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
