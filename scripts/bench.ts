/**
 * `npm run bench`: how the provider and the service perform, each figure a
 * ratio to a baseline measured on this machine in the same run, so that the
 * numbers mean the same on a laptop and on a CI runner. It reports, it does
 * not judge: the exit status is 0 whatever the figures, 1 only when a
 * measurement could not be made. Progress goes to stderr, the report to stdout.
 *
 *   node dist/scripts/bench.js [--only plan,apply,startup,rss,service] [--n 1000]
 *                              [--provider PATH] [--json FILE] [--read-seconds 2] [--no-postgres]
 *
 * - plan: a no-change `terraform plan` over N appreg_oauth_client ÷ the same
 *   over N terraform_data (built into Terraform: no plugin, no network), and
 *   the same for 5; medians of 3 and 5 runs, interleaved. Also the requests
 *   the provider sends to the service during an N-client plan, counted by a
 *   proxy in front of the service (an extra, untimed plan).
 * - apply: `terraform apply` creating N clients ÷ creating N terraform_data.
 * - startup: the provider's start to handshake ÷ `node -e ""` (scripts/bench-startup.ts).
 * - rss: the provider's peak resident set (VmHWM) during an N-client plan.
 * - service: reads per second of `appreg serve` on SQLite and PostgreSQL
 *   (autocannon; 5 interleaved runs of --read-seconds each, the median
 *   reported) ÷ a bare fastify route answering the same JSON.
 *
 * The provider is the release executable (release.js --provider-only), or
 * `--provider PATH` (e.g. bin/terraform-provider-appreg for the checkout's
 * build), found by Terraform through `dev_overrides`. The service is
 * `appreg serve` with its rate limit off, on a temporary SQLite database.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanUp, cleanUpOnSignals, isStopping, median, progress, tempDir } from './bench/common';
import { startCountingProxy } from './bench/proxy';
import { benchReads, type RouteReads } from './bench/reads';
import { formatReport, type Row } from './bench/report';
import { startBenchService } from './bench/service';
import { benchStartup, type StartupFigures } from './bench/startup';
import { prepareProvider, terraformEnv, Workspace, type ProviderUnderTest } from './bench/terraform';
import { watchDescendants, type PeakRss } from './bench/watch';

/** The parts `--only` can pick. */
const PARTS = ['plan', 'apply', 'startup', 'rss', 'service'] as const;
type Part = (typeof PARTS)[number];

/** The parsed command line. */
export interface BenchArgs {
  only: Set<Part>;
  n: number;
  provider?: string;
  json?: string;
  readSeconds: number;
  postgres: boolean;
}

const USAGE =
  'usage: bench [--only plan,apply,startup,rss,service] [--n 1000] [--provider PATH] [--json FILE] [--read-seconds 2] [--no-postgres]';

/** Parses the command line; throws with the usage on anything unknown. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: new Set(PARTS), n: 1000, readSeconds: 2, postgres: true };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') {
      const parts = value(++i, a).split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (unknown.length > 0 || parts.length === 0) throw new Error(`--only takes some of ${PARTS.join(',')} (got ${argv[i]})\n${USAGE}`);
      args.only = new Set(parts as Part[]);
    } else if (a === '--n') {
      args.n = Number(value(++i, a));
      if (!Number.isInteger(args.n) || args.n < 1) throw new Error(`--n must be a whole number of at least 1 (got ${argv[i]})`);
    } else if (a === '--provider') args.provider = value(++i, a);
    else if (a === '--json') args.json = path.resolve(value(++i, a));
    else if (a === '--read-seconds') {
      args.readSeconds = Number(value(++i, a));
      if (!(args.readSeconds > 0)) throw new Error(`--read-seconds must be a positive number (got ${argv[i]})`);
    } else if (a === '--no-postgres') args.postgres = false;
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return args;
}

/** Runs of the no-change plans: few for N (each is long), more for 5 (each is short and noisy). */
const PLAN_RUNS_N = 3;
const PLAN_RUNS_SMALL = 5;
const SMALL = 5;
const STARTUP_RUNS = 15;
/** Interleaved autocannon runs per target and route: the median is reported. */
const READ_ROUNDS = 5;

/** Every figure measured, as written to `--json`. */
export interface BenchResults {
  plan?: { n: number; appregMs: number[]; baselineMs: number[]; small: number; smallAppregMs: number[]; smallBaselineMs: number[] };
  requests?: { n: number; total: number; byRoute: Record<string, number>; planMs: number; counter: string };
  apply?: { n: number; appregMs: number; baselineMs: number };
  startup?: StartupFigures;
  rss?: PeakRss & { n: number };
  service?: RouteReads[];
}

/** What goes wrong is recorded, and the other parts still run. */
interface Failure {
  part: string;
  error: string;
}

