/**
 * The provider release (`npm run release`, scripts/release/provider.ts):
 * built twice from this checkout into two temporary folders, the zips are
 * byte for byte the same and match their SHA256SUMS; the zip holds exactly
 * the executable Terraform looks for; the executable carries no path of the
 * checkout and starts as a go-plugin provider with no Node installed, and
 * serves RPCs (whose code it loads only after the handshake line) over
 * mutual TLS until Terraform shuts it down.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yauzl from 'yauzl';
import { parseReleaseArgs } from '../../scripts/release';
import { manifestName, parseProviderZipName, providerExecutableName, providerZipName, sha256File, sha256SumsName, terraformPlatform } from '../../scripts/release/names';
import { buildProviderRelease, type ProviderRelease } from '../../scripts/release/provider';
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, parseHandshakeLine } from '../../src/tfplugin/handshake';
import { ProviderHarness } from '../support/plugin-harness';
import { VERSION } from '../../src/version';
import { REPO_ROOT, requireBuiltProvider } from '../support/terraform';

// Each build takes about half a minute on an idle machine, more on a busy one.
jest.setTimeout(10 * 60 * 1000);

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

interface ZipEntry {
  name: string;
  mode: number;
  data: Buffer;
  lastModDate: Date;
}

/** Every entry of a zip with its Unix mode and contents, read with yauzl. */
function readZip(file: string): Promise<ZipEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const entries: ZipEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0xffff, data: Buffer.concat(chunks), lastModDate: entry.getLastModDate() });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

let first: ProviderRelease;
let second: ProviderRelease;
let firstDir: string;
let secondDir: string;
let executable: string;

beforeAll(async () => {
  requireBuiltProvider();
  firstDir = tempDir('appreg-release-a-');
  secondDir = tempDir('appreg-release-b-');
  first = await buildProviderRelease({ outDir: firstDir });
  second = await buildProviderRelease({ outDir: secondDir });
  // The executable, unzipped into a folder of its own as Terraform does.
  const entries = await readZip(first.zipPath);
  const dir = tempDir('appreg-release-exe-');
  executable = path.join(dir, entries[0]!.name);
  fs.writeFileSync(executable, entries[0]!.data, { mode: 0o755 });
});

