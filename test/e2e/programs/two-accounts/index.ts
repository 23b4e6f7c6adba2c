/**
 * One stack, two accounts: an explicit keyrotation `Provider` per account, each assuming a role
 * there, and a RotatingAccessKey per account that uses it. Config `accounts`: a list of
 * `{ roleArn, userName }`.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider, RotatingAccessKey } from "../../../../components";

const accounts = new pulumi.Config().requireObject<{ roleArn: string; userName: string }[]>("accounts");

const keys = accounts.map(({ roleArn, userName }) => {
  const account = roleArn.split(":")[4];
  const provider = new Provider(`account-${account}`, {
    assumeRole: { roleArn, sessionName: "keyrotation-e2e" },
  });
  return {
    account,
    key: new RotatingAccessKey(
      `${account}-${userName}`,
      { userName, verifyTimeoutSeconds: 30 },
      { provider },
    ),
  };
});

const byAccount = <T>(pick: (k: RotatingAccessKey) => pulumi.Output<T>) =>
  pulumi.all(Object.fromEntries(keys.map(({ account, key }) => [account, pick(key)])));

export const accessKeyIds = byAccount((k) => k.accessKeyId);
export const previousAccessKeyIds = byAccount((k) => k.previousAccessKeyId);
export const secretAccessKeys = pulumi.secret(byAccount((k) => k.secretAccessKey));
