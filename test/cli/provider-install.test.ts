/**
 * `appreg provider install [--from ZIP] [--dir MIRROR] [--force]`: the zip
 * goes into the mirror in the packed layout, checked first (its name, its one
 * executable, a SHA256SUMS beside it); a changed zip of an installed version
 * is refused; the default mirror follows HOME; without --from the release is
 * built first. And the mirror may be one others can write to: planted
 * symbolic links never make it write outside the mirror, and concurrent
 * installs all succeed and leave one complete zip.
 *
 * Most cases use small zips made here with yazl, shaped as a release is (the
 * installer reads names and entries, not the executable's code); the real
 * release zip is installed and run by Terraform in test/release.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as yazl from 'yazl';
import { providerExecutableName, providerZipName, sha256File, sha256SumsName, terraformPlatform } from '../../scripts/release/names';
import { installProvider, mirrorZipPath, type InstallResult } from '../../src/cli/provider-install';
import { VERSION } from '../../src/version';
import { runProcess } from '../support/process';
import { REPO_ROOT, requireBuiltProvider } from '../support/terraform';

jest.setTimeout(120_000);

const APPREG = path.join(REPO_ROOT, 'bin', 'appreg');
const COMPILED = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'provider-install.js');
const PLATFORM = terraformPlatform();
const OUTSIDE = 'outside the mirror: must never change\n';
const quiet = (): void => undefined;

let work: string;
let mirror: string;
let outside: string;

beforeAll(() => requireBuiltProvider());

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-install-'));
  mirror = path.join(work, 'mirror');
  outside = path.join(work, 'outside');
  fs.mkdirSync(outside);
});

afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

interface FakeEntry {
  name: string;
  data?: string;
  mode?: number;
}

/**
 * Writes a zip named as a release (`name`, by default this version and
 * platform) into `dir` (default a fresh folder under `work`), with the given
 * entries (default: the one executable, a small script, mode 0755).
 */
function makeZip(opts: { dir?: string; name?: string; version?: string; entries?: FakeEntry[]; content?: string } = {}): Promise<string> {
  const version = opts.version ?? VERSION;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(work, 'zips-'));
  const file = path.join(dir, opts.name ?? providerZipName(version, PLATFORM));
  const entries = opts.entries ?? [{ name: providerExecutableName(version), data: opts.content ?? '#!/bin/sh\necho fake provider\nexit 1\n' }];
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    const out = fs.createWriteStream(file);
    out.on('error', reject);
    out.on('close', () => resolve(file));
    zip.outputStream.pipe(out);
    for (const e of entries) zip.addBuffer(Buffer.from(e.data ?? 'x'), e.name, { mode: e.mode ?? 0o100755, mtime: new Date(1980, 0, 1) });
    zip.end();
  });
}

/** Writes `<version>_SHA256SUMS` beside `zip` with `hex` for it. */
function writeSums(zip: string, hex: string, version = VERSION): void {
  fs.writeFileSync(path.join(path.dirname(zip), sha256SumsName(version)), `${hex}  ${path.basename(zip)}\n`);
}

