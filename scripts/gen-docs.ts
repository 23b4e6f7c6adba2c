/**
 * `npm run gen:docs [-- --check]`: writes docs/reference.md from the code, so that the reference
 * cannot drift from it:
 * - the settings table, from the package schema (provider/packageSchema.ts), which takes every
 *   default and bound from core/settings.ts, and the ready project's own stack config keys
 *   (components/stackConfigKeys.ts);
 * - the provider configuration and every resource's inputs and outputs, from the same schema;
 * - the TypeScript API: each export of the package root with its TSDoc, and the properties of
 *   its argument interfaces, read with the TypeScript compiler from the sources.
 * It also fails when a TSDoc comment states a default that differs from core/settings.ts.
 * `--check` (part of `npm run lint`) fails, naming the file, when the committed page differs.
 */
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";
import * as ts from "typescript";
import { DEFAULTS } from "../core/settings";
import { PER_USER_ONLY, STACK_CONFIG_KEYS } from "../components/stackConfigKeys";
import { packageSchema } from "../provider/packageSchema";

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "docs/reference.md");

type Prop = {
  type?: string;
  description?: string;
  default?: unknown;
  secret?: boolean;
  $ref?: string;
  items?: Prop;
};
type Resource = {
  description: string;
  inputProperties: Record<string, Prop>;
  requiredInputs?: string[];
  properties: Record<string, Prop>;
  isComponent?: boolean;
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");

function typeOf(p: Prop): string {
  if (p.$ref) return p.$ref.replace(/^pulumi\.json#\//, "").replace(/^#\/types\//, "");
  if (p.type === "array") return `${p.items ? typeOf(p.items) : "any"}[]`;
  return p.type ?? "any";
}

function defaultOf(p: Prop): string {
  return p.default === undefined ? "" : `\`${JSON.stringify(p.default)}\``;
}

function propertyTable(
  props: Record<string, Prop>,
  required: readonly string[],
  withDefault: boolean,
): string {
  const rows = Object.entries(props).map(([name, p]) => {
    const flags = [required.includes(name) ? "required" : "", p.secret ? "secret" : ""]
      .filter(Boolean)
      .join(", ");
    return `| \`${name}\` | ${cell(typeOf(p))} | ${flags} |${withDefault ? ` ${defaultOf(p)} |` : ""} ${cell(p.description ?? "")} |`;
  });
  const head = withDefault
    ? "| name | type | | default | description |\n| --- | --- | --- | --- | --- |"
    : "| name | type | | description |\n| --- | --- | --- | --- |";
  return `${head}\n${rows.join("\n")}\n`;
}

function settingsTable(component: Resource): string {
  const rows: string[] = [];
  for (const [name, p] of Object.entries(component.inputProperties)) {
    const stack =
      name === "userName"
        ? "`users` (list)"
        : PER_USER_ONLY.includes(name)
          ? `\`userSettings.<user>.${name}\` only`
          : `\`aws-key-rotation:${name}\``;
    rows.push(`| \`${name}\` | ${defaultOf(p) || "none"} | ${stack} | ${cell(p.description ?? "")} |`);
  }
  for (const k of STACK_CONFIG_KEYS) {
    rows.push(
      `| | \`${JSON.stringify(k.default)}\` | \`aws-key-rotation:${k.key}\` | ${cell(k.description)} |`,
    );
  }
  return (
    "| component argument | default | stack config key | meaning, limits |\n| --- | --- | --- | --- |\n" +
    rows.join("\n") +
    "\n"
  );
}

interface ApiEntry {
  name: string;
  kind: string;
  doc: string;
  members: { name: string; optional: boolean; doc: string }[];
}

function docOf(node: ts.Node): string {
  const jsDoc = (node as unknown as { jsDoc?: ts.JSDoc[] }).jsDoc;
  if (!jsDoc || jsDoc.length === 0) return "";
  const comment = jsDoc[jsDoc.length - 1].comment;
  const text = typeof comment === "string" ? comment : (comment ?? []).map((c) => c.text).join("");
  return text.replace(/\s+/g, " ").trim();
}

/** The package root's exports with their TSDoc, read from the sources. */
function typescriptApi(problems: string[]): ApiEntry[] {
  const entry = path.join(ROOT, "components/index.ts");
  const program = ts.createProgram([entry], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error("components/index.ts not found");
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error("components/index.ts has no exports");
  const entries: ApiEntry[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    if (!decl) continue;
    const statement = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
    const kind = ts.isClassDeclaration(decl)
      ? "class"
      : ts.isInterfaceDeclaration(decl)
        ? "interface"
        : ts.isFunctionDeclaration(decl)
          ? "function"
          : ts.isTypeAliasDeclaration(decl)
            ? "type"
            : "const";
    const members: ApiEntry["members"] = [];
    if (ts.isInterfaceDeclaration(decl)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      for (const prop of checker.getPropertiesOfType(type)) {
        const pd = prop.declarations?.[0];
        if (!pd) continue;
        const doc = docOf(pd);
        members.push({ name: prop.name, optional: (prop.flags & ts.SymbolFlags.Optional) !== 0, doc });
        const stated = /Default (-?\d+|true|false|`"?\w+"?`|"\w+")[.;,]/.exec(doc);
        if (stated && prop.name in DEFAULTS) {
          const value = JSON.stringify((DEFAULTS as Record<string, unknown>)[prop.name]);
          const said = stated[1].replace(/`/g, "");
          if (said !== value && said !== String((DEFAULTS as Record<string, unknown>)[prop.name])) {
            problems.push(
              `${exported.name}.${prop.name}: its TSDoc says Default ${said}, core/settings.ts has ${value}.`,
            );
          }
        }
      }
    }
    entries.push({ name: exported.name, kind, doc: docOf(statement), members });
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

function apiSection(entries: ApiEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`### \`${e.name}\` (${e.kind})\n`);
    if (e.doc) out.push(`${e.doc}\n`);
    if (e.members.length > 0) {
      out.push("| property | | description |\n| --- | --- | --- |");
      for (const m of e.members)
        out.push(`| \`${m.name}\` | ${m.optional ? "optional" : "required"} | ${cell(m.doc)} |`);
      out.push("");
    }
  }
  return out.join("\n");
}

async function render(problems: string[]): Promise<string> {
  const schema = packageSchema() as unknown as {
    version: string;
    config: { variables: Record<string, Prop> };
    types: Record<string, { description?: string; properties: Record<string, Prop>; required?: string[] }>;
    resources: Record<string, Resource>;
  };
  const component = schema.resources["keyrotation:iam:RotatingAccessKey"];
  const parts: string[] = [];
  parts.push(
    "<!-- Generated by npm run gen:docs from provider/packageSchema.ts, core/settings.ts, components/stackConfigKeys.ts and the TSDoc of components/index.ts's exports. Do not edit; npm run lint checks it. -->\n",
  );
  parts.push("# Reference\n");
  parts.push(
    `The settings, the provider configuration, every resource of the \`keyrotation\` package (version ${schema.version}) and the TypeScript API, generated from the code.\n`,
  );
  parts.push("## Settings\n");
  parts.push(
    "Every rotation setting, as an argument of `RotatingAccessKey` (any language) and as a key of the ready project's stack config (also per user in `aws-key-rotation:userSettings.<user>` and per account in the `accounts` form), followed by the stack config's own keys.\n",
  );
  parts.push(settingsTable(component));
  parts.push("## Provider configuration\n");
  parts.push(
    "`pulumi config set keyrotation:<name>` for the default provider, or the arguments of an explicit `keyrotation.Provider`.\n",
  );
  parts.push(propertyTable(schema.config.variables, [], false));
  for (const [token, t] of Object.entries(schema.types)) {
    parts.push(`### Type \`${token}\`\n`);
    if (t.description) parts.push(`${t.description}\n`);
    parts.push(propertyTable(t.properties, t.required ?? [], false));
  }
  parts.push("## Resources\n");
  for (const [token, r] of Object.entries(schema.resources)) {
    parts.push(`### \`${token}\`${r.isComponent ? " (component)" : ""}\n`);
    parts.push(`${r.description}\n`);
    parts.push("Inputs:\n");
    parts.push(propertyTable(r.inputProperties, r.requiredInputs ?? [], true));
    const outputs = Object.fromEntries(
      Object.entries(r.properties).filter(([name]) => !(name in r.inputProperties) || r.isComponent),
    );
    if (Object.keys(outputs).length > 0) {
      parts.push("Outputs:\n");
      parts.push(propertyTable(outputs, [], false));
    }
  }
  parts.push("## TypeScript API\n");
  parts.push(
    "The exports of `pulumi-aws-key-rotation` (the package root), with their TSDoc. `pulumi-aws-key-rotation/testing` exports `keyRotationMocks()`.\n",
  );
  parts.push(apiSection(typescriptApi(problems)));
  const text = parts.join("\n");
  const options = (await prettier.resolveConfig(OUT)) ?? {};
  return prettier.format(text, { ...options, filepath: OUT });
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const problems: string[] = [];
  const text = await render(problems);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`gen-docs: ${p}\n`);
    process.exitCode = 1;
    return;
  }
  if (check) {
    const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, "utf8") : "";
    if (current !== text) {
      process.stderr.write(
        "gen-docs: docs/reference.md differs from the code: run npm run gen:docs and commit it.\n",
      );
      process.exitCode = 1;
      return;
    }
    process.stderr.write("gen-docs: docs/reference.md matches the code\n");
    return;
  }
  fs.writeFileSync(OUT, text);
  process.stderr.write("gen-docs: wrote docs/reference.md\n");
}

main().catch((err) => {
  process.stderr.write(`gen-docs failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
