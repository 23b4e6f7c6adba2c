/**
 * The `aws-key-rotation` CrossGuard policy pack. Constructing the PolicyPack starts the analyzer
 * server, so this file does nothing else; the policies live in ./policies.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
  policies,
  displayName: "AWS access key rotation",
  description:
    "Blocks deployments that would leave an Active IAM access key older than the limit, blocks rotation schedules that cannot stay under it, and reports stale keys made outside the stack.",
  provider: "aws",
  tags: ["aws", "iam", "access-keys", "cis"],
});