async function installError(opts: Parameters<typeof installProvider>[0]): Promise<string> {
  try {
    await installProvider({ log: quiet, ...opts });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the install was expected to fail');
}

/** Checks that `p` is a regular file, mode 0644, with the bytes of `zip`, alone in its folder. */
function expectInstalled(p: string, zip: string): void {
  const st = fs.lstatSync(p);
  expect(st.isFile()).toBe(true);
  expect(st.mode & 0o777).toBe(0o644);
  expect(sha256File(p)).toBe(sha256File(zip));
  expect(fs.readdirSync(path.dirname(p))).toEqual([path.basename(p)]);
}

describe('appreg provider install', () => {
  it('puts the zip into the mirror in the packed layout, readable by all whatever the umask, and prints what it did', async () => {
    const zip = await makeZip();
    fs.chmodSync(zip, 0o600);
    const old = process.umask(0o077);
    let result: InstallResult;
    try {
      result = await installProvider({ from: zip, dir: mirror, log: quiet });
    } finally {
      process.umask(old);
    }
    const target = path.join(mirror, 'registry.terraform.io', 'appreg', 'appreg', `terraform-provider-appreg_${VERSION}_${PLATFORM}.zip`);
    expect(mirrorZipPath(mirror)).toBe(target);
    expect(result).toEqual({ installed: target, version: VERSION, platform: PLATFORM, sha256: sha256File(zip) });
    expectInstalled(target, zip);
    // Installing the same zip again changes nothing and succeeds.
    expect(await installProvider({ from: zip, dir: mirror, log: quiet })).toEqual(result);
    expectInstalled(target, zip);
  });

  it('takes version and platform from the zip name, so other versions and platforms sit side by side', async () => {
    const other = await makeZip({ version: '0.2.0-rc.1', name: 'terraform-provider-appreg_0.2.0-rc.1_darwin_arm64.zip' });
    const r = await installProvider({ from: other, dir: mirror, log: quiet });
    expect(r).toMatchObject({ version: '0.2.0-rc.1', platform: 'darwin_arm64' });
    expect(r.installed).toBe(mirrorZipPath(mirror, '0.2.0-rc.1', 'darwin_arm64'));
    await installProvider({ from: await makeZip(), dir: mirror, log: quiet });
    expect(fs.readdirSync(path.dirname(r.installed)).sort()).toEqual([providerZipName(VERSION, PLATFORM), 'terraform-provider-appreg_0.2.0-rc.1_darwin_arm64.zip'].sort());
  });

  it('checks a SHA256SUMS that sits beside the zip', async () => {
    const zip = await makeZip();
    writeSums(zip, sha256File(zip));
    await expect(installProvider({ from: zip, dir: mirror, log: quiet })).resolves.toMatchObject({ sha256: sha256File(zip) });

    fs.rmSync(mirror, { recursive: true });
    writeSums(zip, 'ab'.repeat(32));
    expect(await installError({ from: zip, dir: mirror })).toBe(
      `${path.basename(zip)} does not match ${sha256SumsName(VERSION)} (expected sha256 ${'ab'.repeat(32)}, the zip has ${sha256File(zip)}): the download is damaged or the two files are from different builds; fetch both again.`,
    );
    fs.writeFileSync(path.join(path.dirname(zip), sha256SumsName(VERSION)), `${sha256File(zip)}  terraform-provider-appreg_${VERSION}_windows_amd64.zip\n`);
    expect(await installError({ from: zip, dir: mirror })).toContain(`has no line for ${path.basename(zip)}`);
    expect(fs.existsSync(mirror)).toBe(false);
  });

  it('refuses a file that is not a release zip, naming what is wrong', async () => {
    const exe = providerExecutableName(VERSION);
    expect(await installError({ from: await makeZip({ name: 'provider.zip' }), dir: mirror })).toMatch(
      /provider\.zip is not a provider release: its name must be terraform-provider-appreg_<version>_<os>_<arch>\.zip/,
    );
    expect(await installError({ from: path.join(work, providerZipName(VERSION)), dir: mirror })).toContain('does not exist or is not a file');
    expect(await installError({ from: await makeZip({ entries: [{ name: exe }, { name: 'README.md' }] }), dir: mirror })).toContain(`holds 2 entries, and must hold only ${exe}`);
    expect(await installError({ from: await makeZip({ entries: [{ name: 'terraform-provider-appreg' }] }), dir: mirror })).toContain(`holds terraform-provider-appreg, and must hold ${exe}`);
    expect(await installError({ from: await makeZip({ entries: [{ name: exe, mode: 0o100644 }] }), dir: mirror })).toContain('is not a regular executable file (mode 100644)');
    const notZip = path.join(fs.mkdtempSync(path.join(work, 'nz-')), providerZipName(VERSION));
    fs.writeFileSync(notZip, 'not a zip at all');
    expect(await installError({ from: notZip, dir: mirror })).toContain('cannot be read as a zip');
    // Cut short, as an interrupted download is.
    const whole = fs.readFileSync(await makeZip({ content: 'x'.repeat(100_000) }));
    const cut = path.join(fs.mkdtempSync(path.join(work, 'cut-')), providerZipName(VERSION));
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 200));
    expect(await installError({ from: cut, dir: mirror })).toContain('is not a usable provider release');
    expect(fs.existsSync(mirror)).toBe(false);
  });

  it('refuses a different zip of an installed version, unless --force', async () => {
    const a = await makeZip({ content: 'build A\n' });
    const b = await makeZip({ content: 'build B\n' });
    const installed = (await installProvider({ from: a, dir: mirror, log: quiet })).installed;
    expect(await installError({ from: b, dir: mirror })).toBe(
      `appreg/appreg ${VERSION} (${PLATFORM}) is already installed in ${mirror} with a different checksum (sha256 ${sha256File(a)}, this zip ${sha256File(b)}), ` +
        'and lock files record that checksum, so a changed provider needs a new version number: raise the version in package.json and release again ' +
        '(or pass --force to replace it, then update every .terraform.lock.hcl that records it).',
    );
    expectInstalled(installed, a);
    await installProvider({ from: b, dir: mirror, force: true, log: quiet });
    expectInstalled(installed, b);
  });

  it('refuses an unpacked install of the same version (what older appreg wrote), and replaces it with --force', async () => {
    const zip = await makeZip();
    const unpacked = path.join(mirror, 'registry.terraform.io', 'appreg', 'appreg', VERSION, PLATFORM);
    fs.mkdirSync(unpacked, { recursive: true });
    fs.writeFileSync(path.join(unpacked, providerExecutableName(VERSION)), '#!/bin/sh\nexec node /somewhere/dist/src/provider/main.js "$@"\n', { mode: 0o755 });
    expect(await installError({ from: zip, dir: mirror })).toContain(`an unpacked appreg/appreg ${VERSION} (${PLATFORM}) is already in the mirror at ${unpacked}, which Terraform would use instead of the zip; remove it, or pass --force`);
    const r = await installProvider({ from: zip, dir: mirror, force: true, log: quiet });
    expect(fs.existsSync(unpacked)).toBe(false);
    expect(fs.readdirSync(path.dirname(r.installed)).sort()).toEqual([VERSION, path.basename(r.installed)].sort());
  });

  it('never writes through a symbolic link planted at the target', async () => {
    const zip = await makeZip();
    const target = mirrorZipPath(mirror);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, OUTSIDE, { mode: 0o644 });
    fs.symlinkSync(victim, target);
    expect((await installProvider({ from: zip, dir: mirror, log: quiet })).installed).toBe(target);
    expect(fs.readFileSync(victim, 'utf8')).toBe(OUTSIDE);
    // The link was replaced by the file, not followed.
    expectInstalled(target, zip);
  });

  it('refuses, naming the path, when a directory of the mirror path is a symbolic link leading out of the mirror', async () => {
    const zip = await makeZip();
    const rel = ['registry.terraform.io', 'appreg', 'appreg'];
    for (let depth = 1; depth <= rel.length; depth++) {
      fs.rmSync(mirror, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
      fs.mkdirSync(outside);
      const link = path.join(mirror, ...rel.slice(0, depth));
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(outside, link);
      expect(await installError({ from: zip, dir: mirror })).toContain(`${link} is a symbolic link to ${fs.realpathSync(outside)}, outside the mirror`);
      expect(fs.readdirSync(outside)).toEqual([]);
    }
  });

  it('follows a symbolic link inside the mirror, and the mirror directory itself may be a link', async () => {
    const zip = await makeZip();
    const realMirror = path.join(work, 'real-mirror');
    fs.mkdirSync(path.join(realMirror, 'shared', 'appreg'), { recursive: true });
    fs.symlinkSync(realMirror, mirror);
    fs.mkdirSync(path.join(realMirror, 'registry.terraform.io'));
    fs.symlinkSync(path.join(realMirror, 'shared', 'appreg'), path.join(realMirror, 'registry.terraform.io', 'appreg'));
    const r = await installProvider({ from: zip, dir: mirror, log: quiet });
    expect(r.installed).toBe(mirrorZipPath(mirror));
    expectInstalled(path.join(realMirror, 'shared', 'appreg', 'appreg', providerZipName(VERSION)), zip);
  });

  it('refuses a directory at the target or a file where a directory belongs', async () => {
    const zip = await makeZip();
    const target = mirrorZipPath(mirror);
    fs.mkdirSync(target, { recursive: true });
    expect(await installError({ from: zip, dir: mirror })).toContain(`${target} is a directory`);
    fs.rmSync(mirror, { recursive: true });
    fs.mkdirSync(path.dirname(path.dirname(target)), { recursive: true });
    fs.writeFileSync(path.dirname(target), 'not a directory');
    expect(await installError({ from: zip, dir: mirror })).toContain(`${path.dirname(target)} exists and is not a directory`);
  });

  it('installs into ~/.terraform.d/plugins of the HOME it runs with, and fails in one clean line', async () => {
    const zip = await makeZip();
    const home = path.join(work, 'home');
    fs.mkdirSync(home);
    const env = { ...process.env, HOME: home };
    const ok = await runProcess(APPREG, ['provider', 'install', '--from', zip], { env });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const printed = JSON.parse(ok.stdout) as InstallResult;
    expect(printed).toEqual({ installed: mirrorZipPath(path.join(home, '.terraform.d', 'plugins')), version: VERSION, platform: PLATFORM, sha256: sha256File(zip) });
    expectInstalled(printed.installed, zip);

    const missing = path.join(work, providerZipName(VERSION));
    const bad = await runProcess(APPREG, ['provider', 'install', '--from', missing], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`appreg: ${missing} does not exist or is not a file; build it with npm run release, or name the zip with --from.\n`);

    const changed = await runProcess(APPREG, ['provider', 'install', '--from', await makeZip({ content: 'another build\n' })], { env });
    expect(changed.code).toBe(1);
    expect(changed.stderr.split('\n')).toHaveLength(2);
    expect(changed.stderr).toContain('a changed provider needs a new version number');
    expect(changed.stderr).not.toMatch(/\n\s+at /);
  });

  it('lets concurrent installs (separate processes) all succeed, leaving one complete zip', async () => {
    const zip = await makeZip({ content: 'y'.repeat(2_000_000) });
    const runs = await Promise.all(Array.from({ length: 6 }, () => runProcess(APPREG, ['provider', 'install', '--from', zip, '--dir', mirror])));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ installed: mirrorZipPath(mirror), version: VERSION });
    }
    expectInstalled(mirrorZipPath(mirror), zip);
  });

  it('lets concurrent installs in one process (worker threads share the pid) all succeed', async () => {
    const zip = await makeZip();
    const rounds = 60;
    // The compiled module, as bin/appreg runs it; each round starts from an empty mirror so every one writes.
    const code = `
      const fs = require('node:fs');
      const { parentPort, workerData } = require('node:worker_threads');
      const { installProvider } = require(workerData.compiled);
      (async () => {
        const failures = [];
        for (let i = 0; i < workerData.rounds; i++) {
          try {
            await installProvider({ from: workerData.zip, dir: workerData.mirror, log: () => undefined });
            if (i % 2 === workerData.parity) fs.rmSync(workerData.target, { force: true });
          } catch (e) { failures.push(e.message); }
        }
        parentPort.postMessage(failures);
      })();
    `;
    const target = mirrorZipPath(mirror);
    const results = await Promise.all(
      [0, 1].map(
        (parity) =>
          new Promise<string[]>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { compiled: COMPILED, mirror, zip, rounds, parity, target } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(results).toEqual([[], []]);
    await installProvider({ from: zip, dir: mirror, log: quiet });
    expectInstalled(target, zip);
  });

  it('without --from, builds the release first when its zip is missing, saying so, and uses it next time', async () => {
    const releaseDir = path.join(work, 'release');
    const said: string[] = [];
    const started = Date.now();
    const r = await installProvider({ dir: mirror, releaseDir, log: (line) => said.push(line) });
    const built = path.join(releaseDir, providerZipName(VERSION));
    expect(said[0]).toMatch(/does not exist; building the provider release first/);
    expect(fs.readdirSync(releaseDir).sort()).toEqual([providerZipName(VERSION), sha256SumsName(VERSION), `terraform-provider-appreg_${VERSION}_manifest.json`].sort());
    expect(r).toEqual({ installed: mirrorZipPath(mirror), version: VERSION, platform: PLATFORM, sha256: sha256File(built) });
    expectInstalled(r.installed, built);
    const buildMs = Date.now() - started;

    said.length = 0;
    const again = Date.now();
    expect(await installProvider({ dir: mirror, releaseDir, log: (line) => said.push(line) })).toEqual(r);
    expect(said).toEqual([]);
    expect(Date.now() - again).toBeLessThan(buildMs);
  }, 10 * 60 * 1000);
});
