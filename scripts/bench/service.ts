/**
 * The registration service as users run it, `appreg serve` (bin/appreg), in
 * a child process with its rate limit off, on a database made ready with the
 * operator commands' programmatic API: tenant `bench` with OAuth on, group
 * `bench` and a group_admin token for it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { adminGroupAdd, adminInit, adminTokenCreate } from '../../src/server/admin';
import { onCleanup, progress, ROOT, spawnTracked, stopChild } from './common';

/** A running service, ready for the provider. */
export interface BenchService {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** The process id of `appreg serve` (of its node process: bin/appreg execs it). */
  pid: number;
  groupId: string;
  /** A group_admin token of the group: what a team's pipeline uses. */
  token: string;
  /** Stops the service (also done at clean-up). */
  stop(): Promise<void>;
}

/** How long `appreg serve` may take to say it listens. */
const LISTEN_TIMEOUT_MS = 30_000;

/** Prepares `db` (a SQLite path or a postgres:// URL) and starts `appreg serve` on it. */
export async function startBenchService(db: string): Promise<BenchService> {
  const { token: adminToken } = await adminInit(db, { tenant: 'bench' });
  const { group_id: groupId } = await adminGroupAdd(db, { tenant: 'bench', name: 'bench' });
  const { token } = await adminTokenCreate(db, { tenant: 'bench', role: 'group_admin', group: 'bench' });

  // The service logs a JSON line per request on stderr, written synchronously. Into a pipe this
  // busy process reads (it also runs autocannon), a full pipe would stall the service; a file is
  // what a deployment's log collector amounts to. Kept beside the database, so removed with it.
  const logFile = `${db.startsWith('postgres') ? path.join(os.tmpdir(), `appreg-bench-serve-${process.pid}-${Date.now()}`) : db}.log`;
  const logFd = fs.openSync(logFile, 'w', 0o600);
  const child = spawnTracked(
    path.join(ROOT, 'bin', 'appreg'),
    ['serve', '--db', db, '--host', '127.0.0.1', '--port', '0', '--rate-limit', '0'],
    { stdio: ['ignore', 'ignore', logFd], env: { ...process.env, APPREG_DB: '' } },
  );
  fs.closeSync(logFd);
  const stop = async (): Promise<void> => {
    await stopChild(child, 10_000);
    fs.rmSync(logFile, { force: true });
  };
  onCleanup(stop);
  const readLog = (): string => {
    try {
      return fs.readFileSync(logFile, 'utf8').slice(0, 64 * 1024);
    } catch {
      return '';
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    let exited = false;
    child.once('exit', (code) => {
      exited = true;
      reject(new Error(`appreg serve exited ${code} before listening:\n${readLog()}`));
    });
    const started = Date.now();
    const poll = (): void => {
      if (exited) return;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(readLog());
      if (m) return resolve(m[1]!);
      if (Date.now() - started > LISTEN_TIMEOUT_MS) return reject(new Error(`appreg serve did not listen within ${LISTEN_TIMEOUT_MS / 1000} s:\n${readLog()}`));
      setTimeout(poll, 25);
    };
    poll();
  });
  const res = await fetch(`${url}/v1/tenant/oauth-settings`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ oauth_enabled: true }),
  });
  if (!res.ok) throw new Error(`turning OAuth on failed: ${res.status} ${await res.text()}`);
  progress(`appreg serve on ${db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'} listens on ${url}`);
  return { url, pid: child.pid!, groupId, token, stop };
}

/** Registers `count` confidential clients through the HTTP API, returns their ids. */
export async function createApps(svc: BenchService, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${svc.url}/v1/groups/${svc.groupId}/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(appBody(prefix, i)),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 201 || !body.id) throw new Error(`creating app ${i} failed: ${res.status} ${JSON.stringify(body)}`);
    ids.push(body.id);
  }
  return ids;
}

/** The registration of bench app `i`: the same fields the Terraform configuration sets. */
export function appBody(prefix: string, i: number): { name: string; scope: string; callback_urls: string[] } {
  return { name: `${prefix} ${i}`, scope: 'group', callback_urls: [`https://app${i}.example.com/oauth/callback`] };
}
