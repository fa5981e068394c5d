/**
 * How long a provider takes from process start to its handshake line, the
 * time Terraform waits 3–4 times per command. Reported as a ratio to a
 * baseline measured in the same run (`node -e ""`, start to exit), so the
 * number means the same on a fast laptop and a slow CI runner.
 *
 * Usage (after `npx tsc -p tsconfig.json`):
 *   node dist/scripts/bench-startup.js [--runs N] [executable ...]
 * Without executables it measures the toy provider and, once built, the
 * appreg provider (bin/) and the release executable (release/, from
 * `npm run release`), if there is one for this version and platform. An
 * executable may also be a release zip; its executable is unpacked into a
 * temporary folder first. Exits 0; it reports, it does not judge.
 *
 * Other scripts (the overall benchmark) call {@link measureStartup}.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateSelfSignedCert } from '../src/tfplugin/certs';
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from '../src/tfplugin/handshake';
import { median } from './bench/common';

const root = path.resolve(__dirname, '..', '..');

/** Options of {@link measureStartup}. */
export interface StartupOptions {
  /**
   * Provider executables to start: a shell wrapper like bin/, the release
   * executable, or a release zip (its one executable is unpacked into a
   * temporary folder first, as Terraform does).
   */
  executables: string[];
  /** Timed runs of each, after one untimed warm-up round. Default 15. */
  runs?: number;
  /** Names in the result, one per executable. Default: the path relative to the repository. */
  names?: string[];
  /** Extra environment for the providers (the handshake variables are set regardless). */
  env?: NodeJS.ProcessEnv;
}

/** One executable's timings, in milliseconds. */
export interface StartupRow {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** `medianMs` over the baseline's median. */
  ratio: number;
  /**
   * Median CPU time (user + system) the process used until its line (the
   * baseline: until it exited), where the system tells (Linux `/proc`, in
   * 10 ms ticks); steadier than wall time on a busy machine. Undefined
   * elsewhere.
   */
  cpuMs?: number;
}

/** What {@link measureStartup} found. */
export interface StartupResult {
  runs: number;
  /** Median of `node -e ""`, start to exit, started the same way. */
  baselineMs: number;
  /** The baseline first (ratio 1), then each executable in the order given. */
  rows: StartupRow[];
}

interface Sample {
  ms: number;
  cpuMs?: number;
}

/** Clock ticks per second of /proc/<pid>/stat times: USER_HZ, 100 on every Linux Node runs on. */
const USER_HZ = 100;

/** User + system CPU time of a live process, from /proc (Linux); undefined if unreadable. */
function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after its last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of this process's children that have been waited for, from /proc (Linux). */
function childrenCpuTimeMs(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Milliseconds from spawn until the process exits (`'exit'`) or prints a full line (`'line'`, then it is stopped). */
function time(cmd: string, args: string[], env: NodeJS.ProcessEnv, until: 'exit' | 'line'): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const cpuBefore = until === 'exit' ? childrenCpuTimeMs() : undefined;
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let took: Sample | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (until === 'line') {
      child.stdout.on('data', (d: Buffer) => {
        if (took === undefined && d.includes(0x0a)) {
          took = { ms: elapsed(), cpuMs: cpuTimeMs(child.pid) };
          child.kill('SIGTERM');
        }
      });
    }
    child.on('exit', (code) => {
      if (until === 'exit') {
        const ms = elapsed();
        const cpuAfter = childrenCpuTimeMs();
        return resolve({ ms, cpuMs: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined });
      }
      if (took !== undefined) return resolve(took);
      reject(new Error(`${cmd} exited ${code} before its handshake:\n${stderr}`));
    });
  });
}

/**
 * Starts each executable `runs` times the way Terraform does (magic cookie,
 * protocol versions, a client certificate, so with mutual TLS) and times it
 * to its handshake line, interleaved with the `node -e ""` baseline so
 * drift in machine load hits all alike.
 */
