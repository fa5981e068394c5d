/**
 * Service reads per second with autocannon: `GET /v1/apps/{id}` and
 * `GET /v1/apps?limit=200` with a valid token, on SQLite and on PostgreSQL,
 * each service `appreg serve` in its own process with the rate limit off,
 * against a bare fastify answering the same bodies (baseline-server.ts),
 * also in its own process. autocannon runs here, in the bench's process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { onCleanup, progress, ROOT, spawnTracked, stopChild, tempDir } from './common';
import { createApps, startBenchService, type BenchService } from './service';
import type { BaselineBodies } from './baseline-server';

/** One autocannon run's figures. */
export interface ReadFigures {
  /** Successful (2xx) responses per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses that were not 2xx, and connection errors: should both be 0. */
  non2xx: number;
  errors: number;
  /** The rate of each round, when there were several. */
  rounds?: number[];
}

/** The reads of one route on every target. */
export interface RouteReads {
  route: string;
  sqlite: ReadFigures;
  postgres?: ReadFigures;
  baseline: ReadFigures;
}

/** Options of {@link benchReads}. */
export interface ReadOptions {
  /** Seconds per measured run. */
  seconds: number;
  /** Measured runs per target; the round with the median rate is reported. */
  rounds: number;
  /** Concurrent connections. */
  connections: number;
  /** Apps registered in each service before reading. */
  apps: number;
  /** Also on PostgreSQL (needs the PostgreSQL 15 binaries). */
  postgres: boolean;
}

/** The id-bearing paths the single reads cycle through, so not one row is read over and over. */
const ID_PATHS = 50;

async function measure(url: string, paths: string[], headers: Record<string, string>, seconds: number, connections: number): Promise<ReadFigures> {
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: paths.map((p) => ({ method: 'GET' as const, path: p, headers })),
  });
  const ok = r['2xx'];
  return {
    rps: ok / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/** The round with the median rate (its latencies with it), the requests and failures of all rounds summed. */
function medianRound(rounds: ReadFigures[]): ReadFigures {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const sum = (k: 'requests' | 'non2xx' | 'errors'): number => rounds.reduce((a, r) => a + r[k], 0);
  return { ...mid, requests: sum('requests'), non2xx: sum('non2xx'), errors: sum('errors'), rounds: rounds.map((r) => Math.round(r.rps)) };
}

/** Starts the bare fastify baseline serving `bodies`; returns its URL. */
async function startBaseline(bodies: BaselineBodies): Promise<string> {
  const file = path.join(tempDir('baseline'), 'bodies.json');
  fs.writeFileSync(file, JSON.stringify(bodies));
  const child = spawnTracked(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'bench', 'baseline-server.js'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => stopChild(child));
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the baseline server exited ${code} before listening`)));
  });
}

/** A service with `apps` registrations, and the paths to read them. */
async function readyService(db: string, apps: number): Promise<{ svc: BenchService; idPaths: string[] }> {
  const svc = await startBenchService(db);
  const ids = await createApps(svc, apps, 'Read');
  const step = Math.max(1, Math.floor(ids.length / ID_PATHS));
  const idPaths = ids.filter((_, i) => i % step === 0).slice(0, ID_PATHS).map((id) => `/v1/apps/${id}`);
  return { svc, idPaths };
}

/** Runs the reads; progress goes to stderr. */
export async function benchReads(opts: ReadOptions): Promise<RouteReads[]> {
  const dir = tempDir('reads');
  progress(`service reads: registering ${opts.apps} apps in a SQLite service`);
  const sqlite = await readyService(path.join(dir, 'appreg.db'), opts.apps);
  let postgres: { svc: BenchService; idPaths: string[] } | undefined;
  if (opts.postgres) {
    progress('service reads: starting a PostgreSQL 15 cluster');
    const pg = await import('../../test/support/postgres');
    onCleanup(() => pg.stopCluster());
    await pg.startCluster();
    progress(`service reads: registering ${opts.apps} apps in a PostgreSQL service`);
    postgres = await readyService(await pg.createTestDatabase(), opts.apps);
  }
  const listPath = `/v1/apps?limit=${Math.min(200, opts.apps)}`;
  const auth = (svc: BenchService): Record<string, string> => ({ authorization: `Bearer ${svc.token}` });

  // The baseline answers with exactly what the service answered.
  const get = async (p: string): Promise<unknown> => {
    const res = await fetch(`${sqlite.svc.url}${p}`, { headers: auth(sqlite.svc) });
    if (!res.ok) throw new Error(`GET ${p} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const baselineUrl = await startBaseline({ app: await get(sqlite.idPaths[0]!), page: await get(listPath) });

  const routes: Array<{ route: string; paths: (t: { idPaths: string[] }) => string[] }> = [
    { route: 'GET /v1/apps/{id}', paths: (t) => t.idPaths },
    { route: `GET ${listPath}`, paths: () => [listPath] },
  ];
  const out: RouteReads[] = [];
  for (const r of routes) {
    const targets: Array<[string, string, string[], Record<string, string>]> = [
      ['baseline', baselineUrl, r.paths(sqlite), {}],
      ['sqlite', sqlite.svc.url, r.paths(sqlite), auth(sqlite.svc)],
      ...(postgres ? [['postgres', postgres.svc.url, r.paths(postgres), auth(postgres.svc)] as [string, string, string[], Record<string, string>]] : []),
    ];
    const rounds: Record<string, ReadFigures[]> = {};
    progress(`service reads: ${r.route}, ${opts.rounds} rounds of ${opts.seconds} s per target with ${opts.connections} connections`);
    for (const [, url, paths, headers] of targets) await measure(url, paths, headers, 1, opts.connections); // warm-up
    // Rounds interleave the targets, so a burst of load from elsewhere on the machine does not fall on one alone.
    for (let round = 0; round < opts.rounds; round++) {
      for (const [name, url, paths, headers] of round % 2 ? [...targets].reverse() : targets) {
        (rounds[name] ??= []).push(await measure(url, paths, headers, opts.seconds, opts.connections));
      }
    }
    const pick = (name: string): ReadFigures | undefined => (rounds[name] ? medianRound(rounds[name]) : undefined);
    const pg = pick('postgres');
    out.push({ route: r.route, sqlite: pick('sqlite')!, baseline: pick('baseline')!, ...(pg ? { postgres: pg } : {}) });
  }
  await sqlite.svc.stop();
  await postgres?.svc.stop();
  return out;
}
