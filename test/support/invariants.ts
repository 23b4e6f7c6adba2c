/**
 * The invariants a deploy must leave, whatever happened during it (at most two keys, every key in
 * the state, no plain secret, the working key kept; README "When a deploy is interrupted"),
 * checked against IAM and the exported state of a consumer stack. Returns the problems found
 * (empty when all hold), so the fault suite can assert and the soak can count them.
 */
import * as sts from "@aws-sdk/client-sts";
import { emulator, listKeys } from "./moto";
import { RunResult, TestStack } from "./pulumiCli";
import { findSecrets, registerSecret } from "./secretGuard";

/** Key resources in the state: the provider plugin's, and 0.1.x's dynamic ones (the upgrade). */
const KEY_TYPES = ["keyrotation:iam:AccessKey", "pulumi-nodejs:dynamic/keyrotation:AccessKey"];

export interface CurrentKey {
  id: string;
  secret: string;
}

/** The stack's exported current key (its secret registered with the secret guard). */
export async function currentKey(stack: TestStack): Promise<CurrentKey> {
  const out = await stack.outputs(true);
  registerSecret(out.secretAccessKey as string);
  return { id: out.accessKeyId as string, secret: out.secretAccessKey as string };
}

/** Signs a request with the key, as an application would; returns the ARN STS reports. */
export async function signWith(key: CurrentKey): Promise<string> {
  const client = new sts.STSClient({
    region: "us-east-1",
    endpoint: emulator().endpoint,
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
  });
  try {
    return (await client.send(new sts.GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    client.destroy();
  }
}

export interface InvariantReport {
  problems: string[];
  /** Keys IAM holds that the state does not (orphans). */
  orphans: string[];
  /** True when the key applications used before is no longer Active. */
  lostWorkingKey: boolean;
  current: CurrentKey;
}

/**
 * - every key IAM holds for the user is a key the state holds, and the other way round; at most two;
 * - the exported current key is Active, and a request signed with it works;
 * - `inUse` (the key applications used before) is still Active;
 * - no registered secret in plain text in the state or in `runs`' output.
 */
export async function checkInvariants(
  stack: TestStack,
  userName: string,
  inUse: CurrentKey | undefined,
  runs: readonly RunResult[],
): Promise<InvariantReport> {
  const problems: string[] = [];
  const exported = await stack.exportState();
  const current = await currentKey(stack);
  if (findSecrets(exported.text).length > 0)
    problems.push("a secret access key is in plain text in the state");
  for (const r of runs) {
    if (findSecrets(r.visible).length > 0)
      problems.push("a secret access key is in plain text in a command's output");
  }
  const stateKeys = exported.resources.filter((r) => KEY_TYPES.includes(r.type)).map((r) => r.id as string);
  const iamKeys = await listKeys(userName);
  const iamIds = iamKeys.map((k) => k.AccessKeyId as string);
  const orphans = iamIds.filter((id) => !stateKeys.includes(id));
  if (orphans.length > 0) problems.push(`IAM holds keys the state does not: ${orphans.join(", ")}`);
  const ghosts = stateKeys.filter((id) => !iamIds.includes(id));
  if (ghosts.length > 0) problems.push(`the state holds keys IAM does not: ${ghosts.join(", ")}`);
  if (iamKeys.length < 1 || iamKeys.length > 2) problems.push(`the user has ${iamKeys.length} keys`);
  const status = (id: string) => iamKeys.find((k) => k.AccessKeyId === id)?.Status;
  if (status(current.id) !== "Active")
    problems.push(`the exported key ${current.id} is ${status(current.id) ?? "gone"}`);
  else if (!(await signWith(current)).endsWith(`:user/${userName}`))
    problems.push("the exported key does not work");
  const lostWorkingKey = inUse !== undefined && status(inUse.id) !== "Active";
  if (lostWorkingKey)
    problems.push(`the key in use before, ${inUse?.id}, is ${status(inUse?.id ?? "") ?? "gone"}`);
  return { problems, orphans, lostWorkingKey, current };
}
