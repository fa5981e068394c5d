/**
 * Packs the generated bindings as npm packages a user installs into their
 * own app: `@appreg/provider-cdktf` from `provider/` and
 * `@appreg/provider-cdktn` from `provider-cdktn/`.
 *
 * The folders hold TypeScript (so the repository's examples and tests use
 * them as they are); a package must hold JavaScript and declarations, so each
 * folder is compiled with this checkout's TypeScript into a staging folder,
 * next to its generated package.json and READMEs, and `npm pack`ed from there.
 * The .ts sources are not shipped.
 *
 * The bindings are checked against the schema first (as `npm run
 * check:generated` does): a release never packs stale bindings, and the
 * generated package.json is what carries the version, so a package cannot
 * have another version than the provider its bindings pin.
 *
 * `npm pack` writes every entry with a fixed mtime, mode and owner, and the
 * compiler's output depends only on the sources, so the same checkout gives
 * the same tarball bytes (test/bindings checks the sha256).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { checkGenerated, describeProblems } from '../check-generated';
import { bindingsDir, findRepoRoot, FLAVOUR_SPECS, FLAVOURS, readBindings, type Flavour } from '../generate';

const execFileAsync = promisify(execFile);

/** The tarball name `npm pack` gives a scoped package: `@appreg/provider-cdktf` 0.1.0 is `appreg-provider-cdktf-0.1.0.tgz`. */
export function tarballName(packageName: string, version: string): string {
  return `${packageName.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/**
 * Compiler options of the packages. Node 20 runs ES2022; CommonJS because
 * cdktf and cdktn are CommonJS (jsii) packages. No source maps: the sources
 * are not shipped. `types: []` keeps the repository's @types (jest, node) out
 * of the package's declarations. LF line endings on every OS, for
 * reproducible tarballs.
 */
function compilerOptions(rootDir: string, outDir: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    declaration: true,
    sourceMap: false,
    declarationMap: false,
    skipLibCheck: true,
    noEmitOnError: true,
    newLine: ts.NewLineKind.LineFeed,
    rootDir,
    outDir,
  };
}

/** Compiles every .ts of `srcDir` into `outDir` (JavaScript and declarations); throws with the compiler's messages on any error. */
function compile(srcDir: string, outDir: string, files: readonly string[]): void {
  const options = compilerOptions(srcDir, outDir);
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram(
    files.map((rel) => path.join(srcDir, ...rel.split('/'))),
    options,
    host,
  );
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0 || emitted.emitSkipped) {
    const formatHost: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => srcDir,
      getNewLine: () => '\n',
    };
    throw new Error(`TypeScript could not compile ${srcDir}:\n${ts.formatDiagnostics(diagnostics, formatHost)}`);
  }
}

/** Builds one package in a staging folder and packs it into `outDir`; returns the tarball's path. */
async function packOne(root: string, flavour: Flavour, outDir: string): Promise<string> {
  const spec = FLAVOUR_SPECS[flavour];
  const srcDir = bindingsDir(root, flavour);
  const files = readBindings(srcDir);
  const pkg = JSON.parse(files.get('package.json') ?? '{}') as { name?: unknown; version?: unknown };
  if (pkg.name !== spec.packageName || typeof pkg.version !== 'string') {
    throw new Error(`${path.join(srcDir, 'package.json')} does not describe ${spec.packageName}; run npm run generate`);
  }
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), `appreg-pack-${flavour}-`));
  try {
    compile(srcDir, staging, [...files.keys()].filter((rel) => rel.endsWith('.ts')));
    // The generated package.json and READMEs go in as they are; .gitattributes is for the repository only.
    for (const rel of files.keys()) {
      if (rel !== 'package.json' && !rel.endsWith('README.md')) continue;
      const to = path.join(staging, ...rel.split('/'));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(path.join(srcDir, ...rel.split('/')), to);
    }
    // --ignore-scripts: the generated package.json has none, and a release must not run any;
    // --json: the tarball name as npm sees it, checked against the one we promise.
    const { stdout } = await execFileAsync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], {
      cwd: staging,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const [result] = JSON.parse(stdout) as Array<{ filename: string }>;
    const expected = tarballName(spec.packageName, pkg.version);
    if (result?.filename !== expected) throw new Error(`npm pack wrote ${String(result?.filename)}, expected ${expected}`);
    return path.join(outDir, expected);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Compiles and packs the cdktf and cdktn bindings into `outDir` (created if
 * missing; an older tarball of the same version is replaced) and returns the
 * tarball paths, cdktf first: `appreg-provider-cdktf-<version>.tgz` and
 * `appreg-provider-cdktn-<version>.tgz`. Throws, packing nothing, when the
 * committed bindings differ from what the schema generates.
 */
export async function packBindings(outDir: string, root: string = findRepoRoot(__dirname)): Promise<string[]> {
  const problems = await checkGenerated(root);
  if (problems.length > 0) throw new Error(describeProblems(problems));
  const dest = path.resolve(outDir);
  fs.mkdirSync(dest, { recursive: true });
  const tarballs: string[] = [];
  for (const flavour of FLAVOURS) tarballs.push(await packOne(root, flavour, dest));
  return tarballs;
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    process.stderr.write('usage: node dist/scripts/release/bindings.js <out-dir>\n');
    process.exitCode = 2;
  } else {
    packBindings(outDir).then(
      (tarballs) => process.stdout.write(`${tarballs.join('\n')}\n`),
      (err: unknown) => {
        process.stderr.write(`pack bindings: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
