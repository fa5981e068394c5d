/**
 * Builds the provider release as Terraform registries lay it out:
 *
 * - `terraform-provider-appreg_<version>_<os>_<arch>.zip`, holding one file,
 *   `terraform-provider-appreg_v<version>` (mode 0755): a Node.js single
 *   executable application (SEA), so the machine that runs Terraform needs
 *   no Node and no checkout;
 * - `terraform-provider-appreg_<version>_SHA256SUMS` (goreleaser's format);
 * - `terraform-provider-appreg_<version>_manifest.json` (plugin protocol 6).
 *
 * Reproducible: two builds of one commit with the same Node give the same zip,
 * byte for byte, wherever the checkout and the temporary directory are. That
 * is what lets a `.terraform.lock.hcl` made on one machine be checked on
 * another. What makes it so is written next to each step below.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { checkOverlap, DEFERRED_ASSET, DEFERRED_CACHE_ASSET, deferredEntrySource, mainScriptPlugin, type SplitState, wrapDeferred } from './startup-split';
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from '../../src/tfplugin/handshake';
import { findAppregRoot, manifestName, providerExecutableName, providerZipName, sha256File, sha256SumsName, terraformPlatform } from './names';

/** The fuse Node looks for to know it carries a SEA blob (Node's documented value). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * V8's random seed while the SEA blob is made. V8 derives its string hash
 * seed from it, and the code cache records string hashes, so with a random
 * seed every build's cache (and so the executable) differs in a few bytes.
 * The random seed is one of the few V8 flags left out of the flag hash a
 * code cache must match, so a cache made under it is still accepted by the
 * executable, which runs with a random seed of its own (verified: the
 * cache's `cachedDataRejected` is false in a process without the flag).
 */
const SEA_BUILD_RANDOM_SEED = 1;

/** The plugin protocol versions the executable speaks, for the registry manifest. */
const PROTOCOL_VERSIONS = ['6.0'];

/**
 * The modification time of the zip entry: 1980-01-01 00:00, the first
 * instant a zip (DOS) timestamp can hold. A build time would make every zip
 * different. It is given in local time because zip timestamps are local
 * time: yazl takes the local fields of this date, so the bytes are the same
 * in every time zone (the UTC extra field, which would differ, is left out
 * with forceDosTimestamp).
 */
const ZIP_MTIME = new Date(1980, 0, 1, 0, 0, 0);

/** Regular file, rwxr-xr-x: what Terraform needs to run the unpacked provider. */
const ZIP_MODE = 0o100755;

/**
 * Deflate level. Fixed so the compressed bytes do not depend on yazl's
 * default; they still depend on the zlib inside Node, so reproducing a
 * release needs the same Node version (which the executable embeds anyway).
 */
const ZIP_COMPRESSION_LEVEL = 9;

/** The repository root (this file runs from `dist/scripts/release/`, and from `scripts/release/` under the tests). */
export const REPO_ROOT = findAppregRoot(__dirname);