export async function measureStartup(opts: StartupOptions): Promise<StartupResult> {
  const runs = opts.runs ?? 15;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive whole number, not ${opts.runs}`);
  const cert = generateSelfSignedCert({ organization: 'bench' });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: '5,6',
    PLUGIN_CLIENT_CERT: cert.certPem,
  };
  delete env.TF_LOG;
  delete env.TF_LOG_PROVIDER;

  const baseline: Sample[] = [];
  const samples: Sample[][] = opts.executables.map(() => []);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-bench-'));
  try {
    const executables: string[] = [];
    for (const exe of opts.executables) executables.push(exe.endsWith('.zip') ? await unpackReleaseZip(exe, fs.mkdtempSync(path.join(tmp, 'exe-'))) : exe);
    for (let round = -1; round < runs; round++) {
      const b = await time(process.execPath, ['-e', ''], env, 'exit');
      if (round >= 0) baseline.push(b);
      for (const [i, exe] of executables.entries()) {
        const s = await time(exe, [], env, 'line');
        if (round >= 0) samples[i]!.push(s);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const baselineMs = median(baseline.map((s) => s.ms));
  const row = (name: string, xs: Sample[]): StartupRow => {
    const ms = xs.map((s) => s.ms);
    const cpu = xs.map((s) => s.cpuMs).filter((c): c is number => c !== undefined);
    const r: StartupRow = { name, medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), ratio: median(ms) / baselineMs };
    if (cpu.length === xs.length) r.cpuMs = median(cpu);
    return r;
  };
  return {
    runs,
    baselineMs,
    rows: [
      row('baseline: node -e ""', baseline),
      ...opts.executables.map((exe, i) => row(opts.names?.[i] ?? path.relative(root, exe), samples[i]!)),
    ],
  };
}

/** The result as a table for a terminal. */
export function formatStartup(result: StartupResult): string {
  const width = Math.max('executable'.length, ...result.rows.map((r) => r.name.length));
  const num = (n: number | undefined, digits: number): string => (n === undefined ? '-' : n.toFixed(digits)).padStart(6);
  const lines = [
    `time to handshake, ${result.runs} runs each (ms; cpu = CPU time used until the line)`,
    `${'executable'.padEnd(width)}  median     min     max   ratio     cpu`,
    ...result.rows.map(
      (r) => `${r.name.padEnd(width)}  ${num(r.medianMs, 1)}  ${num(r.minMs, 1)}  ${num(r.maxMs, 1)}  ${num(r.ratio, 2)}  ${num(r.cpuMs, 0)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The release executable in `release/` for this version and platform, if `npm run release` made one. */
function releaseZip(): string | undefined {
  try {
    const names = require('./release/names') as typeof import('./release/names');
    const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const zip = path.join(root, 'release', names.providerZipName(version, names.terraformPlatform()));
    return fs.existsSync(zip) ? zip : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Unpacks the one executable of a release zip into `dir` (mode 0755), as
 * Terraform does, and returns its path.
 */
async function unpackReleaseZip(zip: string, dir: string): Promise<string> {
  const yauzl = require('yauzl') as typeof import('yauzl');
  return new Promise((resolve, reject) => {
    yauzl.open(zip, { lazyEntries: true }, (err, z) => {
      if (err) return reject(err);
      z.on('error', reject);
      z.on('entry', (entry: import('yauzl').Entry) => {
        z.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const file = path.join(dir, path.basename(entry.fileName));
          const out = fs.createWriteStream(file, { mode: 0o755 });
          out.on('error', reject);
          out.on('close', () => {
            z.close();
            resolve(file);
          });
          stream.pipe(out);
        });
      });
      z.on('end', () => reject(new Error(`${zip} holds no file`)));
      z.readEntry();
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let runs = 15;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else targets.push(path.resolve(argv[i]!));
  }
  if (targets.length === 0) {
    targets.push(path.join(root, 'test', 'fixtures', 'terraform-provider-toy'));
    if (fs.existsSync(path.join(root, 'dist', 'src', 'provider', 'main.js'))) targets.push(path.join(root, 'bin', 'terraform-provider-appreg'));
    const zip = releaseZip();
    if (zip) targets.push(zip);
  }
  process.stdout.write(formatStartup(await measureStartup({ executables: targets, runs })));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
