/**
 * `appreg serve` as a child process, for the sign-in tests and anything else
 * that needs the service exactly as an operator runs it (the OpenID Connect
 * provider module cannot be loaded inside jest), plus helpers that prepare
 * its database: a tenant, groups, people, OAuth turned on, apps registered.
 *
 * Tests that use this are acceptance tests (bin/appreg runs dist/): list them
 * in jest.config.js's ACCEPTANCE.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { adminGroupAdd, adminInit, adminTokenCreate, adminUserAdd } from '../../src/server/admin';
import { APPREG_BIN, ensureCliBuilt, runAppreg } from './appreg-cli';

const ROOT = path.resolve(__dirname, '../..');

/** How long `appreg serve` may take to say it listens. */
const LISTEN_TIMEOUT_MS = 30_000;
/** How long a stop waits for the process to exit after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;

/** Options of {@link startServeProcess}. */
export interface ServeProcessOptions {
  /** SQLite file or postgres:// URL. */
  db: string;
  /**
   * `--issuer` (an origin, no path), or a function of the service's own
   * URL (`http://127.0.0.1:<port>`) for an issuer that must name the port,
   * e.g. `(u) => u.replace('127.0.0.1', 'localhost')`. A function makes the
   * port be chosen before the start (a free port, briefly bound and
   * released) instead of `--port 0`, since the issuer must be known when the
   * process starts.
   */
  issuer?: string | ((serviceUrl: string) => string);
  /** A fixed port instead of 0 (a free one). */
  port?: number;
  /** More flags, e.g. ['--rate-limit', '0']. */
  extraArgs?: string[];
  /**
   * Extra environment, merged over this process's, from which APPREG_DB and
   * APPREG_ISSUER are removed first, so the flags are what counts.
   */
  env?: NodeJS.ProcessEnv;
}

/** A running `appreg serve`. */
export interface ServeProcess {
  /** `http://127.0.0.1:<port>`, from its "listening" log line. */
  url: string;
  /** The issuer the tests should discover: `--issuer` when given, else {@link url}. */
  issuer: string;
  /** Everything it wrote (JSON log lines on stderr, and stdout), so far. */
  logs(): string;
  /** The exit code and signal once it has exited, else undefined. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then waits for it to exit (SIGKILL after 15 s). Resolves at once when it has already exited. */
  stop(): Promise<void>;
  /** The child process (for signals or pids in a test). */
  proc: ChildProcessWithoutNullStreams;
}

/** Children still running, killed should the test process exit without stopping them. */
const running = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

/** A free TCP port on 127.0.0.1 (bound and released; another process could take it meanwhile, rarely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bin/appreg serve --db DB --host 127.0.0.1 --port 0 [--issuer URL]`
 * (building dist/ first if a source is newer) and waits for its
 * "appreg serve listening on" line, as the existing CLI tests do. Rejects
 * with the process's output when it exits first or does not listen within 30 s.
 */
