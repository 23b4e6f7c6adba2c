/**
 * Every sample in README.md and docs/*.md is extracted and checked, so that a sample that no
 * longer works fails CI:
 * - TypeScript: type-checked against the package's sources (strict), as a stack would import it;
 *   a sample that is a mocha test (`describe(`) is also run, against the built package.
 * - Python: parsed (`ast.parse`); Go: parsed (`gofmt -e`); JSON: parsed.
 * - YAML: parsed; a stack config (`config:` with `aws-key-rotation:` keys) goes through the ready
 *   project's plan (every rule of the stack config); a YAML program's resources must be types of
 *   the package schema with inputs it declares; an `accounts:` list goes through the audit's
 *   accounts-file rules.
 * - Shell: `bash -n`; every `npx pulumi-aws-key-rotation audit|iam-policy ...` line is parsed by
 *   the command's own option parser (iam-policy runs: it is pure); every `pulumi config set`
 *   names a key the ready project or the provider reads.
 * `text` and `csv` blocks are sample output and are not checked. A block right after a line
 * `<!-- sample: not checked (reason) -->` is left out, with its reason.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { parse as parseYaml } from "yaml";
import { parseCommand } from "../../audit/cli";
import { iamPolicyCommand } from "../../audit/iamPolicy";
import { parseAccountsFile } from "../../audit/organization";
import { planStack } from "../../components/stackConfig";
import { STACK_CONFIG_KEYS } from "../../components/stackConfigKeys";
import { SETTING_KEYS } from "../../core/settings";
import { packageSchema } from "../../provider/packageSchema";
import { readRunnerConfig, stackConfigInput } from "../../runner/plan";

const ROOT = path.resolve(__dirname, "../..");
const PYTHON = process.env.KEYROTATION_PYTHON ?? "python3";

export interface Sample {
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** The fenced code blocks of a Markdown text, with the line each starts on. */
export function extractSamples(file: string, text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const skipped = start > 0 && /^<!-- sample: not checked \(.+\) -->$/.test(lines[start - 1].trim());
    if (!skipped) samples.push({ file, line: start + 1, lang: open[1] || "", code: body.join("\n") + "\n" });
  }
  return samples;
}

