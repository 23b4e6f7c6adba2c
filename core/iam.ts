/**
 * The key inventory: IAM calls shared by the key provider, the policy pack's outside-the-stack
 * policy and the audit command. Clients are injectable; every list call is paginated; SDK
 * exceptions are recognised with `instanceof`.
 */
import * as iam from "@aws-sdk/client-iam";
import { requestHandlerOptions, resolveRegion, TimeLimits } from "./aws";
import { clientConnection, connection, connectionKey } from "./connection";
import { MS_PER_DAY } from "./clock";
import { KeyStatus } from "./types";

export interface IamClientOptions extends TimeLimits {
  /** Signing region; IAM is global, so the default is `us-east-1`. */
  region?: string;
  /** Retry attempts for throttling and transient errors (the SDK's standard strategy). Default 8. */
  maxAttempts?: number;
  /** An explicit endpoint; otherwise the SDK reads `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  /** Credentials; otherwise the default credential chain (`AWS_PROFILE` etc.). */
  credentials?: iam.IAMClientConfig["credentials"];
  /** A named profile of the shared AWS config files (like `AWS_PROFILE`, for this client only). */
  profile?: string;
  /**
   * The SDK's retry mode: `standard` (default) or `adaptive`, which also slows the client down
   * when IAM throttles, so that many concurrent calls back off together.
   */
  retryMode?: "standard" | "adaptive";
}

type RetryStrategyV2 = Awaited<ReturnType<iam.IAMClient["config"]["retryStrategy"]>> & {
  acquireInitialRetryToken(scope: string): Promise<unknown>;
  refreshRetryTokenForRetry(token: unknown, info: { error?: unknown }): Promise<unknown>;
  recordSuccess(token: unknown): void;
};

/**
 * The SDK's retry strategy for `mode`, except that IAM's LimitExceeded fails at once. The SDK
 * counts it as throttling and retries it with growing delays (and, in adaptive mode, slows every
 * other call of the client down); but IAM answers it for a quota (tags per user, keys per user),
 * which waiting does not change. IAM's rate limit answers Throttling, which is still retried.
 */
export function quotaAwareRetryStrategy(mode: "standard" | "adaptive", maxAttempts: number): RetryStrategyV2 {
  const donor = new iam.IAMClient({ region: "us-east-1", retryMode: mode, maxAttempts });
  const pending = donor.config.retryStrategy() as Promise<RetryStrategyV2>;
  donor.destroy();
  let inner: RetryStrategyV2 | undefined;
  return {
    mode,
    async acquireInitialRetryToken(scope: string) {
      inner ??= await pending;
      return inner.acquireInitialRetryToken(scope);
    },
    async refreshRetryTokenForRetry(token: unknown, info: { error?: unknown }) {
      if (info.error instanceof iam.LimitExceededException) throw info.error;
      inner ??= await pending;
      return inner.refreshRetryTokenForRetry(token, info);
    },
    recordSuccess(token: unknown) {
      inner?.recordSuccess(token);
    },
  } as unknown as RetryStrategyV2;
}

/**
 * An IAM client with hard time limits and the quota-aware retries. Without explicit credentials or
 * a profile it uses this process's connection (a provider's `assumeRole` or `profile`; see
 * core/connection.ts), else the default credential chain.
 */
export function createIamClient(options: IamClientOptions = {}): iam.IAMClient {
  const maxAttempts = options.maxAttempts ?? 8;
  const explicit = options.credentials !== undefined || options.profile !== undefined;
  return new iam.IAMClient({
    ...(explicit ? {} : clientConnection()),
    region: resolveRegion(options.region ?? connection().region),
    maxAttempts,
    retryStrategy: quotaAwareRetryStrategy(options.retryMode ?? "standard", maxAttempts),
    requestHandler: requestHandlerOptions(options),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  });
}

/**
 * The IAM client every provider call in one process shares (the engine's dynamic-provider host
 * serves all resources of a deploy), so that its connections are kept alive between calls instead
 * of one client and one TCP connection per call, and a throttled IAM slows them all down together.
 * `destroy()` leaves it open; it is replaced (and closed) when the environment or the provider
 * configuration it was made from changes (endpoint, credentials, region, profile, role).
 */
class SharedIamClient extends iam.IAMClient {
  override destroy(): void {
    // shared: closed by close() only
  }
  close(): void {
    super.destroy();
  }
}

let shared: { key: string; client: SharedIamClient } | undefined;
const SHARED_ENV = [
  "AWS_ENDPOINT_URL_IAM",
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
];

export function sharedIamClient(): iam.IAMClient {
  const key = [...SHARED_ENV.map((name) => process.env[name] ?? ""), connectionKey()].join("\n");
  if (shared?.key !== key) {
    shared?.client.close();
    shared = {
      key,
      client: new SharedIamClient({
        // The provider's configuration (region, profile, assumeRole), else the environment.
        ...clientConnection(),
        maxAttempts: 8,
        // Adaptive: once IAM throttles, the client slows all its callers down together (every
        // resource of the deploy shares it), instead of each retrying on its own.
        retryMode: "adaptive",
        retryStrategy: quotaAwareRetryStrategy("adaptive", 8),
        requestHandler: requestHandlerOptions(),
      }),
    };
  }
  return shared.client;
}

/**
 * Fills a key's last-use fields from GetAccessKeyLastUsed; false (fields untouched) when the key
 * no longer exists.
 */
