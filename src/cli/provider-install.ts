/**
 * `appreg provider install [--from ZIP] [--dir MIRROR] [--force]`: puts the
 * released provider zip into a Terraform filesystem mirror, in the packed
 * layout:
 *
 *   <MIRROR>/registry.terraform.io/appreg/appreg/terraform-provider-appreg_<version>_<os>_<arch>.zip
 *
 * so that `terraform init` (and so `cdktf deploy`) finds `appreg/appreg` with
 * no registry. The default mirror, `~/.terraform.d/plugins`, is one Terraform
 * searches without any CLI configuration.
 *
 * The zip is what `npm run release` builds: one self-contained executable,
 * byte for byte the same for every build of a commit. So every machine that
 * installs it records the same checksum in `.terraform.lock.hcl`, and a lock
 * file made on one machine is valid on the others. That is also why a zip of
 * an installed version with a different checksum is refused: Terraform would
 * reject it on every machine whose lock file records the old one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  findAppregRoot,
  PROVIDER_NAMESPACE,
  PROVIDER_TYPE,
  REGISTRY_HOST,
  parseProviderZipName,
  providerExecutableName,
  providerZipName,
  sha256File,
  sha256SumsName,
  terraformPlatform,
  type ProviderZipName,
} from '../../scripts/release/names';
import { VERSION } from '../version';

export { terraformPlatform };

/** The checkout this command runs from (compiled in `dist/src/cli/`, or as TypeScript under the tests). */
const REPO_ROOT = findAppregRoot(__dirname);

/** The implied local mirror Terraform searches without any CLI configuration (`HOME` is honoured). */
export function defaultMirrorDir(): string {
  return path.join(os.homedir(), '.terraform.d', 'plugins');
}

/** The directory of `appreg/appreg` inside a mirror, where packed zips go. */
export function mirrorProviderDir(mirror: string): string {
  return path.join(mirror, REGISTRY_HOST, PROVIDER_NAMESPACE, PROVIDER_TYPE);
}

/** Where a zip goes inside a mirror (packed layout). */
export function mirrorZipPath(mirror: string, version: string = VERSION, platform: string = terraformPlatform()): string {
  return path.join(mirrorProviderDir(mirror), providerZipName(version, platform));
}

/** What {@link installProvider} did; printed as JSON by the command. */
export interface InstallResult {
  /** Path of the zip in the mirror. */
  installed: string;
  version: string;
  /** e.g. `linux_amd64`. */
  platform: string;
  /** SHA-256 of the zip (hex). */
  sha256: string;
}

/** Options of {@link installProvider}. */
export interface InstallOptions {
  /** The release zip; default: this checkout's `release/` zip, built first if missing. */
  from?: string;
  /** The mirror; default {@link defaultMirrorDir}. */
  dir?: string;
  /** Where the default zip is looked for, and built if missing; default this checkout's `release/`. */
  releaseDir?: string;
  /** Replace an installed zip of the same version with a different checksum, or an unpacked install. */
  force?: boolean;
  /** Where progress goes (building takes tens of seconds); default stderr. */
  log?: (line: string) => void;
}

/**
 * Checks the zip and copies it into the mirror (see the file comment).
 * Safe in a mirror others can write to: no symbolic link on the way may lead
 * out of the mirror, and the file is written under a fresh temporary
 * directory and renamed into place, replacing (never following) whatever is
 * at the target.
 */
export async function installProvider(opts: InstallOptions = {}): Promise<InstallResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const source = opts.from !== undefined ? path.resolve(opts.from) : await releaseZipBuildingIfMissing(opts.releaseDir ?? path.join(REPO_ROOT, 'release'), log);
  const name = parseProviderZipName(path.basename(source));
  if (name === null) {
    throw new Error(
      `${source} is not a provider release: its name must be terraform-provider-appreg_<version>_<os>_<arch>.zip, as npm run release writes it.`,
    );
  }
  const st = statOrNull(source);
  if (st === null || !st.isFile()) throw new Error(`${source} does not exist or is not a file; build it with npm run release, or name the zip with --from.`);
  const sha256 = sha256File(source);
  checkSumsBeside(source, name, sha256);
  await checkZipContents(source, name);

  const mirror = path.resolve(opts.dir ?? defaultMirrorDir());
  const providerDir = makeMirrorDirs(mirror, mirrorProviderDir(mirror));
  const target = path.join(providerDir, path.basename(source));
  const result: InstallResult = { installed: path.join(mirrorProviderDir(mirror), path.basename(source)), version: name.version, platform: name.platform, sha256 };

  removeOrRefuseUnpacked(mirror, providerDir, name, opts.force === true);
  const existing = lstatOrNull(target);
  if (existing?.isDirectory()) throw new Error(`cannot install the provider: ${target} is a directory; remove it and run again.`);
  // Null when a concurrent remover took it between the look and the read: then there is nothing to compare.
  const installedSha = existing?.isFile() ? sha256OrNull(target) : null;
  if (installedSha !== null) {
    if (installedSha === sha256) return result;
    if (opts.force !== true) {
      throw new Error(
        `appreg/appreg ${name.version} (${name.platform}) is already installed in ${mirror} with a different checksum (sha256 ${installedSha}, this zip ${sha256}), ` +
          'and lock files record that checksum, so a changed provider needs a new version number: raise the version in package.json and release again ' +
          '(or pass --force to replace it, then update every .terraform.lock.hcl that records it).',
      );
    }
  }
  copyAtomically(source, target, mirror);
  return result;
}