async function terraformParts(args: BenchArgs, provider: ProviderUnderTest, results: BenchResults): Promise<void> {
  const svc = await startBenchService(path.join(tempDir('service'), 'appreg.db'));
  const env = terraformEnv(provider, { endpoint: svc.url, token: svc.token });
  const app = new Workspace('appreg', args.n, env, svc.groupId);
  const data = new Workspace('terraform_data', args.n, env, svc.groupId);

  // Both applies always run: the plans need the state they leave.
  progress(`apply: ${args.n} terraform_data`);
  const applyData = await data.apply();
  progress(`apply: ${args.n} appreg_oauth_client (${(applyData.ms / 1000).toFixed(1)} s for terraform_data)`);
  const applyApp = await app.apply();
  progress(`apply: done in ${(applyApp.ms / 1000).toFixed(1)} s`);
  if (args.only.has('apply')) results.apply = { n: args.n, appregMs: applyApp.ms, baselineMs: applyData.ms };

  if (args.only.has('plan') || args.only.has('rss')) {
    // One plan through the counting proxy with the provider processes watched: untimed, so neither the extra hop nor
    // the polling touches the timed runs. It also warms the caches for them.
    const proxy = await startCountingProxy(svc.url);
    let watch: { stop(): PeakRss } | undefined;
    progress(`plan: ${args.n} clients through the counting proxy, provider memory watched`);
    const r = await app.plan({ env: { APPREG_ENDPOINT: proxy.url }, onStart: (pid) => (watch = watchDescendants(pid)) });
    const peak = watch!.stop();
    const counts = proxy.counts();
    await proxy.close();
    if (args.only.has('plan')) {
      results.requests = { n: args.n, ...counts, planMs: r.ms, counter: 'a counting HTTP proxy (node:http) between the provider and the service' };
    }
    if (args.only.has('rss')) results.rss = { n: args.n, ...peak };
  }

  if (args.only.has('plan')) {
    // Names carry the size, so the small configuration's clients live beside the large one's (unless they are the same).
    const same = args.n === SMALL;
    const smallApp = same ? app : new Workspace('appreg', SMALL, env, svc.groupId);
    const smallData = same ? data : new Workspace('terraform_data', SMALL, env, svc.groupId);
    if (!same) {
      await smallData.apply();
      await smallApp.apply();
    }
    await data.plan(); // warm-up of the baseline, as the proxied plan was for appreg
    const plan: NonNullable<BenchResults['plan']> = { n: args.n, appregMs: [], baselineMs: [], small: SMALL, smallAppregMs: [], smallBaselineMs: [] };
    // Interleaved, the order swapped each round, so drift in machine load hits both alike.
    for (let round = 0; round < PLAN_RUNS_N; round++) {
      for (const ws of round % 2 ? [app, data] : [data, app]) {
        const r = await ws.plan();
        (ws === app ? plan.appregMs : plan.baselineMs).push(r.ms);
        progress(`plan ${round + 1}/${PLAN_RUNS_N}: ${args.n} ${ws.kind} in ${(r.ms / 1000).toFixed(2)} s`);
      }
    }
    for (let round = 0; round < PLAN_RUNS_SMALL; round++) {
      for (const ws of round % 2 ? [smallApp, smallData] : [smallData, smallApp]) {
        const r = await ws.plan();
        (ws === smallApp ? plan.smallAppregMs : plan.smallBaselineMs).push(r.ms);
      }
    }
    progress(`plan: ${SMALL} resources, medians ${median(plan.smallAppregMs).toFixed(0)} ms appreg, ${median(plan.smallBaselineMs).toFixed(0)} ms terraform_data`);
    results.plan = plan;
  }
  await svc.stop();
}

/** The table rows of `r`, each with its goal and whether it is met. */
export function benchRows(r: BenchResults): Row[] {
  const out: Row[] = [];
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const timed = (work: string, appregMs: number, baselineMs: number, max: number): Row => ({
    work,
    appreg: s(appregMs),
    baseline: s(baselineMs),
    ratio: appregMs / baselineMs,
    goal: `<= ${max}`,
    met: appregMs / baselineMs <= max,
  });
  if (r.plan) {
    const p = r.plan;
    out.push(timed(`no-change plan, ${p.n} clients (median of ${p.appregMs.length})`, median(p.appregMs), median(p.baselineMs), 1.3));
    out.push(timed(`no-change plan, ${p.small} clients (median of ${p.smallAppregMs.length})`, median(p.smallAppregMs), median(p.smallBaselineMs), 1.3));
  }
  if (r.requests) {
    const limit = r.requests.n / 100 + 5;
    out.push({ work: `requests to the service, plan of ${r.requests.n}`, appreg: String(r.requests.total), baseline: '-', goal: `<= ${limit}`, met: r.requests.total <= limit });
  }
  if (r.apply) {
    out.push(timed(`apply creating ${r.apply.n} clients`, r.apply.appregMs, r.apply.baselineMs, 1.3));
  }
  if (r.startup) {
    const ratio = r.startup.providerMs / r.startup.baselineMs;
    out.push({ work: `provider start-up (median of ${r.startup.runs})`, appreg: `${r.startup.providerMs.toFixed(1)} ms`, baseline: `${r.startup.baselineMs.toFixed(1)} ms`, ratio, goal: '<= 1.2', met: ratio <= 1.2 });
  }
  if (r.rss) {
    out.push({ work: `provider peak RSS, plan of ${r.rss.n}`, appreg: `${(r.rss.maxKib / 1024).toFixed(1)} MiB`, baseline: '-', goal: '-' });
  }
  for (const route of r.service ?? []) {
    for (const db of ['sqlite', 'postgres'] as const) {
      const f = route[db];
      if (!f) continue;
      const ratio = f.rps / route.baseline.rps;
      out.push({ work: `${route.route}, ${db === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (req/s)`, appreg: f.rps.toFixed(0), baseline: route.baseline.rps.toFixed(0), ratio, goal: '>= 0.5', met: ratio >= 0.5 });
    }
  }
  return out;
}

