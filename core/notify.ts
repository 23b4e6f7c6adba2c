/**
 * Publishing notifications to SNS from the provider's create, update and delete (never from check
 * or diff, which also run at preview). A publish that fails is a warning on the resource, through
 * the engine's log: never a failed deploy, never a lost key.
 *
 * The SNS client uses the provider's connection (core/connection.ts: `profile`, `assumeRole`), the
 * topic's region (from its ARN) and the endpoint the environment names (`AWS_ENDPOINT_URL_SNS`,
 * then `AWS_ENDPOINT_URL`), like the IAM client. Tests replace the publisher (`setPublisher`).
 */
import { AsyncLocalStorage } from "async_hooks";
import { createHash } from "crypto";
import * as sns from "@aws-sdk/client-sns";
import * as sts from "@aws-sdk/client-sts";
import { requestHandlerOptions } from "./aws";
import { clientConnection, connectionKey } from "./connection";
import { messageOf } from "./errors";
import {
  buildMessage,
  isFifoTopic,
  Notice,
  NoticeContext,
  NotificationMessage,
  subjectOf,
  topicRegion,
} from "./notifications";

/** Sends one message; throws when SNS refuses it or cannot be reached. */
export type Publisher = (topicArn: string, message: NotificationMessage, subject: string) => Promise<void>;

/** The deployment around one provider call: the resource's URN, where a warning is reported. */
export interface CallContext {
  urn?: string;
}

/** Where a warning goes: the engine's log, on the resource (set by the provider plugin's entry). */
export type WarningSink = (message: string, urn?: string) => void;

const calls = new AsyncLocalStorage<CallContext>();
/** Without an engine: stderr. */
export const stderrWarnings: WarningSink = (message) => {
  process.stderr.write(`warning: ${message}\n`);
};
let sink: WarningSink = stderrWarnings;
let publisher: Publisher | undefined;
let accountLookup: (() => Promise<string | null>) | undefined;
const accounts = new Map<string, Promise<string | null>>();

/** Runs `fn` as the provider call for `urn`: its notifications name the stack and project, its warnings go to the resource. */
export function withCallContext<T>(context: CallContext, fn: () => Promise<T>): Promise<T> {
  return calls.run(context, fn);
}

export function setWarningSink(next: WarningSink): void {
  sink = next;
}

/** Replaces the SNS publisher (tests); undefined restores it. */
export function setPublisher(next: Publisher | undefined): void {
  publisher = next;
}

/** Replaces how the account id is found (tests); undefined restores STS GetCallerIdentity. */
export function setAccountLookup(next: (() => Promise<string | null>) | undefined): void {
  accountLookup = next;
}

/** The stack and project of a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string | undefined): { stack?: string; project?: string } {
  const m = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn ?? "");
  return m ? { stack: m[1], project: m[2] } : {};
}

/** The message's deduplication id for a FIFO topic: the event id, or its hash when too long. */
export function deduplicationId(eventId: string): string {
  return /^[\x21-\x7e]{1,128}$/.test(eventId) ? eventId : createHash("sha256").update(eventId).digest("hex");
}

/** The SNS publish: JSON body, subject, and `type` and `userName` as message attributes (for subscription filters). */
export const snsPublisher: Publisher = async (topicArn, message, subject) => {
  const client = new sns.SNSClient({
    ...clientConnection(),
    region: topicRegion(topicArn),
    maxAttempts: 3,
    requestHandler: requestHandlerOptions(),
  });
  try {
    await client.send(
      new sns.PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(message),
        Subject: subject,
        MessageAttributes: {
          type: { DataType: "String", StringValue: message.type },
          userName: { DataType: "String", StringValue: message.userName },
        },
        ...(isFifoTopic(topicArn)
          ? { MessageGroupId: message.userName, MessageDeduplicationId: deduplicationId(message.eventId) }
          : {}),
      }),
    );
  } finally {
    client.destroy();
  }
};

/** The account of the provider's credentials (STS GetCallerIdentity, which needs no permission), once per connection. */
function accountOf(): Promise<string | null> {
  if (accountLookup) return accountLookup();
  const key = [
    process.env.AWS_ENDPOINT_URL_STS ?? "",
    process.env.AWS_ENDPOINT_URL ?? "",
    connectionKey(),
  ].join("\n");
  let found = accounts.get(key);
  if (!found) {
    found = (async () => {
      const client = new sts.STSClient({
        ...clientConnection(),
        maxAttempts: 2,
        requestHandler: requestHandlerOptions(),
      });
      try {
        const account = (await client.send(new sts.GetCallerIdentityCommand({}))).Account;
        return account && /^\d{12}$/.test(account) ? account : null;
      } catch {
        accounts.delete(key); // asked again by the next publish
        return null;
      } finally {
        client.destroy();
      }
    })();
    accounts.set(key, found);
  }
  return found;
}

/**
 * Publishes each notice to the topic, one message each; returns the event ids that were sent. A
 * notice that fails is reported as a warning (naming its type, key, topic and the fix) and left out
 * of the result, so that a caller that records sent ids tries it again when the event recurs.
 */
export async function publishNotices(
  topicArn: string | undefined,
  userName: string,
  at: string,
  notices: readonly Notice[],
): Promise<string[]> {
  if (!topicArn || notices.length === 0) return [];
  const call = calls.getStore();
  const context: NoticeContext = { account: await accountOf(), userName, at, ...stackOfUrn(call?.urn) };
  const sent: string[] = [];
  for (const notice of notices) {
    const message = buildMessage(notice, context);
    try {
      await (publisher ?? snsPublisher)(topicArn, message, subjectOf(message));
      sent.push(notice.eventId);
    } catch (err) {
      sink(
        `The ${notice.type} notification${notice.accessKeyId ? ` for access key ${notice.accessKeyId}` : ""} of IAM user ` +
          `"${userName}" could not be published to SNS topic ${topicArn}: ${messageOf(err)}. The deploy goes on without it. ` +
          `Check that the topic exists in its region and that the deployer may call sns:Publish on it, or fix notifySnsTopicArn.`,
        call?.urn,
      );
    }
  }
  return sent;
}