/** The release zip of this checkout's version in `releaseDir`, built (provider only) if it is not there yet. */
async function releaseZipBuildingIfMissing(releaseDir: string, log: (line: string) => void): Promise<string> {
  const zip = path.join(path.resolve(releaseDir), providerZipName(VERSION));
  if (fs.existsSync(zip)) return zip;
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'provider', 'main.js'))) {
    throw new Error(`${zip} does not exist and this checkout is not compiled; run npm run release (or name a zip with --from).`);
  }
  log(`appreg: ${path.relative(process.cwd(), zip) || zip} does not exist; building the provider release first (about half a minute)`);
  // Loaded only here: the build pulls in esbuild and postject, development tools the rest of appreg never needs.
  const { buildProviderRelease } = require('../../scripts/release/provider') as typeof import('../../scripts/release/provider');
  let built: import('../../scripts/release/provider').ProviderRelease;
  try {
    built = await buildProviderRelease({ outDir: path.dirname(zip), repoRoot: REPO_ROOT, log: (line) => log(`appreg: release: ${line}`) });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (/Cannot find module '(esbuild|postject)'/.test(why)) {
      throw new Error(`building the provider needs the development dependencies (${why.split('\n')[0]}); run npm ci, or name a built zip with --from.`);
    }
    throw e;
  }
  if (built.zipPath !== zip) throw new Error(`the release build wrote ${built.zipPath}, expected ${zip}`);
  return zip;
}

/** With a `..._SHA256SUMS` file beside the zip, its line for the zip must match. */
function checkSumsBeside(source: string, name: ProviderZipName, sha256: string): void {
  const sums = path.join(path.dirname(source), sha256SumsName(name.version));
  if (!fs.existsSync(sums)) return;
  const zipName = path.basename(source);
  const line = fs
    .readFileSync(sums, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((parts) => parts.length === 2 && parts[1]!.replace(/^\*/, '') === zipName);
  if (line === undefined) {
    throw new Error(`${sums} sits beside the zip but has no line for ${zipName}; use the SHA256SUMS of the same release.`);
  }
  if (line[0]!.toLowerCase() !== sha256) {
    throw new Error(
      `${zipName} does not match ${path.basename(sums)} (expected sha256 ${line[0]}, the zip has ${sha256}): the download is damaged or the two files are from different builds; fetch both again.`,
    );
  }
}

/**
 * The zip must hold exactly the executable Terraform will look for, as a
 * regular executable file, complete (every byte is read and decompressed,
 * and yauzl checks the size the zip promises).
 */
async function checkZipContents(source: string, name: ProviderZipName): Promise<void> {
  const yauzl = require('yauzl') as typeof import('yauzl');
  const expected = providerExecutableName(name.version);
  const bad = (why: string): Error => new Error(`${source} is not a usable provider release: ${why}; rebuild it with npm run release.`);
  const zip = await new Promise<import('yauzl').ZipFile>((resolve, reject) =>
    yauzl.open(source, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(bad(`it cannot be read as a zip (${err.message})`)) : resolve(z))),
  );
  try {
    if (zip.entryCount !== 1) throw bad(`it holds ${zip.entryCount} entries, and must hold only ${expected}`);
    const entry = await new Promise<import('yauzl').Entry>((resolve, reject) => {
      zip.once('entry', resolve);
      zip.once('error', (e: Error) => reject(bad(e.message)));
      zip.readEntry();
    });
    if (entry.fileName !== expected) throw bad(`it holds ${entry.fileName}, and must hold ${expected}`);
    const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
    if ((mode & 0o170000) !== 0o100000 || (mode & 0o111) === 0) {
      throw bad(`${expected} in it is not a regular executable file (mode ${mode.toString(8)})`);
    }
    await new Promise<void>((resolve, reject) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(bad(err.message));
        stream.on('error', (e: Error) => reject(bad(e.message)));
        stream.on('end', () => resolve());
        stream.resume();
      });
    });
  } finally {
    zip.close();
  }
}

/**
 * An unpacked install of the same version and platform
 * (`<version>/<platform>/`, as older appreg versions wrote) would win over
 * the zip in Terraform's eyes. It is refused, or removed with `--force`.
 */