/** The absolute numbers under the table. */
function details(r: BenchResults, provider: string | undefined): string[] {
  const lines: string[] = provider ? [`provider: ${provider}`] : [];
  const list = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
  if (r.plan) {
    lines.push(`plan ${r.plan.n}: appreg ${list(r.plan.appregMs)} s; terraform_data ${list(r.plan.baselineMs)} s`);
    lines.push(`plan ${r.plan.small}: appreg ${list(r.plan.smallAppregMs)} s; terraform_data ${list(r.plan.smallBaselineMs)} s`);
  }
  if (r.requests) {
    const routes = Object.entries(r.requests.byRoute).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
    lines.push(`requests, counted by ${r.requests.counter}: ${routes} (that plan took ${(r.requests.planMs / 1000).toFixed(2)} s)`);
  }
  if (r.apply) lines.push(`apply ${r.apply.n}: appreg ${(r.apply.appregMs / 1000).toFixed(2)} s; terraform_data ${(r.apply.baselineMs / 1000).toFixed(2)} s`);
  if (r.startup) {
    const st = r.startup;
    const cpu = st.providerCpuMs !== undefined && st.baselineCpuMs !== undefined && st.baselineCpuMs > 0
      ? `; CPU time ${st.providerCpuMs.toFixed(0)} ms vs ${st.baselineCpuMs.toFixed(0)} ms (ratio ${(st.providerCpuMs / st.baselineCpuMs).toFixed(2)}, steadier on a busy machine)`
      : '';
    lines.push(`start-up: spawn to handshake line vs node -e "" to exit, measureStartup() of scripts/bench-startup.ts${cpu}`);
  }
  if (r.rss) lines.push(`peak RSS: max VmHWM over ${r.rss.processes} provider process(es), polled every 50 ms; largest: ${r.rss.command}`);
  for (const route of r.service ?? []) {
    for (const [name, f] of [['baseline (bare fastify)', route.baseline], ['SQLite', route.sqlite], ['PostgreSQL', route.postgres]] as const) {
      if (!f) continue;
      lines.push(
        `${route.route} ${name}: ${f.rps.toFixed(0)} req/s (runs: ${(f.rounds ?? []).join(', ')}), p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, ${f.requests} requests` +
          (f.non2xx || f.errors ? `, ${f.non2xx} not 2xx, ${f.errors} errors` : ''),
      );
    }
  }
  return lines;
}

function terraformVersion(): string {
  try {
    return execFileSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' } }).split('\n')[0]!;
  } catch {
    return 'terraform not found';
  }
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2));
  cleanUpOnSignals();
  const started = Date.now();
  const results: BenchResults = {};
  const failures: Failure[] = [];
  const attempt = async (part: string, fn: () => Promise<void>): Promise<void> => {
    if (isStopping()) return;
    try {
      await fn();
    } catch (e) {
      if (isStopping()) return; // interrupted: the signal handler reports and exits
      failures.push({ part, error: e instanceof Error ? e.message : String(e) });
      progress(`${part} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${terraformVersion()}`;
  let provider: ProviderUnderTest | undefined;
  try {
    const needsProvider = ['plan', 'apply', 'rss', 'startup'].some((p) => args.only.has(p as Part));
    if (needsProvider) await attempt('provider build', async () => void (provider = await prepareProvider(args.provider)));
    // Start-up first, on a quiet machine: nothing else of the bench runs yet.
    if (provider && args.only.has('startup')) {
      await attempt('startup', async () => {
        progress(`startup: ${STARTUP_RUNS} runs each`);
        results.startup = await benchStartup(provider!.executable, STARTUP_RUNS);
      });
    }
    if (provider && ['plan', 'apply', 'rss'].some((p) => args.only.has(p as Part))) {
      await attempt([...args.only].filter((p) => p !== 'startup' && p !== 'service').join(','), () => terraformParts(args, provider!, results));
    }
    if (args.only.has('service')) {
      await attempt('service', async () => {
        results.service = await benchReads({ seconds: args.readSeconds, rounds: READ_ROUNDS, connections: 10, apps: 200, postgres: args.postgres });
      });
    }
  } finally {
    progress('cleaning up');
    await cleanUp();
  }
  const label = provider?.label;
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(formatReport({ title: `appreg bench, N = ${args.n}, ${seconds} s on ${machine}`, rows: benchRows(results), details: details(results, label), failures }));
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify({ n: args.n, machine, provider: label, seconds, results, rows: benchRows(results), failures }, null, 2)}\n`);
  }
  return failures.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
      void cleanUp().finally(() => process.exit(1));
    },
  );
}
