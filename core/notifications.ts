/**
 * Notifications: what the rotation tells people through an SNS topic (`notifySnsTopicArn`), as
 * pure functions: the setting's validation, the event ids that make each message go out once, the
 * JSON message (a stable shape, `version: 1`) and its subject. No AWS or Pulumi code here; the
 * publisher is core/notify.ts. See docs/notifications.md for the shape of every type.
 *
 * No function here takes or returns a secret access key: a notice carries key ids, dates, user
 * names and numbers only.
 */

/** The message shape's version. A change that removes or renames a field gets a new version. */
export const MESSAGE_VERSION = 1;

/** Every type of message, in the order docs/notifications.md lists them. */
export const NOTICE_TYPES = [
  "key.created",
  "key.deactivated",
  "key.deleted",
  "retirement.waiting",
  "age.nearing-limit",
  "deploy.refused",
  "unmanaged-keys.found",
] as const;
export type NoticeType = (typeof NOTICE_TYPES)[number];

/**
 * How many days before `maxAgeDays` a key whose retirement waits makes an `age.nearing-limit`
 * message (once per key): two weeks, time enough to move an application off it.
 */
export const NEARING_LIMIT_DAYS = 14;

/** A detail value of a message: JSON only (no undefined, no Date). */
export type DetailValue = string | number | boolean | null | string[];

/** One thing a person should hear about, before the deployment's context is added. */
export interface Notice {
  type: NoticeType;
  /** Deterministic: the same event always has the same id (see `eventId`). */
  eventId: string;
  /** The key the event is about; null for an event about several keys (`accessKeyIds`). */
  accessKeyId: string | null;
  /** The type's own fields (docs/notifications.md). */
  details: Record<string, DetailValue>;
}

/** What the deployment knows about itself, added to every message. */
export interface NoticeContext {
  /** The 12-digit account of the IAM user (STS GetCallerIdentity of the provider's credentials); null when unknown. */
  account: string | null;
  userName: string;
  /** ISO-8601: the deploy's clock reading. */
  at: string;
  stack?: string;
  project?: string;
}

/** The JSON that is published: the common fields, then the type's own. */
export type NotificationMessage = {
  version: typeof MESSAGE_VERSION;
  type: NoticeType;
  eventId: string;
  account: string | null;
  userName: string;
  accessKeyId: string | null;
  at: string;
  stack?: string;
  project?: string;
} & Record<string, DetailValue | undefined>;

/** `arn:aws:sns:<region>:<12-digit account>:<name>`; a FIFO topic's name ends with `.fifo`. */
export const SNS_TOPIC_ARN_PATTERN =
  /^arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

/**
 * A failure when `value` is set and is not an SNS topic ARN; undefined when it is one, or unset
 * (undefined or ""). `property` is how the caller names the setting (a stack config key, say).
 */
export function snsTopicArnFailure(
  value: unknown,
  property = "notifySnsTopicArn",
): { property: string; reason: string } | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string" && SNS_TOPIC_ARN_PATTERN.test(value) && value.length <= 300) return undefined;
  const got = typeof value === "string" ? `"${value}"` : `a ${typeof value}`;
  return {
    property,
    reason:
      `${property} ${got} is not the ARN of an SNS topic: set ${property} to arn:aws:sns:<region>:<12-digit account>:<topic name> ` +
      `(aws sns list-topics shows it), or remove it to send no notifications.`,
  };
}

/** The region of a topic ARN (SNS is regional: the message is published there). */
export function topicRegion(topicArn: string): string {
  return topicArn.split(":")[3];
}

/** True for a FIFO topic, which needs a message group and deduplicates by id within 5 minutes. */
export function isFifoTopic(topicArn: string): boolean {
  return topicArn.endsWith(".fifo");
}

/**
 * The id of an event: its type and the keys (and step) it is about, so that a repeated or retried
 * deploy that meets the same event makes the same id. Key ids are unique in AWS.
 */
export function eventId(type: NoticeType, ...parts: (string | number)[]): string {
  return [type, ...parts.map(String)].join("/");
}

/**
 * The message for a notice in its context: the common fields first (`version`, `type`, `eventId`,
 * `account`, `userName`, `accessKeyId`, `at`, `stack` and `project` when known), then the type's own
 * in alphabetical order. A detail never overrides a common field.
 */
export function buildMessage(notice: Notice, context: NoticeContext): NotificationMessage {
  const common = {
    version: MESSAGE_VERSION,
    type: notice.type,
    eventId: notice.eventId,
    account: context.account,
    userName: context.userName,
    accessKeyId: notice.accessKeyId,
    at: context.at,
    ...(context.stack ? { stack: context.stack } : {}),
    ...(context.project ? { project: context.project } : {}),
  };
  // The type's own fields in alphabetical order: the same order whichever way the notice came
  // (the engine's state sorts the keys of what the schedule stored).
  const own = Object.fromEntries(
    Object.entries(notice.details)
      .filter(([k]) => !(k in common))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return { ...common, ...own } as NotificationMessage;
}

/** SNS's limit of a subject's length. */
export const SUBJECT_MAX = 100;

const text = (v: DetailValue | undefined): string => (v === undefined || v === null ? "?" : String(v));

/**
 * A subject people can read in a mail client: what happened, to which key of which user. ASCII
 * only (anything else becomes "?"), one line, under SUBJECT_MAX characters (cut with "...").
 */
export function subjectOf(message: NotificationMessage): string {
  const key = message.accessKeyId ?? "";
  const user = message.userName;
  let s: string;
  switch (message.type) {
    case "key.created":
      s = `Access key ${key} created for IAM user ${user}`;
      break;
    case "key.deactivated":
      s = `Access key ${key} of IAM user ${user} deactivated`;
      break;
    case "key.deleted":
      s = `Access key ${key} of IAM user ${user} deleted`;
      break;
    case "retirement.waiting":
      s = `Action needed: key ${key} of ${user} still used by ${text(message.serviceName)}`;
      break;
    case "age.nearing-limit":
      s = `Action needed: key ${key} of ${user} is ${text(message.daysLeft)} days from maxAgeDays`;
      break;
    case "deploy.refused":
      s = `Action needed: deploy refused (${text(message.reason)}) for key ${key} of ${user}`;
      break;
    case "unmanaged-keys.found": {
      const ids = Array.isArray(message.accessKeyIds) ? message.accessKeyIds : [];
      s = `${message.action === "retire" ? "Taking over" : "Action needed:"} ${ids.length} key(s) made outside the rotation on ${user}`;
      break;
    }
  }
  const ascii = `keyrotation: ${s}`.replace(/[^\x20-\x7e]/g, "?");
  return ascii.length < SUBJECT_MAX ? ascii : `${ascii.slice(0, SUBJECT_MAX - 4)}...`;
}

/** How many published event ids a resource keeps in its state (the oldest are forgotten first). */
export const KEPT_EVENT_IDS = 50;

/** The published ids to keep: the old ones and the new ones, without repeats, the newest KEPT_EVENT_IDS. */
export function keepEventIds(old: readonly string[] | undefined, added: readonly string[]): string[] {
  const all = [...(old ?? []), ...added];
  const unique = all.filter((id, i) => all.indexOf(id) === i);
  return unique.slice(-KEPT_EVENT_IDS);
}

/** The notices whose event ids are not among those published already, each id once. */
export function unpublished(notices: readonly Notice[], published: readonly string[] | undefined): Notice[] {
  const done = new Set(published ?? []);
  return notices.filter(
    (n, i) => !done.has(n.eventId) && notices.findIndex((m) => m.eventId === n.eventId) === i,
  );
}
