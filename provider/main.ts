/**
 * The plugin's entry (provider/index.js calls `serve()`): serves the `keyrotation` provider over
 * gRPC with `@pulumi/pulumi/provider`'s server.
 *
 * That server answers Configure without passing the configuration on, so the provider's own
 * Configure is put in front of it: it reads `region`, `profile` and `assumeRole` (from the
 * provider's inputs, or the `keyrotation:*` config variables of a default provider), refuses bad
 * values naming the setting, and sets this process's connection (core/connection.ts).
 *
 * A notification that cannot be published is a warning on its resource: sent to the engine's log
 * service (the address the engine starts the plugin with), as the engine shows any diagnostic.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as providerSdk from "@pulumi/pulumi/provider";
import { configureConnection, parseConnection } from "../core/connection";
import { setWarningSink, WarningSink } from "../core/notify";
import type { RotatingAccessKeyArgs } from "../components/rotatingAccessKey";
import { keyRotationProvider, PROVIDER_NAME } from "./provider";

interface GrpcCall {
  request: {
    getArgs(): { toJavaScript(): Record<string, unknown> } | undefined;
    getVariablesMap(): { entries(): Iterable<[string, string]> };
  };
}
type Callback = (err: unknown, value?: unknown) => void;
type Handler = (call: GrpcCall, callback: Callback) => void;

/** The provider configuration from a Configure request: its inputs, else its config variables. */
export function configurationOf(request: GrpcCall["request"]): Record<string, unknown> {
  const args = request.getArgs()?.toJavaScript() ?? {};
  const raw: Record<string, unknown> = {};
  for (const [key, value] of request.getVariablesMap().entries()) {
    const name = key.startsWith(`${PROVIDER_NAME}:config:`)
      ? key.slice(`${PROVIDER_NAME}:config:`.length)
      : key.startsWith(`${PROVIDER_NAME}:`)
        ? key.slice(PROVIDER_NAME.length + 1)
        : key;
    raw[name] = value;
  }
  for (const [key, value] of Object.entries(args))
    if (value !== undefined && value !== null) raw[key] = value;
  return raw;
}

interface Grpc {
  Server: { prototype: { addService(service: unknown, impl: Record<string, Handler>): void } };
  status: { INVALID_ARGUMENT: number };
  credentials: { createInsecure(): unknown };
}

/** The gRPC library of the Pulumi SDK itself (its generated stubs need that very copy). */
function sdkGrpc(): Grpc {
  const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
  return require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] })) as Grpc;
}

/** The engine address among the plugin's arguments (flags such as `--logtostderr` and `-v=9` skipped). */
export function engineAddressOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--tracing") i++;
    else if (!args[i].startsWith("-")) return args[i];
  }
  return undefined;
}

/** Warnings as diagnostics on the resource, through the engine's Log; stderr without an engine. */
function engineWarnings(address: string | undefined): WarningSink {
  const stderr: WarningSink = (message) => process.stderr.write(`warning: ${message}\n`);
  if (!address) return stderr;
  const engineRpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as {
    EngineClient: new (
      address: string,
      credentials: unknown,
    ) => {
      log(request: unknown, callback: (err: unknown) => void): void;
    };
  };
  const engineProto = require("@pulumi/pulumi/proto/engine_pb") as {
    LogRequest: new () => {
      setSeverity(s: number): void;
      setMessage(m: string): void;
      setUrn(u: string): void;
    };
    LogSeverity: { WARNING: number };
  };
  let client: InstanceType<typeof engineRpc.EngineClient> | undefined;
  return (message, urn) => {
    client ??= new engineRpc.EngineClient(address, sdkGrpc().credentials.createInsecure());
    const request = new engineProto.LogRequest();
    request.setSeverity(engineProto.LogSeverity.WARNING);
    request.setMessage(message);
    request.setUrn(urn ?? "");
    client.log(request, (err) => {
      if (err) stderr(message, urn);
    });
  };
}

/** Puts this provider's Configure in front of the SDK server's, which ignores the request. */
function interceptConfigure(): void {
  const grpc = sdkGrpc();
  const original = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service, impl) {
    const configure = impl.configure?.bind(impl);
    if (configure) {
      impl.configure = (call, callback) => {
        const { settings, failures } = parseConnection(configurationOf(call.request));
        if (failures.length > 0) {
          callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: `The keyrotation provider's configuration is invalid:\n${failures.map((f) => `  - ${f.reason}`).join("\n")}`,
          });
          return;
        }
        configureConnection(settings);
        configure(call, callback);
      };
    }
    return original.call(this, service, impl);
  };
}

async function constructRotatingAccessKey(
  name: string,
  inputs: pulumi.Inputs,
  options: pulumi.ComponentResourceOptions,
): Promise<providerSdk.ConstructResult> {
  // Loaded on the first construct only: a TypeScript program registers the component itself, so
  // a plugin that serves one never needs the module (no start-up saving was measurable: what it
  // imports, the providers load anyway).
  const { RotatingAccessKey } =
    require("../components/rotatingAccessKey") as typeof import("../components/rotatingAccessKey");
  const component = new RotatingAccessKey(name, inputs as RotatingAccessKeyArgs, options);
  return {
    urn: component.urn,
    state: {
      accessKeyId: component.accessKeyId,
      secretAccessKey: component.secretAccessKey,
      previousAccessKeyId: component.previousAccessKeyId,
      nextRotationDate: component.nextRotationDate,
      keys: component.keys,
    },
  };
}

export function serve(args: string[] = process.argv.slice(2)): Promise<void> {
  interceptConfigure();
  setWarningSink(engineWarnings(engineAddressOf(args)));
  return providerSdk.main(keyRotationProvider(constructRotatingAccessKey), args);
}
