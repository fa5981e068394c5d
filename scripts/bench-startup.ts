/**
 * How long a provider takes from process start to its handshake line, the
 * time Terraform waits 3–4 times per command. Reported as a ratio to a
 * baseline measured in the same run (`node -e ""`, start to exit), so the
 * number means the same on a fast laptop and a slow CI runner.
 *
 * Usage (after `npx tsc -p tsconfig.json`):
 *   node dist/scripts/bench-startup.js [--runs N] [executable ...]
 * Without executables it measures the toy provider and, once built, the
 * appreg provider. Exits 0; it reports, it does not judge.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { generateSelfSignedCert } from '../src/tfplugin/certs';
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from '../src/tfplugin/handshake';

const root = path.resolve(__dirname, '..', '..');

/** Milliseconds from spawn until `done` says so, then the process is stopped. */
function time(cmd: string, args: string[], env: NodeJS.ProcessEnv, until: 'exit' | 'line'): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let took: number | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (until === 'line') {
      child.stdout.on('data', (d: Buffer) => {
        if (took === undefined && d.includes(0x0a)) {
          took = elapsed();
          child.kill('SIGTERM');
        }
      });
    }
    child.on('exit', (code) => {
      if (until === 'exit') return resolve(elapsed());
      if (took !== undefined) return resolve(took);
      reject(new Error(`${cmd} exited ${code} before its handshake:\n${stderr}`));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let runs = 15;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else targets.push(path.resolve(argv[i]));
  }
  if (targets.length === 0) {
    targets.push(path.join(root, 'test', 'fixtures', 'terraform-provider-toy'));
    if (fs.existsSync(path.join(root, 'dist', 'src', 'provider', 'main.js'))) targets.push(path.join(root, 'bin', 'terraform-provider-appreg'));
  }

  const cert = generateSelfSignedCert({ organization: 'bench' });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: '5,6',
    PLUGIN_CLIENT_CERT: cert.certPem,
  };
  delete env.TF_LOG;
  delete env.TF_LOG_PROVIDER;

  const samples = new Map<string, number[]>([['baseline', []], ...targets.map((t): [string, number[]] => [t, []])]);
  // Interleaved, after one warm-up round, so drift in machine load hits all alike.
  for (let round = -1; round < runs; round++) {
    const b = await time(process.execPath, ['-e', ''], env, 'exit');
    if (round >= 0) samples.get('baseline')!.push(b);
    for (const t of targets) {
      const ms = await time(t, [], env, 'line');
      if (round >= 0) samples.get(t)!.push(ms);
    }
  }

  const base = median(samples.get('baseline')!);
  const rows = [...samples].map(([name, xs]) => ({
    name: name === 'baseline' ? 'baseline: node -e ""' : path.relative(root, name),
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
  }));
  const width = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write(`time to handshake, ${runs} runs each (ms)\n`);
  process.stdout.write(`${'executable'.padEnd(width)}  median     min     max   ratio\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(6)}  ${r.min.toFixed(1).padStart(6)}  ${r.max.toFixed(1).padStart(6)}  ${(r.median / base).toFixed(2).padStart(6)}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
