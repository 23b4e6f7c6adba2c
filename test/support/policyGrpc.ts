/**
 * Serves the policy pack the way the engine does: `@pulumi/pulumi/cmd/run-policy-pack <engine>
 * <pack dir>` with the pack directory as working directory (the engine address is never dialled),
 * then talks to it over the Analyzer gRPC interface with Pulumi's own stubs.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as policy from "@pulumi/policy";
import { CraftedResource, Diagnostic, EnforcementLevel, ReconciledConfig, urnOf } from "./policyHarness";

export const PACK_DIR = path.resolve(__dirname, "../../policypack");

export interface ServedPack {
  client: analyzerRpc.AnalyzerClient;
  port: number;
  /** Everything the pack process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the pack; resolves once it has printed its port. */
export async function servePolicyPack(
  env: NodeJS.ProcessEnv,
  packDir = PACK_DIR,
  timeoutMs = 60_000,
): Promise<ServedPack> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", packDir], {
    cwd: packDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const stop = () => stopChild(child);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the pack printed no port within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      const onData = () => {
        const match = /^(\d+)\s*$/m.exec(output);
        if (match) {
          clearTimeout(timer);
          child.stdout?.off("data", onData);
          resolve(Number(match[1]));
        }
      };
      child.stdout?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the pack exited with code ${code} before printing its port:\n${output}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    client,
    port,
    output: () => output,
    stop: async () => {
      client.close();
      await stop();
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
}

function unary<Req, Res>(
  fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

export function getAnalyzerInfo(client: analyzerRpc.AnalyzerClient): Promise<analyzer.AnalyzerInfo> {
  return unary(client.getAnalyzerInfo.bind(client), new emptyproto.Empty());
}

const LEVELS: Record<EnforcementLevel, analyzer.EnforcementLevel> = {
  advisory: analyzer.EnforcementLevel.ADVISORY,
  mandatory: analyzer.EnforcementLevel.MANDATORY,
  disabled: analyzer.EnforcementLevel.DISABLED,
  remediate: analyzer.EnforcementLevel.REMEDIATE,
};

export function levelName(level: analyzer.EnforcementLevel): EnforcementLevel {
  const found = (Object.keys(LEVELS) as EnforcementLevel[]).find((k) => LEVELS[k] === level);
  if (!found) throw new Error(`unknown enforcement level ${level}`);
  return found;
}

/** The policies as the engine knows them: from GetAnalyzerInfo (names, levels, schemas). */
export function policiesFromInfo(info: analyzer.AnalyzerInfo): policy.Policies {
  return info.getPoliciesList().map((p) => {
    const schema = p.getConfigschema();
    return {
      name: p.getName(),
      description: p.getDescription(),
      enforcementLevel: levelName(p.getEnforcementlevel()),
      ...(schema
        ? {
            configSchema: {
              properties: (schema.getProperties()?.toJavaScript() ??
                {}) as policy.PolicyConfigSchema["properties"],
              required: schema.getRequiredList(),
            },
          }
        : {}),
      validateStack: () => undefined,
    };
  });
}

/** Sends Configure with the reconciled config of every policy, as the engine does. */
export async function configure(
  client: analyzerRpc.AnalyzerClient,
  config: Record<string, ReconciledConfig>,
): Promise<void> {
  const req = new analyzer.ConfigureAnalyzerRequest();
  for (const [name, c] of Object.entries(config)) {
    const pc = new analyzer.PolicyConfig();
    pc.setEnforcementlevel(LEVELS[c.enforcementLevel]);
    pc.setProperties(structproto.Struct.fromJavaScript(c.properties as never));
    req.getPolicyconfigMap().set(name, pc);
  }
  await unary(client.configure.bind(client), req);
}

function plain(props: Record<string, unknown>): structproto.Struct {
  return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));
}

function diagnostics(res: analyzer.AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policyName: d.getPolicyname(),
    enforcementLevel: levelName(d.getEnforcementlevel()),
    message: d.getMessage(),
    ...(d.getUrn() ? { urn: d.getUrn() } : {}),
  }));
}

export async function analyzeStack(
  client: analyzerRpc.AnalyzerClient,
  resources: CraftedResource[],
): Promise<Diagnostic[]> {
  const req = new analyzer.AnalyzeStackRequest();
  req.setResourcesList(
    resources.map((r) => {
      const res = new analyzer.AnalyzerResource();
      res.setType(r.type);
      res.setName(r.name);
      res.setUrn(urnOf(r));
      res.setProperties(plain(r.props));
      res.setOptions(new analyzer.AnalyzerResourceOptions());
      return res;
    }),
  );
  return diagnostics(await unary(client.analyzeStack.bind(client), req));
}

export async function analyze(client: analyzerRpc.AnalyzerClient, r: CraftedResource): Promise<Diagnostic[]> {
  const req = new analyzer.AnalyzeRequest();
  req.setType(r.type);
  req.setName(r.name);
  req.setUrn(urnOf(r));
  req.setProperties(plain(r.props));
  req.setOptions(new analyzer.AnalyzerResourceOptions());
  return diagnostics(await unary(client.analyze.bind(client), req));
}