export async function startServeProcess(opts: ServeProcessOptions): Promise<ServeProcess> {
  await ensureCliBuilt();
  let port = opts.port ?? 0;
  let issuer: string | undefined;
  if (typeof opts.issuer === 'function') {
    if (port === 0) port = await freePort();
    issuer = opts.issuer(`http://127.0.0.1:${port}`);
  } else {
    issuer = opts.issuer;
  }
  const args = ['serve', '--db', opts.db, '--host', '127.0.0.1', '--port', String(port), ...(issuer !== undefined ? ['--issuer', issuer] : []), ...(opts.extraArgs ?? [])];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.APPREG_DB;
  delete env.APPREG_ISSUER;
  const proc = spawn(APPREG_BIN, args, { cwd: ROOT, env: { ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin.end();
  running.add(proc);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
    });
  }
  let log = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitedPromise = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      running.delete(proc);
      resolve();
    }),
  );
  proc.stdout.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      proc.kill('SIGKILL');
      reject(new Error(`appreg serve did not say it listens within ${LISTEN_TIMEOUT_MS / 1000} s (${args.join(' ')}):\n${log}`));
    }, LISTEN_TIMEOUT_MS);
    const onData = (): void => {
      const m = /appreg serve listening on (http:\/\/[^\s"]+)/.exec(log);
      if (m) {
        cleanup();
        resolve(m[1]!);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`appreg serve exited (${code ?? signal}) before listening (${args.join(' ')}):\n${log}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.stderr.off('data', onData);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
    };
    // Registered after the log collectors above, so `log` already holds the chunk when this runs.
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });

  const stop = async (): Promise<void> => {
    if (exit) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exitedPromise;
    clearTimeout(killer);
  };
  return { url, issuer: issuer ?? url, logs: () => log, exited: () => exit, stop, proc };
}

// ---- preparing a database --------------------------------------------------------

/** A tenant made by {@link prepareTenant}. */
export interface PreparedTenant {
  db: string;
  /** The temporary folder holding the SQLite file (when this made one); remove it with {@link removePrepared}. */
  dir?: string;
  tenant: string;
  tenantId: string;
  /** A tenant_security_admin token. */
  adminToken: string;
  /** Group ids by name. */
  groups: Record<string, string>;
  /** group_admin tokens by group name. */
  groupAdminTokens: Record<string, string>;
}

/**
 * A tenant with groups (each with a group_admin token), made in-process by
 * the operator functions on `db` (default: a new SQLite file in a temporary
 * folder). The service need not run; start it afterwards on the same db.
 */
export async function prepareTenant(opts: { db?: string; tenant?: string; groups?: string[]; sso?: boolean } = {}): Promise<PreparedTenant> {
  const dir = opts.db === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-oidc-')) : undefined;
  const db = opts.db ?? path.join(dir!, 'appreg.db');
  const tenant = opts.tenant ?? 'acme';
  const { tenant_id, token } = await adminInit(db, { tenant, sso: opts.sso ?? false });
  const groups: Record<string, string> = {};
  const groupAdminTokens: Record<string, string> = {};
  for (const name of opts.groups ?? ['platform']) {
    groups[name] = (await adminGroupAdd(db, { tenant, name })).group_id;
    groupAdminTokens[name] = (await adminTokenCreate(db, { tenant, role: 'group_admin', group: name })).token;
  }
  return { db, ...(dir !== undefined ? { dir } : {}), tenant, tenantId: tenant_id, adminToken: token, groups, groupAdminTokens };
}

/** Removes the temporary folder {@link prepareTenant} made (nothing for a given db). */
export function removePrepared(t: Pick<PreparedTenant, 'dir'>): void {
  if (t.dir !== undefined) fs.rmSync(t.dir, { recursive: true, force: true });
}

/** A person to add: group NAMES for membership and administration. */
export interface PersonSpec {
  tenant: string;
  username: string;
  password: string;
  member?: string[];
  adminOf?: string[];
  securityAdmin?: boolean;
}

/** Adds a person in-process (adminUserAdd); resolves with the user id. */
export async function addPerson(db: string, p: PersonSpec): Promise<string> {
  const r = await adminUserAdd(db, {
    tenant: p.tenant,
    username: p.username,
    password: p.password,
    ...(p.member ? { member: p.member } : {}),
    ...(p.adminOf ? { adminOf: p.adminOf } : {}),
    ...(p.securityAdmin ? { securityAdmin: true } : {}),
  });
  return r.user_id;
}

/**
 * Adds a person as an operator does: `bin/appreg admin user add ...` with
 * the password on standard input. Resolves with the user id; rejects with
 * the command's stderr (which never holds the password).
 */
export async function addPersonWithCli(db: string, p: PersonSpec): Promise<string> {
  await ensureCliBuilt();
  const args = ['admin', 'user', 'add', '--db', db, '--tenant', p.tenant, '--username', p.username];
  for (const g of p.member ?? []) args.push('--member', g);
  for (const g of p.adminOf ?? []) args.push('--admin-of', g);
  if (p.securityAdmin) args.push('--security-admin');
  const run = await runAppreg(args, { input: `${p.password}\n` });
  if (run.code !== 0) throw new Error(`appreg ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { user_id: string }).user_id;
}

/** An HTTP answer of the service. */
export interface ServiceAnswer {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

/** One JSON request to the service with a Bearer token. */
export async function serviceCall(url: string, method: string, pathname: string, token: string | undefined, body?: unknown): Promise<ServiceAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${pathname}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Turns OAuth on for the tenant of `adminToken` (PUT /v1/tenant/oauth-settings); throws unless 200. */
export async function enableOAuth(url: string, adminToken: string): Promise<void> {
  const r = await serviceCall(url, 'PUT', '/v1/tenant/oauth-settings', adminToken, { oauth_enabled: true });
  if (r.status !== 200) throw new Error(`enabling OAuth failed: ${r.status} ${r.text}`);
}

/** What registering an app returns: the app, with its client secret (confidential apps only, shown this once). */
export interface RegisteredApp {
  id: string;
  client_id: string;
  client_secret?: string;
  group_id: string;
  name: string;
  callback_urls: string[];
  scope: 'group' | 'organization';
  grant_types: string[];
  public_client: boolean;
  require_pkce: boolean;
  enabled: boolean;
  [k: string]: unknown;
}

/** The body of POST /v1/groups/{group_id}/apps. */
export interface AppRegistration {
  name: string;
  callback_urls: string[];
  scope?: 'group' | 'organization';
  /** 'authorization_code' and/or 'device_code'. */
  grant_types?: string[];
  public_client?: boolean;
  require_pkce?: boolean;
  enabled?: boolean;
  description?: string;
}

/** Registers an app in a group through the HTTP API (scope defaults to "group"); throws unless 201. */
export async function registerApp(url: string, token: string, groupId: string, app: AppRegistration): Promise<RegisteredApp> {
  const r = await serviceCall(url, 'POST', `/v1/groups/${encodeURIComponent(groupId)}/apps`, token, { scope: 'group', ...app });
  if (r.status !== 201) throw new Error(`registering app ${JSON.stringify(app.name)} failed: ${r.status} ${r.text}`);
  return r.json as RegisteredApp;
}
