/**
 * The ready project: `pulumi up` rotates the access keys of the IAM users listed in stack config
 * (`aws-key-rotation:users`, or per account: `aws-key-rotation:accounts`), one RotatingAccessKey per
 * user. See README.md for every setting.
 */
import * as fs from "fs";
import * as path from "path";
import { newestSourceMtime } from "./core/build";
import { readyProgram } from "./components/readyProject";

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

const outputs = readyProgram();

/** Current key id per user (`alice`), or per account and user (`111111111111/alice`). */
export const accessKeyIds = outputs.accessKeyIds;
/** Current secret access key per user (a secret: `pulumi stack output --show-secrets`). */
export const secretAccessKeys = outputs.secretAccessKeys;
/** Previous key id per user, while it exists. */
export const previousAccessKeyIds = outputs.previousAccessKeyIds;
/** Next rotation date (ISO-8601) per user. */
export const nextRotationDates = outputs.nextRotationDates;
/** Every managed key per user: slot, id, status, createDate. */
export const keys = outputs.keys;
/** The accounts form (`aws-key-rotation:accounts`): per account id, its name, role and users. */
export const accounts = outputs.accounts;
