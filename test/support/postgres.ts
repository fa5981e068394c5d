/**
 * A throw-away PostgreSQL 15 cluster for the tests that need one.
 *
 * Nothing starts PostgreSQL up front: the first test file that asks for a
 * database ({@link createTestDatabase}) starts one cluster for the whole jest
 * run (as the `postgres` user when we are root, since initdb refuses to run as
 * root) on a free loopback port. Jest workers are separate processes, so they
 * agree through a folder the acceptance project's global setup creates
 * ({@link prepareSharedCluster}): a lock directory decides who starts the
 * cluster, the others wait for its URL, and the global teardown stops it if
 * anyone started it ({@link stopSharedCluster}). A run of unit tests alone
 * never starts PostgreSQL.
 *
 * Every test file gets databases of its own from {@link createTestDatabase},
 * so files running in parallel never see each other's rows.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Environment variable holding the admin URL of a running cluster (set by {@link startCluster}, or by an outer harness). */
export const PG_URL_ENV = 'APPREG_TEST_PG_URL';
const PG_DIR_ENV = 'APPREG_TEST_PG_DIR';
/** Environment variable naming the folder through which jest workers share one lazily started cluster. */
export const PG_SHARED_ENV = 'APPREG_TEST_PG_SHARED';

/** How long a test file waits for another worker to start the cluster. */
const START_WAIT_MS = 120_000;

function findBin(name: string): string {
  const candidates = [
    `/usr/lib/postgresql/15/bin/${name}`,
    ...((process.env.PATH ?? '').split(':').map((d) => path.join(d, name))),
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    throw new Error(
      `PostgreSQL binary '${name}' not found: the PostgreSQL tests need PostgreSQL 15 ` +
        `(Debian package postgresql-15). Install it; these tests are not skipped silently.`,
    );
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(bin: string, args: string[]): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' });
  } else {
    execFileSync(bin, args, { stdio: 'pipe' });
  }
}

/** A started cluster: its admin URL and the folder holding its data, socket and log. */
interface Cluster {
  url: string;
  dir: string;
}

/** Creates and starts a cluster; `onDir` learns its folder before anything can fail half-way. */
async function launchCluster(onDir: (dir: string) => void = () => undefined): Promise<Cluster> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-pg-'));
  onDir(dir);
  fs.chmodSync(dir, 0o700);
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  asPostgres(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  asPostgres(pgCtl, [
    '-D', data, '-w', '-l', path.join(dir, 'server.log'),
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    'start',
  ]);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir };
}

/** Stops the cluster in `dir` (if it runs) and removes its files. */
function removeCluster(dir: string): void {
  try {
    if (fs.existsSync(path.join(dir, 'data', 'postmaster.pid'))) {
      asPostgres(findBin('pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a cluster in this process and records its URL in the environment.
 * For scripts (the trials) that manage a cluster themselves; tests use
 * {@link createTestDatabase}, which starts the shared one when needed.
 */
export async function startCluster(): Promise<void> {
  if (process.env[PG_URL_ENV]) return; // an outer harness already gave us one
  if (process.env[PG_SHARED_ENV]) {
    // In a jest run: the run's shared cluster, which the global teardown stops ({@link stopCluster} leaves it alone).
    process.env[PG_URL_ENV] = await adminUrl();
    return;
  }
  const { url, dir } = await launchCluster();
  process.env[PG_URL_ENV] = url;
  process.env[PG_DIR_ENV] = dir;
}

/** Stops the cluster {@link startCluster} started and removes its files. */
export async function stopCluster(): Promise<void> {
  const dir = process.env[PG_DIR_ENV];
  if (!dir) return;
  try {
    removeCluster(dir);
  } finally {
    delete process.env[PG_DIR_ENV];
    delete process.env[PG_URL_ENV];
  }
}

/** Files of the shared folder. */
function sharedFiles(shared: string): { lock: string; dir: string; cluster: string; failure: string } {
  return {
    lock: path.join(shared, 'lock'), // a directory: mkdir is atomic, so exactly one worker starts the cluster
    dir: path.join(shared, 'cluster-dir'), // the cluster's folder, written before initdb so teardown can clean up a half start
    cluster: path.join(shared, 'cluster.json'), // { url, dir } once it accepts connections
    failure: path.join(shared, 'failure.txt'), // why starting failed, for the workers waiting
  };
}

/**
 * Jest global setup of the test files that may use PostgreSQL: makes the
 * folder through which the first one to need it starts the shared cluster.
 * Starts nothing.
 */
export function prepareSharedCluster(): void {
  if (process.env[PG_URL_ENV] || process.env[PG_SHARED_ENV]) return;
  process.env[PG_SHARED_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-pg-shared-'));
}

/** Jest global teardown: stops the shared cluster if a test started it, and removes the folder. */
export async function stopSharedCluster(): Promise<void> {
  const shared = process.env[PG_SHARED_ENV];
  if (!shared) return;
  try {
    const files = sharedFiles(shared);
    if (fs.existsSync(files.dir)) removeCluster(fs.readFileSync(files.dir, 'utf8'));
  } finally {
    fs.rmSync(shared, { recursive: true, force: true });
    delete process.env[PG_SHARED_ENV];
  }
}

let shared: Promise<string> | undefined;

/** The admin URL of the run's cluster, starting it if this is the first test file to need it. */
function adminUrl(): Promise<string> {
  const given = process.env[PG_URL_ENV];
  if (given) return Promise.resolve(given);
  shared ??= joinSharedCluster().catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

async function joinSharedCluster(): Promise<string> {
  const folder = process.env[PG_SHARED_ENV];
  if (!folder) {
    throw new Error(
      `PostgreSQL is not available here: neither ${PG_URL_ENV} nor ${PG_SHARED_ENV} is set. ` +
        `Test files that use PostgreSQL belong to the acceptance project (ACCEPTANCE in jest.config.js), ` +
        `whose global setup makes it available; run them with 'npm run test:acceptance' or 'npx jest <file>'.`,
    );
  }
  const files = sharedFiles(folder);
  let mine = false;
  try {
    fs.mkdirSync(files.lock);
    mine = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (mine) {
    try {
      const cluster = await launchCluster((dir) => fs.writeFileSync(files.dir, dir));
      fs.writeFileSync(`${files.cluster}.tmp`, JSON.stringify(cluster));
      fs.renameSync(`${files.cluster}.tmp`, files.cluster);
      return cluster.url;
    } catch (e) {
      const err = e as Error & { stderr?: Buffer };
      fs.writeFileSync(files.failure, `${err.message}${err.stderr ? `\n${err.stderr.toString()}` : ''}`);
      throw e;
    }
  }
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    if (fs.existsSync(files.cluster)) return (JSON.parse(fs.readFileSync(files.cluster, 'utf8')) as Cluster).url;
    if (fs.existsSync(files.failure)) throw new Error(`starting the test PostgreSQL cluster failed in another test file: ${fs.readFileSync(files.failure, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`another test file did not start the test PostgreSQL cluster within ${START_WAIT_MS / 1000} s (${folder})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates an empty database in the test cluster and returns its URL.
 * Each call gives a new database, so a test can start from nothing.
 * The first call of a jest run starts the cluster.
 */
export async function createTestDatabase(): Promise<string> {
  const admin = await adminUrl();
  const { Client } = await import('pg');
  const name = `appreg_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
