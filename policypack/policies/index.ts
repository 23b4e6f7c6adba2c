/**
 * The policies of the `aws-key-rotation` pack, importable without starting a policy server
 * (`policypack/index.ts` is the only file that constructs the PolicyPack).
 */
import { Policies } from "@pulumi/policy";
import { iamAccessKeyMaxAge } from "./maxAge";
import { iamAccessKeysOutsideStack } from "./outsideStack";
import { rotatingAccessKeySchedule } from "./schedule";

export const POLICY_PACK_NAME = "aws-key-rotation";

export { iamAccessKeyMaxAge, iamAccessKeysOutsideStack, rotatingAccessKeySchedule };

export const policies: Policies = [iamAccessKeyMaxAge, rotatingAccessKeySchedule, iamAccessKeysOutsideStack];
