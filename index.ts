/**
 * The ready project: `pulumi up` rotates the access keys of the IAM users listed in stack config
 * (`aws-key-rotation:users`), one RotatingAccessKey per user. See README.md for every setting.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { newestSourceMtime } from "./core/build";
import { RotatingAccessKey } from "./components/rotatingAccessKey";
import { planUsers, StackConfigInput } from "./components/stackConfig";

/** The provider plugin's code, which the engine starts from the build (provider/index.js). */
const PLUGIN_FILE = "dist/provider/main.js";

/**
 * The engine runs the keyrotation provider plugin from the build (`dist/`, see provider/index.js)
 * while this program runs from the sources: refuse to deploy with a build that is missing or older.
 */
function assertBuilt(root: string): void {
  const built = path.join(root, PLUGIN_FILE);
  const sources = newestSourceMtime(["components", "core", "provider"].map((d) => path.join(root, d)));
  if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < sources) {
    throw new Error(
      `${PLUGIN_FILE} is ${fs.existsSync(built) ? "older than the sources in components/, core/ and provider/" : "missing"}: ` +
        `the engine runs the keyrotation provider plugin from the build. Run npm run build, then pulumi up again.`,
    );
  }
}

assertBuilt(__dirname);

const config = new pulumi.Config("aws-key-rotation");
const input: StackConfigInput = {
  users: config.getObject<unknown>("users"),
  userSettings: config.getObject<unknown>("userSettings"),
  rotationDays: config.getNumber("rotationDays"),
  overlapDays: config.getNumber("overlapDays"),
  maxAgeDays: config.getNumber("maxAgeDays"),
  deletionGuardHours: config.getNumber("deletionGuardHours"),
  forceDelete: config.getBoolean("forceDelete"),
  stagger: config.getBoolean("stagger"),
  unmanagedKeys: config.get("unmanagedKeys"),
  verifyTimeoutSeconds: config.getNumber("verifyTimeoutSeconds"),
};

const rotations = planUsers(input).map(({ userName, args }) => ({
  userName,
  key: new RotatingAccessKey(userName, args),
}));

const byUser = <T>(pick: (k: RotatingAccessKey) => pulumi.Output<T>) =>
  pulumi.all(Object.fromEntries(rotations.map((r) => [r.userName, pick(r.key)])));

/** Current key id per user. */
export const accessKeyIds = byUser((k) => k.accessKeyId);
/** Current secret access key per user (a secret: `pulumi stack output --show-secrets`). */
export const secretAccessKeys = pulumi.secret(byUser((k) => k.secretAccessKey));
/** Previous key id per user, while it exists. */
export const previousAccessKeyIds = byUser((k) => k.previousAccessKeyId);
/** Next rotation date (ISO-8601) per user. */
export const nextRotationDates = byUser((k) => k.nextRotationDate);
/** Every managed key per user: slot, id, status, createDate. */
export const keys = byUser((k) => k.keys);
