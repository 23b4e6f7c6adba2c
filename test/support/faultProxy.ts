/**
 * A fault-injecting HTTP proxy between the code under test and the IAM emulator: the same kinds
 * of fault a real network and a CI runner produce. Point `AWS_ENDPOINT_URL_IAM` (and STS, Secrets
 * Manager) at `proxy.endpoint`; every request is forwarded to the emulator unless a rule matches.
 *
 * A rule names an action (`CreateAccessKey`, `TagUser`, `GetCallerIdentity`, `PutSecretValue`,
 * ...), which occurrence to hit (1 = the next one), and the fault:
 * - `lose-answer`: forwarded (it takes effect), then the connection drops before the answer;
 * - `throttle` / `unavailable`: answered 400 Throttling / 503 ServiceUnavailable, not forwarded;
 * - `reset`: the connection drops, not forwarded;
 * - `hang`: never answered (the connection stays open until the proxy stops);
 * - `kill-before` / `kill-after`: `onKill` runs (the test kills the deployment), before the call
 *   is forwarded or after it took effect; in both cases no answer is ever delivered;
 * - `stale-list` (on DeleteAccessKey): the delete takes effect, but for the next few seconds
 *   ListAccessKeys still lists the deleted key (IAM's eventual consistency);
 * - `limit-exceeded`: answered 409 LimitExceeded, not forwarded (IAM's quota answer, for example
 *   TagUser past 50 tags per user, which the emulator does not enforce).
 */
import * as http from "http";
import * as net from "net";

export type Fault =
  | "lose-answer"
  | "throttle"
  | "unavailable"
  | "reset"
  | "hang"
  | "kill-before"
  | "kill-after"
  | "stale-list"
  | "limit-exceeded";

/** How long a deleted key stays listed after a `stale-list` fault. */
export const STALE_LIST_MS = 4_000;

export interface FaultRule {
  action: string;
  fault: Fault;
  /** Which matching request to hit, counting from when the rule was added: 1 = the next. Default 1. */
  occurrence?: number;
  /** Only requests whose body contains this text (for example a tag key). */
  bodyIncludes?: string;
}

interface ActiveRule extends FaultRule {
  seen: number;
  fired: boolean;
}

/** The API action of a request: the Query protocol's `Action`, or the JSON protocol's target. */
export function actionOf(req: http.IncomingMessage, body: string): string {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") return target.split(".").pop() ?? target;
  const fromBody = new URLSearchParams(body).get("Action");
  if (fromBody) return fromBody;
  return new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "";
}

function awsError(status: number, type: string, code: string, message: string): string {
  return (
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>${type}</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy-${status}</RequestId></ErrorResponse>`
  );
}

export class FaultProxy {
  private server?: http.Server;
  private rules: ActiveRule[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** Deleted keys ListAccessKeys still lists (stale-list), until a time. */
  private stale: { userName: string; member: string; until: number }[] = [];
  /** The last listing of each key, to list it again after its delete (stale-list). */
  private readonly members = new Map<string, string>();
  /** Every action seen, in order (for assertions and debugging). */
  readonly log: string[] = [];
  /** Faults injected, by kind. */
  readonly injected: Record<string, number> = {};
  endpoint = "";
  /** Called by the kill faults; the test kills the deployment here. */
  onKill: (action: string) => void = () => undefined;

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, res, Buffer.concat(chunks), target));
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", () => resolve()));
    const address = this.server.address() as net.AddressInfo;
    this.endpoint = `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Adds a rule; it fires once. */
  add(rule: FaultRule): void {
    this.rules.push({ ...rule, seen: 0, fired: false });
  }

  clear(): void {
    this.rules = [];
  }

  /** True when every rule added has fired. */
  allFired(): boolean {
    return this.rules.every((r) => r.fired);
  }

  private match(action: string, body: string): ActiveRule | undefined {
    for (const rule of this.rules) {
      if (rule.fired || rule.action !== action) continue;
      if (rule.bodyIncludes && !body.includes(rule.bodyIncludes)) continue;
      rule.seen += 1;
      if (rule.seen === (rule.occurrence ?? 1)) {
        rule.fired = true;
        return rule;
      }
    }
    return undefined;
  }

  /** Records each listed key; re-adds deleted keys while they are stale. */
  private listing(request: string, xml: string): string {
    for (const m of xml.matchAll(
      /<member>(?:(?!<\/member>).)*<AccessKeyId>(\w+)<\/AccessKeyId>(?:(?!<\/member>).)*<\/member>/gs,
    )) {
      this.members.set(m[1], m[0]);
    }
    const userName = new URLSearchParams(request).get("UserName") ?? "";
    const now = Date.now();
    this.stale = this.stale.filter((s) => s.until > now);
    const extra = this.stale
      .filter((s) => s.userName === userName && !xml.includes(s.member))
      .map((s) => s.member);
    if (extra.length === 0) return xml;
    if (xml.includes("<AccessKeyMetadata/>"))
      return xml.replace("<AccessKeyMetadata/>", `<AccessKeyMetadata>${extra.join("")}</AccessKeyMetadata>`);
    return xml.replace("</AccessKeyMetadata>", `${extra.join("")}</AccessKeyMetadata>`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, target: URL): void {
    const text = body.toString("utf8");
    const action = actionOf(req, text);
    this.log.push(action);
    const rule = this.match(action, decodeURIComponent(text.replace(/\+/g, " ")));
    if (rule) this.injected[rule.fault] = (this.injected[rule.fault] ?? 0) + 1;
    switch (rule?.fault) {
      case "throttle":
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(awsError(400, "Sender", "Throttling", "Rate exceeded"));
        return;
      case "unavailable":
        res.writeHead(503, { "content-type": "text/xml" });
        res.end(awsError(503, "Receiver", "ServiceUnavailable", "Service is unavailable"));
        return;
      case "limit-exceeded":
        res.writeHead(409, { "content-type": "text/xml" });
        res.end(
          awsError(
            409,
            "Sender",
            "LimitExceeded",
            `Cannot exceed quota for ${action === "TagUser" ? "TagsPerUser: 50" : "this resource"}.`,
          ),
        );
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "hang":
        return;
      case "kill-before":
        this.onKill(action);
        req.socket.destroy();
        return;
    }
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on("data", (c: Buffer) => parts.push(c));
        answer.on("end", () => {
          if (rule?.fault === "lose-answer") {
            req.socket.destroy();
            return;
          }
          if (rule?.fault === "kill-after") {
            this.onKill(action);
            req.socket.destroy();
            return;
          }
          if (action === "ListAccessKeys") {
            const out = this.listing(text, Buffer.concat(parts).toString("utf8"));
            res.writeHead(answer.statusCode ?? 502, {
              ...answer.headers,
              "content-length": Buffer.byteLength(out),
            });
            res.end(out);
            return;
          }
          if (rule?.fault === "stale-list") {
            const params = new URLSearchParams(text);
            const member = this.members.get(params.get("AccessKeyId") ?? "");
            if (member)
              this.stale.push({
                userName: params.get("UserName") ?? "",
                member,
                until: Date.now() + STALE_LIST_MS,
              });
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(parts));
        });
      },
    );
    upstream.on("error", () => req.socket.destroy());
    upstream.end(body);
  }
}
