import * as pulumi from "@pulumi/pulumi";
import { AccessKey } from "../../../../components/providers/accessKey";

const config = new pulumi.Config();
const key = new AccessKey("key", {
  userName: config.require("userName"),
  status: (config.get("status") as "Active" | "Inactive" | undefined) ?? "Active",
  forceDelete: config.getBoolean("forceDelete") ?? false,
});

// A second key for the same user, when asked: a change elsewhere in the stack.
if (config.getBoolean("secondKey")) {
  new AccessKey("second", { userName: config.require("userName") });
}

export const accessKeyId = key.accessKeyId;
export const status = key.status;
export const secretAccessKey = key.secretAccessKey;
