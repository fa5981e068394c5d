/**
 * `appreg provider install`: lays the provider out in a Terraform filesystem
 * mirror, so that `terraform init` (and so `cdktf deploy`) finds it with no
 * network. Terraform ignores `dev_overrides` in `init`, hence the mirror.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { VERSION } from '../version';

/** Terraform's name for this machine's platform, e.g. `linux_amd64`. */
export function terraformPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const osName = platform === 'win32' ? 'windows' : platform;
  const archName = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${osName}_${archName}`;
}

/** The implied local mirror Terraform searches without any CLI configuration. */
export function defaultMirrorDir(): string {
  return path.join(os.homedir(), '.terraform.d', 'plugins');
}

/** Where the provider executable goes inside a mirror. */
export function mirrorExecutablePath(dir: string, version: string = VERSION, platform: string = terraformPlatform()): string {
  return path.join(dir, 'registry.terraform.io', 'appreg', 'appreg', version, platform, `terraform-provider-appreg_v${version}`);
}

/**
 * Writes the provider into the mirror `dir`: a small shell script that runs
 * this checkout's compiled provider with the same Node that runs this command.
 *
 * Safe in a mirror others can write to, and against concurrent installs: the
 * directories under `dir` are created one by one and none may be a symbolic
 * link that leads out of the mirror; the file is written under a fresh
 * temporary directory next to it and renamed into place, which replaces
 * (never follows) whatever is at the target, a planted symbolic link included.
 * @returns the path of the executable written
 */
export function installProvider(dir: string = defaultMirrorDir()): string {
  const root = path.resolve(__dirname, '..', '..', '..');
  const entry = path.join(root, 'dist', 'src', 'provider', 'main.js');
  if (!fs.existsSync(entry)) {
    throw new Error(`${entry} does not exist: build appreg first (npm run build)`);
  }
  const mirror = path.resolve(dir);
  const target = mirrorExecutablePath(mirror);
  const targetDir = makeMirrorDirs(mirror, path.dirname(target));
  const script = `#!/bin/sh\n# appreg ${VERSION} provider, installed by 'appreg provider install'.\nexec ${shellQuote(process.execPath)} ${shellQuote(entry)} "$@"\n`;
  writeAtomically(path.join(targetDir, path.basename(target)), script, mirror);
  return target;
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
      if (st === null) throw new Error(`cannot install the provider: ${current} vanished while it was being created`);
    }
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = fs.realpathSync(current);
      } catch {
        throw new Error(`refusing to install the provider: ${current} is a symbolic link that leads nowhere; remove it and run again`);
      }
      if (!isInside(mirrorReal, real)) {
        throw new Error(`refusing to install the provider: ${current} is a symbolic link to ${real}, outside the mirror ${mirrorReal}; remove it (it may have been planted) and run again`);
      }
      st = fs.statSync(current);
    }
    if (!st.isDirectory()) {
      throw new Error(`cannot install the provider: ${current} exists and is not a directory; remove it and run again`);
    }
  }
  return fs.realpathSync(leaf);
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Writes `content` to `target` so that a reader sees the old file or the
 * whole new one, never a part: into a new file in a fresh temporary directory
 * beside the target (same file system, so the rename is atomic; its name is
 * not predictable, and the exclusive create would refuse anything planted),
 * flushed to disk, then renamed over the target. rename(2) replaces a
 * symbolic link at the target rather than writing through it. Concurrent
 * installs each use their own temporary directory; the last rename wins,
 * with a complete file either way.
 */
function writeAtomically(target: string, content: string, mirror: string): void {
  const existing = lstatOrNull(target);
  if (existing?.isDirectory()) {
    throw new Error(`cannot install the provider: ${target} is a directory; remove it and run again`);
  }
  const dir = path.dirname(target);
  // A leading dot: Terraform looks for terraform-provider-* in this directory, and must not find the temporary one.
  const tmpDir = fs.mkdtempSync(path.join(dir, `.${path.basename(target)}.install-`));
  try {
    // Checked again now that it exists: a directory swapped for a link after makeMirrorDirs would show here.
    const realTmp = fs.realpathSync(tmpDir);
    if (!isInside(fs.realpathSync(mirror), realTmp)) {
      throw new Error(`refusing to install the provider: ${tmpDir} resolves to ${realTmp}, outside the mirror ${mirror}`);
    }
    const tmp = path.join(realTmp, path.basename(target));
    const fd = fs.openSync(tmp, 'wx', 0o755);
    try {
      fs.writeFileSync(fd, content);
      // The mode given to open is reduced by the umask; the provider must be executable whatever it is.
      fs.fchmodSync(fd, 0o755);
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

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Adds `provider install` to the command line. */
export function registerProviderCommands(program: Command): void {
  const provider = program.command('provider').description('install the Terraform provider');
  provider
    .command('install')
    .description('lay the provider out in a Terraform filesystem mirror, so terraform init finds it offline')
    .option('--dir <dir>', 'mirror directory', defaultMirrorDir())
    .action((opts: { dir: string }) => {
      const target = installProvider(opts.dir);
      process.stdout.write(`${JSON.stringify({ path: target, source: 'appreg/appreg', version: VERSION })}\n`);
    });
}
