/**
 * The keyrotation provider plugin (provider/index.js, on `@pulumi/pulumi/provider`'s server) and
 * Pulumi's dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`, which served 0.1.x state),
 * started as the engine starts them, and a gRPC client for their ResourceProvider service.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as providerGrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import * as structPb from "google-protobuf/google/protobuf/struct_pb";

export interface Host {
  client: providerGrpc.ResourceProviderClient;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** The provider plugin's entry, as provider/PulumiPlugin.yaml has the engine start it. */
export const PLUGIN_ENTRY = path.resolve(__dirname, "..", "..", "provider", "index.js");

export function startProviderHost(env: NodeJS.ProcessEnv = process.env): Promise<Host> {
  return startHost(require.resolve("@pulumi/pulumi/cmd/dynamic-provider"), env);
}

/** The keyrotation plugin from the build (npm run build). */
export function startProviderPlugin(env: NodeJS.ProcessEnv = process.env): Promise<Host> {
  return startHost(PLUGIN_ENTRY, env);
}

async function startHost(entry: string, env: NodeJS.ProcessEnv): Promise<Host> {
  // The engine passes its own address; the host never dials it for these calls.
  const child = spawn(process.execPath, [entry, "127.0.0.1:1"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`the dynamic-provider host printed no port: ${err}`)),
      30_000,
    );
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`the dynamic-provider host exited with ${code}: ${err}`)));
  });
  const client = new providerGrpc.ResourceProviderClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  );
  return {
    client,
    child,
    stderr: () => err,
    stop: async () => {
      client.close();
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        });
      }
    },
  };
}

export function call<Res>(
  invoke: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export const struct = (value: Record<string, unknown>) => structPb.Struct.fromJavaScript(value as never);

export async function check(
  host: Host,
  urn: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
) {
  const req = new providerPb.CheckRequest();
  req.setUrn(urn);
  req.setOlds(struct(olds));
  req.setNews(struct(news));
  const res = await call<providerPb.CheckResponse>((cb) => host.client.check(req, cb));
  return {
    inputs: (res.getInputs()?.toJavaScript() ?? {}) as Record<string, unknown>,
    failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
  };
}

export async function create(host: Host, urn: string, properties: Record<string, unknown>) {
  const req = new providerPb.CreateRequest();
  req.setUrn(urn);
  req.setProperties(struct(properties));
  const res = await call<providerPb.CreateResponse>((cb) => host.client.create(req, cb));
  return {
    id: res.getId(),
    properties: (res.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>,
  };
}

export async function read(host: Host, urn: string, id: string, properties: Record<string, unknown>) {
  const req = new providerPb.ReadRequest();
  req.setUrn(urn);
  req.setId(id);
  req.setProperties(struct(properties));
  const res = await call<providerPb.ReadResponse>((cb) => host.client.read(req, cb));
  return {
    id: res.getId(),
    properties: (res.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>,
  };
}

export async function diff(
  host: Host,
  urn: string,
  id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
) {
  const req = new providerPb.DiffRequest();
  req.setUrn(urn);
  req.setId(id);
  req.setOlds(struct(olds));
  req.setNews(struct(news));
  const res = await call<providerPb.DiffResponse>((cb) => host.client.diff(req, cb));
  return {
    changes: res.getChanges(),
    replaces: res.getReplacesList(),
    deleteBeforeReplace: res.getDeletebeforereplace(),
  };
}

export async function update(
  host: Host,
  urn: string,
  id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
) {
  const req = new providerPb.UpdateRequest();
  req.setUrn(urn);
  req.setId(id);
  req.setOlds(struct(olds));
  req.setNews(struct(news));
  const res = await call<providerPb.UpdateResponse>((cb) => host.client.update(req, cb));
  return (res.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>;
}

export async function destroy(host: Host, urn: string, id: string, properties: Record<string, unknown>) {
  const req = new providerPb.DeleteRequest();
  req.setUrn(urn);
  req.setId(id);
  req.setProperties(struct(properties));
  await call<unknown>((cb) => host.client.delete(req, cb));
}

/** Configure, as the engine sends it for a provider: its inputs as `args` (and as variables). */
export async function configure(host: Host, args: Record<string, unknown>): Promise<void> {
  const req = new providerPb.ConfigureRequest();
  req.setArgs(struct(args));
  const variables = req.getVariablesMap();
  for (const [key, value] of Object.entries(args)) {
    variables.set(`keyrotation:${key}`, typeof value === "string" ? value : JSON.stringify(value));
  }
  req.setAcceptsecrets(true);
  req.setAcceptresources(true);
  await call<providerPb.ConfigureResponse>((cb) => host.client.configure(req, cb));
}

/** Configure with only the config variables (a default provider and `pulumi config set keyrotation:*`). */
export async function configureVariables(host: Host, variables: Record<string, string>): Promise<void> {
  const req = new providerPb.ConfigureRequest();
  for (const [key, value] of Object.entries(variables)) req.getVariablesMap().set(key, value);
  req.setAcceptsecrets(true);
  await call<providerPb.ConfigureResponse>((cb) => host.client.configure(req, cb));
}

export async function schema(host: Host): Promise<Record<string, unknown>> {
  const req = new providerPb.GetSchemaRequest();
  const res = await call<providerPb.GetSchemaResponse>((cb) => host.client.getSchema(req, cb));
  return JSON.parse(res.getSchema()) as Record<string, unknown>;
}
