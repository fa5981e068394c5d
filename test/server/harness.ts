/**
 * Test harness for the registration service: a real service on 127.0.0.1
 * port 0, on SQLite (a temp file) or PostgreSQL (a fresh database of the
 * jest cluster), with two tenants, groups and a token of every role, and a
 * small HTTP helper that never throws on an error status.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { adminGroupAdd, adminInit, adminTokenCreate, type RunningService, startService } from '../../src/server';
import { createTestDatabase } from '../support/postgres';

/** The two storage back ends every contract test runs against. */
export type Backend = 'sqlite' | 'postgres';
/** For `describe.each`. */
export const BACKENDS: Backend[][] = [['sqlite'], ['postgres']];

/** A fresh, empty database of the back end: a temp SQLite file path or a postgres:// URL. */
export async function freshDatabase(backend: Backend): Promise<{ db: string; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-server-test-'));
  if (backend === 'sqlite') return { db: path.join(dir, 'appreg.db'), dir };
  return { db: await createTestDatabase(), dir };
}

/** A writable stream that keeps everything written to it. */
export class Capture extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  /** Everything written so far. */
  get text(): string {
    return this.chunks.join('');
  }
  /** The JSON lines written so far. */
  get lines(): Array<Record<string, unknown>> {
    return this.text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** An answer: status, headers, text and parsed JSON (undefined when not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Options of one request. */
export interface RequestOptions {
  token?: string | undefined;
  /** A value sent as JSON. */
  body?: unknown;
  /** Raw body text, sent as is (with content-type application/json unless headers say otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

/** Sends one request to `base`. */
export async function call(base: string, method: string, pathname: string, o: RequestOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + pathname, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A tenant with its groups and tokens. */
export interface TenantFixture {
  name: string;
  id: string;
  admin: string;
  auditor: string;
  groups: Record<string, string>;
  /** group_admin tokens by group name. */
  groupAdmins: Record<string, string>;
}

/** A running service with two tenants: `acme` (groups alpha, beta) and `other` (group gamma). */
export interface World {
  backend: Backend;
  db: string;
  dir: string;
  service: RunningService;
  url: string;
  log: Capture;
  acme: TenantFixture;
  other: TenantFixture;
  /** A request to the service. */
  call(method: string, pathname: string, o?: RequestOptions): Promise<Answer>;
  /** Creates an app as `token` in `groupId` (OAuth must be on); fails the test unless 201. */
  createApp(token: string, groupId: string, body: Record<string, unknown>): Promise<Answer>;
  /** Switches OAuth on or off for a tenant. */
  setOAuth(t: TenantFixture, on: boolean): Promise<void>;
  stop(): Promise<void>;
}

let nameCounter = 0;
/** A unique valid app name. */
export function appName(prefix = 'App'): string {
  nameCounter += 1;
  return `${prefix} ${process.pid} ${nameCounter}`;
}

async function tenantFixture(db: string, name: string, groupNames: string[], sso: boolean): Promise<TenantFixture> {
  const init = await adminInit(db, { tenant: name, sso });
  const groups: Record<string, string> = {};
  const groupAdmins: Record<string, string> = {};
  for (const g of groupNames) {
    groups[g] = (await adminGroupAdd(db, { tenant: name, name: g })).group_id;
    groupAdmins[g] = (await adminTokenCreate(db, { tenant: name, role: 'group_admin', group: g })).token;
  }
  const auditor = (await adminTokenCreate(db, { tenant: name, role: 'auditor' })).token;
  return { name, id: init.tenant_id, admin: init.token, auditor, groups, groupAdmins };
}

/** Starts a service on a fresh database of `backend`. */
export async function startWorld(backend: Backend, o: { rateLimit?: number; oauth?: boolean } = {}): Promise<World> {
  const { db, dir } = await freshDatabase(backend);
  const acme = await tenantFixture(db, 'acme', ['alpha', 'beta'], false);
  const other = await tenantFixture(db, 'other', ['gamma'], false);
  const log = new Capture();
  const service = await startService({ db, host: '127.0.0.1', port: 0, rateLimit: o.rateLimit ?? 0, log });
  const world: World = {
    backend,
    db,
    dir,
    service,
    url: service.url,
    log,
    acme,
    other,
    call: (method, pathname, opts) => call(service.url, method, pathname, opts),
    async createApp(token, groupId, body) {
      const res = await call(service.url, 'POST', `/v1/groups/${groupId}/apps`, { token, body });
      if (res.status !== 201) throw new Error(`create app: expected 201, got ${res.status}: ${res.text}`);
      return res;
    },
    async setOAuth(t, on) {
      const res = await call(service.url, 'PUT', '/v1/tenant/oauth-settings', { token: t.admin, body: { oauth_enabled: on } });
      if (res.status !== 200) throw new Error(`set OAuth: ${res.status} ${res.text}`);
    },
    async stop() {
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (o.oauth !== false) {
    await world.setOAuth(acme, true);
    await world.setOAuth(other, true);
  }
  return world;
}

/** A valid registration body; override any field. */
export function appBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: appName(), callback_urls: ['https://app.example.com/callback'], scope: 'group', ...over };
}

/** Expects a problem+json answer with `status`; returns the problem. */
export function expectProblem(res: Answer, status: number): { type: string; title: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> } {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.json).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) }));
  return res.json;
}

/** The paths of a problem's errors[]. */
export function errorPaths(res: Answer): string[] {
  return ((res.json?.errors ?? []) as Array<{ path: string }>).map((e) => e.path);
}