function removeOrRefuseUnpacked(mirror: string, providerDir: string, name: ProviderZipName, force: boolean): void {
  const unpacked = path.join(providerDir, name.version, name.platform);
  if (lstatOrNull(unpacked) === null) return;
  const shown = path.join(mirrorProviderDir(mirror), name.version, name.platform);
  if (!force) {
    throw new Error(
      `an unpacked appreg/appreg ${name.version} (${name.platform}) is already in the mirror at ${shown}, which Terraform would use instead of the zip; remove it, or pass --force to replace it.`,
    );
  }
  // Only what resolves inside the mirror is removed; a link planted to lead elsewhere is not followed.
  const real = fs.realpathSync(path.dirname(unpacked));
  if (!isInside(fs.realpathSync(mirror), real)) {
    throw new Error(`refusing to remove ${shown}: it resolves to ${real}, outside the mirror; remove it yourself and run again.`);
  }
  fs.rmSync(path.join(real, name.platform), { recursive: true, force: true });
}

/** Whether `p` is `root` or inside it (both real paths). */
function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Creates `dir` (the mirror itself, wherever it is, symbolic link or not) and
 * then each directory from there down to `leaf`, one at a time. A component
 * that exists must be a directory, and one that is a symbolic link must stay
 * inside the mirror: a link planted to lead elsewhere would make the install
 * write where the mirror's owner never meant it to.
 * @returns the real path of `leaf`
 */
function makeMirrorDirs(dir: string, leaf: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const mirrorReal = fs.realpathSync(dir);
  let current = dir;
  for (const part of path.relative(dir, leaf).split(path.sep).filter((x) => x !== '')) {
    current = path.join(current, part);
    let st = lstatOrNull(current);
    if (st === null) {
      try {
        fs.mkdirSync(current, { mode: 0o755 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      // Looked at again: a concurrent install (or anyone else) may have made it first.
      st = lstatOrNull(current);
      if (st === null) throw new Error(`cannot install the provider: ${current} vanished while it was being created; run again.`);
    }
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = fs.realpathSync(current);
      } catch {
        throw new Error(`refusing to install the provider: ${current} is a symbolic link that leads nowhere; remove it and run again.`);
      }
      if (!isInside(mirrorReal, real)) {
        throw new Error(
          `refusing to install the provider: ${current} is a symbolic link to ${real}, outside the mirror ${mirrorReal}; remove it (it may have been planted) and run again.`,
        );
      }
      st = fs.statSync(current);
    }
    if (!st.isDirectory()) {
      throw new Error(`cannot install the provider: ${current} exists and is not a directory; remove it and run again.`);
    }
  }
  return fs.realpathSync(leaf);
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

function sha256OrNull(p: string): string | null {
  try {
    return sha256File(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/**
 * Copies `source` to `target` so that a reader (a concurrent `terraform
 * init`) sees the old file or the whole new one, never a part: into a new
 * file in a fresh temporary directory beside the target (same file system,
 * so the rename is atomic; its name is not predictable, and the exclusive
 * create refuses anything planted), flushed to disk, then renamed over the
 * target. rename(2) replaces a symbolic link at the target rather than
 * writing through it. Concurrent installs each use their own temporary
 * directory; the last rename wins, with a complete file either way.
 */
function copyAtomically(source: string, target: string, mirror: string): void {
  const dir = path.dirname(target);
  // A leading dot and no .zip ending: Terraform must not take the temporary directory for a provider.
  const tmpDir = fs.mkdtempSync(path.join(dir, `.${path.basename(target, '.zip')}.install-`));
  try {
    // Checked again now that it exists: a directory swapped for a link after makeMirrorDirs would show here.
    const realTmp = fs.realpathSync(tmpDir);
    if (!isInside(fs.realpathSync(mirror), realTmp)) {
      throw new Error(`refusing to install the provider: ${tmpDir} resolves to ${realTmp}, outside the mirror ${mirror}.`);
    }
    const tmp = path.join(realTmp, path.basename(target));
    fs.copyFileSync(source, tmp, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(tmp, 'r+');
    try {
      // Readable by everyone whatever the umask or the source's mode: other users' Terraform may read a shared mirror.
      fs.fchmodSync(fd, 0o644);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(path.dirname(realTmp), path.basename(target)));
    syncDirectory(dir);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Flushes a directory entry change (the rename) to disk where the platform allows it. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Not possible on every platform (Windows); the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Adds `provider install` to the command line. */
export function registerProviderCommands(program: Command): void {
  const provider = program.command('provider').description('install the Terraform provider');
  provider
    .command('install')
    .description('put the provider release zip into a Terraform filesystem mirror (packed layout), so terraform init finds appreg/appreg offline')
    .option('--from <zip>', `the release zip (default: release/${providerZipName(VERSION)} of this checkout, built first if missing)`)
    .option('--dir <dir>', 'mirror directory (default: ~/.terraform.d/plugins, which Terraform searches by itself)')
    .option('--force', 'replace an installed zip of the same version with a different checksum', false)
    .action(async (opts: { from?: string; dir?: string; force: boolean }) => {
      const result = await installProvider({ from: opts.from, dir: opts.dir, force: opts.force });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
