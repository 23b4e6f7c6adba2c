/**
 * pulumi-aws-key-rotation: keep AWS IAM user access keys fresh with Pulumi.
 *
 * `RotatingAccessKey` rotates one user's keys on a time trigger with an overlap, then deactivates
 * and (after a last-used check) deletes the old key. `AccessKey` is the single-key resource
 * underneath, served by the `keyrotation` provider plugin; `Provider` picks its account and credentials. The schedule and settings logic is exported for tools and tests.
 */
export { RotatingAccessKey, ROTATING_ACCESS_KEY_TOKEN, validateArgs } from "./rotatingAccessKey";
export type { RotatingAccessKeyArgs, ManagedKey } from "./rotatingAccessKey";
export { AccessKey, ACCESS_KEY_TOKEN, accessKeyProvider } from "./providers/accessKey";
export type { AccessKeyArgs, AccessKeyInputs, AccessKeyOutputs, KeyStatus } from "./providers/accessKey";
export { RotationSchedule } from "./providers/rotationScheduleResource";
export { SCHEDULE_TOKEN } from "../core/tokens";
export type { RotationScheduleArgs } from "./providers/rotationSchedule";
export type { ScheduleEvent } from "./providers/rotationSchedule";
export { SecretPublication } from "./providers/secretPublicationResource";
export { Provider } from "./provider";
export type { ProviderArgs, AssumeRoleArgs } from "./provider";
export { nextPlan, rotationDueDate, deactivationReason } from "./rotation/schedule";
export type { Plan, SlotPlan, Slot, ObservedKey, PlanEvent } from "./rotation/schedule";
export { DEFAULTS, BOUNDS, resolveSettings, validateSettings } from "../core/settings";
export type { RotationSettings, UnmanagedKeysPolicy } from "../core/settings";
export { now, CLOCK_ENV } from "../core/clock";
export { KeyRotationError, ValidationError, KeyQuotaError, KeyInUseError } from "../core/errors";
export { MESSAGE_VERSION, NOTICE_TYPES, NEARING_LIMIT_DAYS } from "../core/notifications";
export type { NotificationMessage, NoticeType } from "../core/notifications";
