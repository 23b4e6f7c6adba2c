/**
 * `npm run bench:root-state [-- --users N]` (default 20): the state the repository's own project
 * (Pulumi.yaml + index.ts at the root, providers loaded from the build in dist/) stores per user,
 * after the first `pulumi up` (one key per user) and after a rotation day's up (two keys), as the
 * file backend writes it (compact JSON). Starts its own IAM emulator; the real Pulumi CLI.
 * `npm run bench:stack` measures the same for a stack that consumes the packed package.
 */
import * as iam from "@aws-sdk/client-iam";
import * as fs from "fs";
import { parseArgs } from "util";
import { addDays } from "../core/clock";
import { adminIam, emulator, emulatorEnv, setClock, startEmulator, stopEmulator } from "../test/support/moto";
import { REPO_ROOT, TestStack } from "../test/support/pulumiCli";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { users: { type: "string", default: "20" } } });
  const n = Number(values.users);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--users must be a positive integer; got ${values.users}`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  await startEmulator();
  const stack = new TestStack({
    projectDir: REPO_ROOT,
    stackName: "rootstate",
    env: emulatorEnv(emulator().endpoint),
  });
  try {
    const t0 = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
    await setClock(t0);
    const users = Array.from({ length: n }, (_, i) => `root-${String(i).padStart(5, "0")}`);
    for (const u of users) await adminIam().send(new iam.CreateUserCommand({ UserName: u }));
    await stack.init();
    fs.writeFileSync(
      stack.configFile,
      `config:\n  aws-key-rotation:stagger: false\n  aws-key-rotation:users:\n${users.map((u) => `    - ${u}\n`).join("")}`,
    );
    const measure = async (what: string, day: number) => {
      await setClock(addDays(t0, day));
      const up = await stack.up();
      if (up.code !== 0) throw new Error(`${what} failed:\n${up.stderr}`);
      const exported = await stack.exportState();
      const stored = Buffer.byteLength(JSON.stringify(JSON.parse(exported.text)));
      const types: Record<string, number> = {};
      for (const r of exported.resources) types[r.type] = (types[r.type] ?? 0) + 1;
      process.stdout.write(
        `${what}: ${Math.round(stored / n)} bytes/user stored (compact JSON; ${stored} in all), ` +
          `${Math.round(Buffer.byteLength(exported.text) / n)} bytes/user as pulumi stack export prints it; ` +
          `resources ${JSON.stringify(types)}\n`,
      );
    };
    process.stdout.write(`root project, ${n} users\n`);
    await measure("after the first up", 0);
    await measure("after a rotation day's up (day 31)", 31);
  } finally {
    await stack.remove();
    await stopEmulator();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