/** The version in the repository's package.json (read at build time, not bundled with this script). */
export function packageVersion(repoRoot: string = REPO_ROOT): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${repoRoot}/package.json has no version`);
  return pkg.version;
}

/** What {@link buildProviderRelease} wrote. */
export interface ProviderRelease {
  version: string;
  /** Terraform platform, e.g. `linux_amd64`. */
  platform: string;
  zipPath: string;
  zipSha256: string;
  zipSize: number;
  sumsPath: string;
  manifestPath: string;
  /** The executable inside the zip. */
  executableName: string;
  executableSha256: string;
  executableSize: number;
}

/** Options of {@link buildProviderRelease}. */
export interface ProviderReleaseOptions {
  /** Where the three files go (made if missing). */
  outDir: string;
  /** The checkout to build from; its `dist/` must be compiled. Defaults to this one. */
  repoRoot?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Bundles the compiled provider, makes it a single executable, zips it and
 * writes the checksums and manifest into `outDir`. Each file is written
 * under a temporary name and renamed, so a reader never sees half a zip.
 */
export async function buildProviderRelease(opts: ProviderReleaseOptions): Promise<ProviderRelease> {
  const repoRoot = path.resolve(opts.repoRoot ?? REPO_ROOT);
  const log = opts.log ?? (() => undefined);
  const version = packageVersion(repoRoot);
  const platform = terraformPlatform();
  const entry = path.join(repoRoot, 'dist', 'src', 'provider', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: compile appreg first (npm run build)`);

  const outDir = path.resolve(opts.outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-release-'));
  try {
    log(`bundling ${path.relative(repoRoot, entry)} with esbuild`);
    const bundles = await bundleProvider(repoRoot, entry, work);
    log('making the single executable (node --experimental-sea-config, postject)');
    const executableName = providerExecutableName(version);
    const executable = path.join(work, executableName);
    await makeSingleExecutable(bundles, executable, work);
    checkExecutableStarts(executable);
    await checkExecutableServes(executable, work);

    const zipName = providerZipName(version, platform);
    const zipPath = path.join(outDir, zipName);
    log(`zipping into ${zipPath}`);
    await writeAtomically(zipPath, (tmp) => writeZip(tmp, executable, executableName));
    const zipSha256 = sha256File(zipPath);

    // goreleaser's format, which Terraform registries publish: "<hex>  <file>\n".
    const sumsPath = path.join(outDir, sha256SumsName(version));
    await writeAtomically(sumsPath, (tmp) => fs.writeFileSync(tmp, `${zipSha256}  ${zipName}\n`));
    const manifestPath = path.join(outDir, manifestName(version));
    await writeAtomically(manifestPath, (tmp) =>
      fs.writeFileSync(tmp, `${JSON.stringify({ version: 1, metadata: { protocol_versions: PROTOCOL_VERSIONS } })}\n`),
    );

    return {
      version,
      platform,
      zipPath,
      zipSha256,
      zipSize: fs.statSync(zipPath).size,
      sumsPath,
      manifestPath,
      executableName,
      executableSha256: sha256File(executable),
      executableSize: fs.statSync(executable).size,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The two bundles of the provider (see `startup-split.ts`), inside the work folder. */
interface ProviderBundles {
  /** Everything up to the handshake line: the SEA's main script. */
  main: string;
  /** Everything after it, wrapped for the loader: a SEA asset. */
  deferred: string;
}

/**
 * Two CommonJS files with everything the provider loads: in a SEA, `require`
 * reaches only Node's built-in modules. The compiled JavaScript (not the
 * TypeScript) is bundled so the executable runs exactly what the tests run.
 * The first holds what the handshake needs, the second the rest (see
 * `startup-split.ts`).
 *
 * Reproducibility and privacy: esbuild's only paths in the output are the
 * `// node_modules/...` comments and the split's module keys, relative to
 * `absWorkingDir` (the checkout), so they are the same wherever the checkout
 * is; no source map (it would carry paths and the sources), no legal
 * comments. The bundles are then searched for the checkout's absolute path,
 * and a hit fails the build.
 */
async function bundleProvider(repoRoot: string, entry: string, work: string): Promise<ProviderBundles> {
  // Loaded here: esbuild is a development tool, and `appreg` loads this module only to build.
  const esbuild = require('esbuild') as typeof import('esbuild');
  const common: import('esbuild').BuildOptions = {
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: false,
    legalComments: 'none',
    // A native addon (a .node file) cannot be loaded from inside a SEA: fail the build rather than ship one.
    loader: { '.node': 'empty' },
    metafile: true,
    logLevel: 'silent',
  };
  const state: SplitState = { targets: new Set(), seen: new Set() };
  const main = path.join(work, 'provider.js');
  const mainResult = await esbuild.build({
    ...common,
    entryPoints: [path.relative(repoRoot, entry)],
    outfile: main,
    plugins: [mainScriptPlugin(repoRoot, state)],
    // grpc-js requires it only to serve channelz and ORCA, which read .proto
    // files from grpc-js's own folder and so cannot work in a SEA; the
    // provider serves neither. Left out, it takes the full protobufjs
    // (about a quarter of the main script) with it.
    external: ['@grpc/proto-loader'],
  });
  const deferredRaw = path.join(work, 'deferred-bundle.js');
  const deferredResult = await esbuild.build({
    ...common,
    stdin: { contents: deferredEntrySource(state.targets), resolveDir: repoRoot, sourcefile: 'appreg-deferred-entry.js', loader: 'js' },
    outfile: deferredRaw,
  });
  for (const w of [...mainResult.warnings, ...deferredResult.warnings]) {
    // Warnings are fine to print (esbuild notes unusual code in dependencies) but are not failures.
    process.stderr.write(`esbuild: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}\n`);
  }
  const inputs = [...Object.keys(mainResult.metafile!.inputs), ...Object.keys(deferredResult.metafile!.inputs)];
  const native = inputs.filter((i) => i.endsWith('.node') || i.includes('node_modules/better-sqlite3/') || i.includes('node_modules/bindings/'));
  if (native.length > 0) {
    throw new Error(`the provider bundle includes native code, which a single executable cannot load: ${[...new Set(native)].join(', ')}`);
  }
  checkOverlap(Object.keys(mainResult.metafile!.inputs), Object.keys(deferredResult.metafile!.inputs));
  const deferred = path.join(work, DEFERRED_ASSET);
  fs.writeFileSync(deferred, wrapDeferred(fs.readFileSync(deferredRaw, 'utf8')));
  for (const file of [main, deferred]) {
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of new Set([repoRoot, fs.realpathSync(repoRoot), work, fs.realpathSync(work)])) {
      if (text.includes(secret)) throw new Error(`the provider bundle contains the absolute path ${secret}; it must not (it would differ per machine)`);
    }
  }
  return { main, deferred };
}

/**
 * Node's single executable recipe: a blob from a SEA configuration, a copy
 * of this Node, the blob injected with postject.
 *
 * The blob holds the script's path as written in the configuration, so the
 * configuration names it relative to `work` (and node runs with `work` as its
 * directory): an absolute temporary path would make each build differ.
 *
 * With V8's code cache of the bundle: without it, every start parses all of
 * the bundle (a few MB, most of it for after the handshake) before the first
 * line runs, which measured at about as long as Node's own start. The cache
 * is byte-stable only with a fixed random seed (see
 * {@link SEA_BUILD_RANDOM_SEED}) and with no other V8 flags (a flag would
 * also make the running executable reject it), hence the clean NODE_OPTIONS.
 * No start-up snapshot: Node 20's snapshots differ from build to build even
 * with fixed seeds and `--predictable`, and Node cannot put the `http2` and
 * `tls` modules that grpc-js loads into one.
 */
async function makeSingleExecutable(bundles: ProviderBundles, executable: string, work: string): Promise<void> {
  const config = path.join(work, 'sea-config.json');
  const blob = path.join(work, 'sea-prep.blob');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const cache = path.join(work, DEFERRED_CACHE_ASSET);
  // The deferred bundle's code cache, made the way Node makes the main script's (compiled, not run), under the same seed.
  execFileSync(
    process.execPath,
    [
      `--random-seed=${SEA_BUILD_RANDOM_SEED}`,
      '-e',
      'const fs = require("fs"), vm = require("vm"); const [src, out, name] = process.argv.slice(1); ' +
        'fs.writeFileSync(out, new vm.Script(fs.readFileSync(src, "utf8"), { filename: name }).createCachedData());',
      bundles.deferred,
      cache,
      DEFERRED_ASSET,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  fs.writeFileSync(
    config,
    JSON.stringify({
      main: path.relative(work, bundles.main),
      output: path.relative(work, blob),
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      useSnapshot: false,
      assets: { [DEFERRED_ASSET]: path.relative(work, bundles.deferred), [DEFERRED_CACHE_ASSET]: path.relative(work, cache) },
    }),
  );
  try {
    // Its one line of output ("Wrote single executable preparation blob") is not worth showing.
    execFileSync(process.execPath, [`--random-seed=${SEA_BUILD_RANDOM_SEED}`, '--experimental-sea-config', path.basename(config)], {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`node --experimental-sea-config failed: ${err.stderr?.toString().trim() || err.stdout?.toString().trim() || err.message}`);
  }
  const blobBytes = fs.readFileSync(blob);
  if (blobBytes.includes(work)) throw new Error(`the SEA blob contains the build directory ${work}; it must not`);

  fs.copyFileSync(process.execPath, executable);
  // The copy keeps Node's mode, which may be read-only; postject rewrites the file.
  fs.chmodSync(executable, 0o755);
  const postject = require('postject') as { inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string }): Promise<void> };
  // postject (LIEF compiled to WebAssembly) prints progress through console.log
  // and harmless ELF notes ("Can't find string offset for section name
  // '.note'") through console.warn; they are kept, and shown only on failure.
  const said: string[] = [];
  const { log, warn } = console;
  console.log = (...a: unknown[]) => void said.push(a.join(' '));
  console.warn = (...a: unknown[]) => void said.push(a.join(' '));
  try {
    await postject.inject(executable, 'NODE_SEA_BLOB', blobBytes, { sentinelFuse: SEA_FUSE });
  } catch (e) {
    throw new Error(`postject could not inject the SEA blob: ${e instanceof Error ? e.message : String(e)}\n${said.join('\n')}`);
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/**
 * Runs the executable once the way a person would, without Terraform's
 * magic cookie: it must say it is a plugin and exit 1. A build that does not
 * start (a module missing from the bundle, a broken injection) fails here.
 */
function checkExecutableStarts(executable: string): void {
  const env = { ...process.env };
  delete env.TF_PLUGIN_MAGIC_COOKIE;
  delete env.NODE_OPTIONS;
  let out = '';
  let code = 0;
  try {
    execFileSync(executable, [], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as { status?: number | null; stdout?: Buffer; stderr?: Buffer };
    code = err.status ?? -1;
    out = `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`;
  }
  if (code !== 1 || !out.includes('This is a Terraform provider plugin')) {
    throw new Error(`the built executable does not start as the provider (exit ${code}): ${out.trim().slice(0, 500)}`);
  }
}

/**
 * Runs the executable once as Terraform would (with the cookie; plaintext,
 * as without PLUGIN_CLIENT_CERT) and waits until it says, at debug level,
 * that it has loaded what it loads after the handshake line: the code in the
 * deferred asset. A build whose split lost a module fails here.
 */
async function checkExecutableServes(executable: string, work: string): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: '6',
    PLUGIN_UNIX_SOCKET_DIR: work,
    TF_LOG_PROVIDER: 'debug',
  };
  delete env.NODE_OPTIONS;
  delete env.PLUGIN_CLIENT_CERT;
  const child = spawn(executable, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let out = '';
  const problem = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve('it did not get ready within 30 s'), 30_000);
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      resolve(why);
    };
    const check = (d: Buffer): void => {
      out += d.toString();
      if (/\] [^:\n]+: ready \d+ ms/.test(out)) done(undefined);
      else if (out.includes('[ERROR]')) done('it logged an error');
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', (code) => done(`it exited ${code}`));
  });
  child.kill('SIGTERM');
  await closed;
  if (problem) throw new Error(`the built executable does not serve: ${problem}: ${out.trim().slice(0, 1000)}`);
}

/** The zip with the one executable, every header field fixed (see the constants above). */
function writeZip(zipPath: string, executable: string, entryName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    const out = fs.createWriteStream(zipPath);
    out.on('error', reject);
    out.on('close', () => resolve());
    zip.outputStream.on('error', reject);
    zip.outputStream.pipe(out);
    // addBuffer, not addFile: addFile would take the mtime and mode from the file system.
    zip.addBuffer(fs.readFileSync(executable), entryName, {
      mtime: ZIP_MTIME,
      mode: ZIP_MODE,
      compressionLevel: ZIP_COMPRESSION_LEVEL,
      forceDosTimestamp: true,
    });
    zip.end();
  });
}

/** Writes `target` through `write(tmp)` on a temporary name beside it, then renames it into place. */
async function writeAtomically(target: string, write: (tmp: string) => void | Promise<void>): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    await write(tmp);
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
