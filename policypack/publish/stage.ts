/**
 * Stages a self-contained copy of the pack for `pulumi policy publish`.
 *
 * `pulumi policy publish` runs `npm pack` in the pack's folder, and every CLI that enforces the
 * published pack unpacks it on its own and runs `npm install` there. The pack in this repository
 * imports `../core/` and resolves its modules from the repository's node_modules, so
 * publishing `policypack/` as it is would upload a pack that cannot load. This script compiles
 * the pack and the shared core it imports to JavaScript (transpiled, in the same layout) into one
 * folder, with a package.json that lists the runtime dependencies at the versions this repository
 * pins. Type checking is `npx tsc --noEmit`'s job, not this script's:
 *
 *   npx ts-node --transpile-only policypack/publish/stage.ts [out-dir]   (default dist/policypack-publish)
 *   cd dist/policypack-publish && pulumi policy publish <org-name>
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");
const PACK = path.join(ROOT, "policypack");
const RUNTIME_DEPENDENCIES = [
  "@pulumi/policy",
  "@pulumi/pulumi",
  "@aws-sdk/client-iam",
  "@aws-sdk/client-sts",
];

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  esModuleInterop: false,
};

/** The repository's own TypeScript files that `entry` imports, directly or not (relative imports only). */
export function packSources(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [path.resolve(entry)];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const base = path.resolve(path.dirname(file), fileName);
      const found = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
      if (!found)
        throw new Error(`${path.relative(ROOT, file)} imports ${fileName}, which is not a TypeScript file`);
      queue.push(found);
    }
  }
  return [...seen].sort();
}

export function stagePolicyPack(outDir: string): string[] {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of packSources(path.join(PACK, "index.ts"))) {
    const relative = path.relative(ROOT, file).replace(/\.ts$/, ".js");
    const { outputText } = ts.transpileModule(fs.readFileSync(file, "utf8"), {
      compilerOptions: COMPILER_OPTIONS,
      fileName: file,
    });
    fs.mkdirSync(path.dirname(path.join(outDir, relative)), { recursive: true });
    fs.writeFileSync(path.join(outDir, relative), outputText);
    written.push(relative);
  }

  const rootPkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const packPkg = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
  const dependencies: Record<string, string> = {};
  for (const name of RUNTIME_DEPENDENCIES) {
    // A runtime dependency's range, or (for @pulumi/pulumi, a peer of the package) the version
    // this repository develops and tests with.
    const version = rootPkg.dependencies?.[name] ?? rootPkg.devDependencies?.[name];
    if (!version) throw new Error(`package.json declares no version of ${name}`);
    dependencies[name] = version;
  }
  const pkg = {
    name: packPkg.name,
    version: packPkg.version,
    description: packPkg.description,
    license: packPkg.license,
    main: "policypack/index.js",
    engines: rootPkg.engines,
    dependencies,
  };
  fs.writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const file of ["PulumiPolicy.yaml", "README.md"]) {
    fs.copyFileSync(path.join(PACK, file), path.join(outDir, file));
  }
  return written.sort();
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(ROOT, "dist", "policypack-publish"));
  const files = stagePolicyPack(out);
  console.log(`Staged the aws-key-rotation policy pack in ${out} (${files.length} JavaScript files).`);
  console.log(
    `Publish it with: cd ${path.relative(process.cwd(), out) || "."} && pulumi policy publish <org-name>`,
  );
}