export async function readLastUse(client: iam.IAMClient, key: KeyRecord): Promise<boolean> {
  try {
    const use = await getLastUse(client, key.accessKeyId);
    key.lastUsedDate = use.lastUsedDate;
    key.lastUsedService = use.serviceName;
    key.lastUsedRegion = use.region;
    return true;
  } catch (err) {
    if (err instanceof iam.NoSuchEntityException) return false;
    throw err;
  }
}

/** One access key as IAM reports it, with its last use when asked for. Never holds a secret. */
export interface KeyRecord {
  userName: string;
  accessKeyId: string;
  status: KeyStatus;
  /** ISO-8601 */
  createDate: string;
  /** ISO-8601; absent when IAM has no record of a use. */
  lastUsedDate?: string;
  /** `N/A` when never used. */
  lastUsedService?: string;
  /** `N/A` when never used. */
  lastUsedRegion?: string;
}

export interface LastUse {
  lastUsedDate?: string;
  serviceName: string;
  region: string;
}

/** One IAM user as ListUsers reports it. */
export interface UserRecord {
  userName: string;
  /** IAM path, `/` by default. */
  path: string;
  arn: string;
}

/** Every IAM user, optionally under an IAM path prefix (`/teams/`), page by page (1000 a page by default). */
export async function* paginateUsers(
  client: iam.IAMClient,
  options: { pathPrefix?: string; pageSize?: number } = {},
): AsyncGenerator<UserRecord> {
  const pages = iam.paginateListUsers(
    { client, pageSize: options.pageSize ?? 1000 },
    options.pathPrefix ? { PathPrefix: options.pathPrefix } : {},
  );
  for await (const page of pages) {
    for (const user of page.Users ?? []) {
      if (user.UserName) yield { userName: user.UserName, path: user.Path ?? "/", arn: user.Arn ?? "" };
    }
  }
}

/** Every IAM user name, optionally under an IAM path prefix (`/teams/`). */
export async function* paginateUserNames(
  client: iam.IAMClient,
  options: { pathPrefix?: string; pageSize?: number } = {},
): AsyncGenerator<string> {
  for await (const user of paginateUsers(client, options)) yield user.userName;
}

/** The user's keys (metadata only), oldest first. `pageSize` is ListAccessKeys' MaxItems (default 100). */
export async function listUserKeys(
  client: iam.IAMClient,
  userName: string,
  options: { pageSize?: number } = {},
): Promise<KeyRecord[]> {
  const keys: KeyRecord[] = [];
  const pages = iam.paginateListAccessKeys(
    { client, pageSize: options.pageSize ?? 100 },
    { UserName: userName },
  );
  for await (const page of pages) {
    for (const key of page.AccessKeyMetadata ?? []) {
      if (!key.AccessKeyId) continue;
      keys.push({
        userName,
        accessKeyId: key.AccessKeyId,
        status: key.Status === "Inactive" ? "Inactive" : "Active",
        createDate: (key.CreateDate ?? new Date(0)).toISOString(),
      });
    }
  }
  return keys.sort((a, b) => a.createDate.localeCompare(b.createDate));
}

export async function getLastUse(client: iam.IAMClient, accessKeyId: string): Promise<LastUse> {
  const out = await client.send(new iam.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
  const used = out.AccessKeyLastUsed;
  return {
    ...(used?.LastUsedDate ? { lastUsedDate: used.LastUsedDate.toISOString() } : {}),
    serviceName: used?.ServiceName ?? "N/A",
    region: used?.Region ?? "N/A",
  };
}

/** Age in days (fractional) of a key created at `createDate`, at `at`. */
export function keyAgeDays(createDate: string, at: Date): number {
  return (at.getTime() - new Date(createDate).getTime()) / MS_PER_DAY;
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. After
 * the first failure no new item is started, and the failure is thrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  await Promise.all(workers);
  return results;
}

export interface InventoryOptions {
  /** Also call GetAccessKeyLastUsed for each key. Default false. */
  withLastUse?: boolean;
  /** IAM calls in flight at once. Default 8. */
  concurrency?: number;
  /** ListAccessKeys page size (MaxItems). Default 100. */
  pageSize?: number;
  /** Called after each user's keys (and last uses) are read, with the count done so far. */
  onUserDone?: (done: number, total: number) => void;
}

/**
 * The keys of the named users. A user that does not exist (or vanished mid-way) contributes no
 * keys and is listed in `missingUsers`; other errors propagate.
 */
export async function inventoryUsers(
  client: iam.IAMClient,
  userNames: readonly string[],
  options: InventoryOptions = {},
): Promise<{ keys: KeyRecord[]; missingUsers: string[] }> {
  const missingUsers: string[] = [];
  let done = 0;
  const perUser = await mapLimit(userNames, options.concurrency ?? 8, async (userName) => {
    try {
      const keys = await listUserKeys(client, userName, { pageSize: options.pageSize });
      if (options.withLastUse) {
        for (const key of keys) {
          await readLastUse(client, key);
        }
      }
      return keys;
    } catch (err) {
      if (err instanceof iam.NoSuchEntityException) {
        missingUsers.push(userName);
        return [];
      }
      throw err;
    } finally {
      done += 1;
      options.onUserDone?.(done, userNames.length);
    }
  });
  return { keys: perUser.flat(), missingUsers: missingUsers.sort() };
}

/**
 * The access key id the client's own calls are signed with (its resolved credentials), or
 * `undefined` when the credentials cannot be resolved. No AWS call is made for static keys.
 */
export async function callerAccessKeyId(client: iam.IAMClient): Promise<string | undefined> {
  try {
    return (await client.config.credentials()).accessKeyId;
  } catch {
    return undefined;
  }
}