afterAll(async () => {
  await ProviderHarness.closeAll();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the provider release', () => {
  it('names its files as Terraform registries do, for this version and platform', () => {
    const platform = terraformPlatform();
    expect(platform).toBe(`${process.platform === 'win32' ? 'windows' : process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`);
    expect(first.version).toBe(VERSION);
    expect(first.platform).toBe(platform);
    expect(fs.readdirSync(firstDir).sort()).toEqual(
      [providerZipName(VERSION, platform), sha256SumsName(VERSION), manifestName(VERSION)].sort(),
    );
    expect(path.basename(first.zipPath)).toBe(`terraform-provider-appreg_${VERSION}_${platform}.zip`);
    expect(parseProviderZipName(path.basename(first.zipPath))).toEqual({ version: VERSION, platform, os: platform.split('_')[0], arch: platform.split('_')[1] });
    expect(JSON.parse(fs.readFileSync(first.manifestPath, 'utf8'))).toEqual({ version: 1, metadata: { protocol_versions: ['6.0'] } });
  });

  it('is reproducible: two builds give the same zip and the same executable, and SHA256SUMS says so', () => {
    expect(second.zipSha256).toBe(first.zipSha256);
    expect(second.executableSha256).toBe(first.executableSha256);
    expect(sha256File(first.zipPath)).toBe(first.zipSha256);
    expect(sha256File(second.zipPath)).toBe(first.zipSha256);
    const sums = fs.readFileSync(first.sumsPath, 'utf8');
    expect(sums).toBe(`${first.zipSha256}  ${path.basename(first.zipPath)}\n`);
    expect(fs.readFileSync(second.sumsPath, 'utf8')).toBe(sums);
    expect(fs.readFileSync(second.manifestPath)).toEqual(fs.readFileSync(first.manifestPath));
  });

  it('holds exactly one entry: the executable, mode 0755, with a fixed timestamp', async () => {
    const entries = await readZip(first.zipPath);
    expect(entries.map((e) => e.name)).toEqual([providerExecutableName(VERSION)]);
    const [exe] = entries;
    expect(exe!.mode).toBe(0o100755);
    // 1980-01-01 00:00 in local time, whatever time zone built it.
    expect(exe!.lastModDate.getTime()).toBe(new Date(1980, 0, 1, 0, 0, 0).getTime());
    expect(exe!.data.length).toBe(first.executableSize);
    // A Node single executable is Node itself plus the bundle: about 100 MB.
    expect(exe!.data.length).toBeGreaterThan(50 * 1024 * 1024);
  });

  it('carries no absolute path of the checkout', () => {
    const bytes = fs.readFileSync(executable);
    for (const p of new Set([REPO_ROOT, fs.realpathSync(REPO_ROOT)])) {
      expect(bytes.includes(Buffer.from(p))).toBe(false);
    }
    // The bundle is in there (the provider address is in its messages), so the search above looked at it.
    expect(bytes.includes(Buffer.from('registry.terraform.io/appreg/appreg'))).toBe(true);
  });

  it('run by hand (no magic cookie), says it is a Terraform plugin and exits 1, with no Node on PATH', () => {
    const noNode = tempDir('appreg-release-path-');
    const env = { PATH: noNode, HOME: noNode };
    expect(spawnSync('node', ['--version'], { env }).error).toBeDefined();
    const r = spawnSync(executable, [], { env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('This is a Terraform provider plugin (registry.terraform.io/appreg/appreg)');
    expect(r.stderr).not.toMatch(/ExperimentalWarning|single executable/i);
    expect(r.stdout).toBe('');
  });

  it('with the cookie, loads everything it needs from inside itself and prints a go-plugin handshake line', async () => {
    const noNode = tempDir('appreg-release-sock-');
    const child = spawn(executable, [], {
      env: { PATH: noNode, HOME: noNode, [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE, PLUGIN_PROTOCOL_VERSIONS: '6', PLUGIN_UNIX_SOCKET_DIR: noNode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('close', (code) => reject(new Error(`the provider exited ${code} before its handshake: ${err}`)));
    });
    const closed = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    await closed;
    const h = parseHandshakeLine(line);
    expect(h).toMatchObject({ coreVersion: 1, protocolVersion: 6, network: 'unix', protocol: 'grpc' });
    expect(h.address.startsWith(noNode)).toBe(true);
  });

  it('serves over mutual TLS what it loads after the handshake (schema, handlers, protobuf), and exits on GRPCController.Shutdown', async () => {
    const noNode = tempDir('appreg-release-rpc-');
    const h = await ProviderHarness.start({ executable, env: { PATH: noNode, HOME: noNode, PLUGIN_UNIX_SOCKET_DIR: noNode } });
    expect(h.handshake.serverCertDer).toBeDefined();
    const { schema, diagnostics } = await h.getProviderSchema();
    expect(diagnostics).toEqual([]);
    expect(Object.keys(schema.resource_schemas)).toContain('appreg_oauth_client');
    expect(await h.shutdown()).toBe(0);
  });

  it('npm run release takes --out and --provider-only, and refuses anything else', () => {
    expect(parseReleaseArgs([])).toEqual({ outDir: path.join(REPO_ROOT, 'release'), providerOnly: false });
    expect(parseReleaseArgs(['--out', 'x', '--provider-only'])).toEqual({ outDir: path.resolve('x'), providerOnly: true });
    expect(parseReleaseArgs(['--out=/tmp/y'])).toEqual({ outDir: '/tmp/y', providerOnly: false });
    expect(() => parseReleaseArgs(['--out'])).toThrow('--out needs a directory');
    expect(() => parseReleaseArgs(['--fast'])).toThrow('unknown argument --fast');
  });
});
