/**
 * A throw-away PostgreSQL 15 cluster for the test run.
 *
 * The cluster is started once per jest run by the global setup (as the
 * `postgres` user when we are root, since initdb refuses to run as root) on a
 * free loopback port, and every test file gets a database of its own from
 * {@link createTestDatabase}, so files running in parallel never see each
 * other's rows.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Environment variable through which the global setup hands the admin URL to test workers. */
export const PG_URL_ENV = 'APPREG_TEST_PG_URL';
const PG_DIR_ENV = 'APPREG_TEST_PG_DIR';

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

/** Starts the cluster and records its URL in the environment; used by the jest global setup. */
export async function startCluster(): Promise<void> {
  if (process.env[PG_URL_ENV]) return; // an outer harness already gave us one
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-pg-'));
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
  process.env[PG_URL_ENV] = `postgres://postgres@127.0.0.1:${port}/postgres`;
  process.env[PG_DIR_ENV] = dir;
}

/** Stops the cluster and removes its files; used by the jest global teardown. */
export async function stopCluster(): Promise<void> {
  const dir = process.env[PG_DIR_ENV];
  if (!dir) return;
  try {
    asPostgres(findBin('pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env[PG_DIR_ENV];
    delete process.env[PG_URL_ENV];
  }
}

/**
 * Creates an empty database in the test cluster and returns its URL.
 * Each call gives a new database, so a test can start from nothing.
 */
export async function createTestDatabase(): Promise<string> {
  const admin = process.env[PG_URL_ENV];
  if (!admin) {
    throw new Error(`${PG_URL_ENV} is not set: run the tests through jest, whose global setup starts PostgreSQL`);
  }
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