function docs(): { file: string; text: string }[] {
  const files = [
    "README.md",
    ...fs
      .readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  return files.map((file) => ({ file, text: fs.readFileSync(path.join(ROOT, file), "utf8") }));
}

const where = (s: Sample) => `${s.file}:${s.line}`;

/** Type-checks TypeScript samples as modules of a stack that imports the package. */
export function typeCheck(samples: Sample[]): string[] {
  const virtual = new Map(samples.map((s, i) => [path.join(ROOT, "__samples__", `sample${i}.ts`), s]));
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node", "mocha"],
    baseUrl: ROOT,
    paths: {
      "pulumi-aws-key-rotation": ["components/index.ts"],
      "pulumi-aws-key-rotation/testing": ["components/testing.ts"],
    },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError) => {
    const s = virtual.get(path.resolve(name));
    return s ? ts.createSourceFile(name, s.code, language) : getSourceFile(name, language, onError);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(path.resolve(name)) || fileExists(name);
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && virtual.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const s = virtual.get(path.resolve(d.file?.fileName ?? "")) as Sample;
      const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
      return `${s.file}:${s.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
}

/** Shell words of one command line (quotes respected; no expansion). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** The commands of a shell sample: continuation lines joined, comments dropped. */
function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "");
}

const STACK_KEYS = new Set([
  ...SETTING_KEYS,
  ...STACK_CONFIG_KEYS.map((k) => k.key),
  "secretsManagerSecretId",
  "adoptExistingSecret",
]);
const schema = packageSchema() as {
  config: { variables: Record<string, unknown> };
  resources: Record<string, { inputProperties: Record<string, unknown> }>;
};

function checkShell(s: Sample): string[] {
  const problems: string[] = [];
  const syntax = spawnSync("bash", ["-n"], { input: s.code, encoding: "utf8" });
  if (syntax.status !== 0) problems.push(`${where(s)}: bash -n: ${syntax.stderr.trim()}`);
  for (const command of commands(s.code)) {
    const w = words(command.replace(/\s[<>|].*$/, ""));
    const cli = w.indexOf("pulumi-aws-key-rotation");
    if (w[0] === "npx" && cli === 1) {
      const args = w.slice(2);
      if (args[0] === "iam-policy") {
        let stderr = "";
        const code = iamPolicyCommand(args.slice(1), {
          stdout: { write: () => true },
          stderr: { write: (t: string) => (stderr += t) },
        });
        if (code !== 0) problems.push(`${where(s)}: ${command}: exit ${code}: ${stderr.trim()}`);
      } else if (args[0] === "audit") {
        try {
          parseCommand(args);
        } catch (err) {
          problems.push(`${where(s)}: ${command}: ${(err as Error).message}`);
        }
      }
    }
    const set = w.indexOf("set");
    if (w[0] === "pulumi" && w[1] === "config" && set === 2) {
      const key = w.slice(3).find((x) => !x.startsWith("-"));
      const m = /^([\w-]+):([A-Za-z]+)/.exec(key ?? "");
      if (m && m[1] === "aws-key-rotation" && !STACK_KEYS.has(m[2])) {
        problems.push(
          `${where(s)}: ${command}: aws-key-rotation:${m[2]} is not a key the ready project reads.`,
        );
      }
      if (m && m[1] === "keyrotation" && !(m[2] in schema.config.variables)) {
        problems.push(
          `${where(s)}: ${command}: keyrotation:${m[2]} is not a provider configuration variable.`,
        );
      }
    }
  }
  return problems;
}

function checkYaml(s: Sample): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(s.code);
  } catch (err) {
    return [`${where(s)}: not YAML: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  const root = doc as Record<string, unknown> | null;
  if (root && typeof root === "object" && !Array.isArray(root)) {
    const config = root.config as Record<string, unknown> | undefined;
    if (config && Object.keys(config).some((k) => k.startsWith("aws-key-rotation:"))) {
      try {
        planStack(stackConfigInput(readRunnerConfig(root, where(s)).settings));
      } catch (err) {
        problems.push(`${where(s)}: the stack config is refused: ${(err as Error).message}`);
      }
    }
    if (root.runtime === "yaml" && root.resources) {
      for (const [name, r] of Object.entries(
        root.resources as Record<string, { type: string; properties?: object }>,
      )) {
        const type = schema.resources[r.type];
        if (!r.type.startsWith("keyrotation:")) continue;
        if (!type) {
          problems.push(`${where(s)}: resource ${name}: ${r.type} is not a type of the keyrotation package.`);
          continue;
        }
        for (const p of Object.keys(r.properties ?? {})) {
          if (!(p in type.inputProperties))
            problems.push(`${where(s)}: resource ${name}: ${r.type} has no input ${p}.`);
        }
      }
    }
    if (Array.isArray(root.accounts) && !root.config) {
      try {
        parseAccountsFile(s.code, where(s));
      } catch (err) {
        problems.push(`${where(s)}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

function checkParsed(s: Sample): string[] {
  if (s.lang === "json") {
    try {
      JSON.parse(s.code);
      return [];
    } catch (err) {
      return [`${where(s)}: not JSON: ${(err as Error).message}`];
    }
  }
  const [cmd, args] =
    s.lang === "python"
      ? [PYTHON, ["-c", "import ast, sys; ast.parse(sys.stdin.read())"]]
      : ["gofmt", ["-e"]];
  const r = spawnSync(cmd, args, { input: s.code, encoding: "utf8" });
  if (r.error) return [`${where(s)}: ${cmd} could not run: ${r.error.message}`];
  return r.status === 0 ? [] : [`${where(s)}: ${cmd}: ${r.stderr.trim()}`];
}

/** Runs a sample that is a mocha test, as a stack's test file, against the built package. */
export function runMochaSample(s: Sample, index: number): string[] {
  // Inside the repository (so that the package resolves as a stack would resolve it), git-ignored.
  const dir = path.join(ROOT, ".cache", "doc-samples");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `sample${index}.test.ts`);
  fs.writeFileSync(file, s.code);
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules/mocha/bin/mocha.js"),
      // Not the repository's .mocharc (whose spec would run this suite again).
      "--no-config",
      "--no-package",
      "--exit",
      "--require",
      "ts-node/register/transpile-only",
      file,
    ],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    },
  );
  fs.rmSync(file, { force: true });
  if (r.status === 0 && /\b1 passing\b|\b[2-9]\d* passing\b/.test(r.stdout)) return [];
  return [`${where(s)}: the sample's test failed (exit ${r.status}):\n${r.stdout}${r.stderr}`.slice(0, 3000)];
}

describe("samples in README.md and docs/", function () {
  this.timeout(120_000);
  const all = docs().flatMap((d) => extractSamples(d.file, d.text));
  const of = (...langs: string[]) => all.filter((s) => langs.includes(s.lang));

  it("every relative link of README.md and docs/ points at a file that exists", () => {
    const broken: string[] = [];
    for (const { file, text } of docs()) {
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split("#")[0];
        if (target === "" || /^(https?|mailto):/.test(target)) continue;
        if (!fs.existsSync(path.resolve(ROOT, path.dirname(file), target))) broken.push(`${file}: ${m[1]}`);
      }
    }
    assert.deepStrictEqual(broken, []);
  });

  it("every fenced block names its language", () => {
    assert.deepStrictEqual(
      all.filter((s) => s.lang === "").map(where),
      [],
      "give each block a language (ts, python, go, yaml, json, sh, text, csv)",
    );
  });

  it("TypeScript samples type-check against the package; the mocha samples pass", () => {
    const samples = of("ts", "typescript");
    assert.ok(samples.length >= 4, `${samples.length} TypeScript samples`);
    assert.deepStrictEqual(typeCheck(samples), []);
    const tests = samples.filter((s) => /\bdescribe\(/.test(s.code));
    assert.ok(tests.length >= 1);
    assert.deepStrictEqual(tests.flatMap(runMochaSample), []);
  });

  it("shell samples: bash -n, the command's own options, the config keys", () => {
    const samples = of("sh", "bash", "shell");
    assert.ok(samples.length >= 10, `${samples.length} shell samples`);
    assert.deepStrictEqual(samples.flatMap(checkShell), []);
  });

  it("YAML samples parse; stack configs, YAML programs and accounts files are accepted by the code", () => {
    const samples = of("yaml", "yml");
    assert.ok(samples.length >= 5, `${samples.length} YAML samples`);
    assert.deepStrictEqual(samples.flatMap(checkYaml), []);
  });

  it("Python, Go and JSON samples parse", () => {
    const samples = of("python", "go", "json");
    assert.ok(samples.length >= 3, `${samples.length} samples`);
    assert.deepStrictEqual(samples.flatMap(checkParsed), []);
  });

  it("the checks fail on broken samples (so the tests above can fail)", () => {
    const broken = (lang: string, code: string): Sample => ({ file: "broken.md", line: 1, lang, code });
    assert.strictEqual(
      typeCheck([
        broken(
          "ts",
          'import { RotatingAccessKey } from "pulumi-aws-key-rotation";\nnew RotatingAccessKey("x", { userNme: "a" });\n',
        ),
      ]).length,
      1,
    );
    assert.strictEqual(
      checkShell(broken("sh", "npx pulumi-aws-key-rotation audit --organisation\n")).length,
      1,
    );
    assert.strictEqual(
      checkShell(broken("sh", "pulumi config set aws-key-rotation:rotationDay 30\n")).length,
      1,
    );
    assert.strictEqual(checkShell(broken("sh", "if then\n")).length, 1);
    assert.strictEqual(
      checkYaml(
        broken("yaml", "config:\n  aws-key-rotation:rotationDays: 400\n  aws-key-rotation:users: [a]\n"),
      ).length,
      1,
    );
    assert.strictEqual(
      checkYaml(
        broken(
          "yaml",
          "runtime: yaml\nresources:\n  k:\n    type: keyrotation:iam:RotatingAccessKey\n    properties: { user: a }\n",
        ),
      ).length,
      1,
    );
    assert.strictEqual(checkParsed(broken("python", "def f(:\n")).length, 1);
    assert.strictEqual(checkParsed(broken("go", "package main\nfunc {\n")).length, 1);
  });
});
