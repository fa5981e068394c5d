/**
 * The real registration service for client tests: started in-process on
 * 127.0.0.1 and port 0, on a SQLite file of its own, with a tenant, two
 * groups and a token of each role.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient, type AppregClientOptions, type CreateAppInput } from '../../src/client';
import { adminGroupAdd, adminInit, adminTokenCreate, startService } from '../../src/server';

/** A running service and the names and tokens the tests need. */
export interface World {
  /** Base URL of the service. */
  url: string;
  /** SQLite file of the service. */
  db: string;
  tenant: string;
  tenantId: string;
  /** Token of the tenant security admin. */
  adminToken: string;
  /** Group A and a group_admin token of it. */
  groupA: string;
  groupAdminA: string;
  /** Group B and a group_admin token of it. */
  groupB: string;
  groupAdminB: string;
  /** An auditor token (read-only). */
  auditorToken: string;
  /** A client of `url` (or another endpoint) with tiny retry delays, closed by {@link stop}. */
  client(token: string, options?: Partial<AppregClientOptions>): AppregClient;
  /** Stops the service and removes its files. */
  stop(): Promise<void>;
}

/** Starts the service with a fresh database. */
export async function startWorld(options: { sso?: boolean; rateLimit?: number } = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-client-'));
  const db = path.join(dir, 'appreg.db');
  const tenant = 'acme';
  const init = await adminInit(db, { tenant, sso: options.sso ?? false });
  const groupA = (await adminGroupAdd(db, { tenant, name: 'alpha' })).group_id;
  const groupB = (await adminGroupAdd(db, { tenant, name: 'beta' })).group_id;
  const groupAdminA = (await adminTokenCreate(db, { tenant, role: 'group_admin', group: 'alpha' })).token;
  const groupAdminB = (await adminTokenCreate(db, { tenant, role: 'group_admin', group: 'beta' })).token;
  const auditorToken = (await adminTokenCreate(db, { tenant, role: 'auditor' })).token;
  const service = await startService({ db, host: '127.0.0.1', port: 0, rateLimit: options.rateLimit ?? 0, log: false });
  const clients: AppregClient[] = [];
  return {
    url: service.url,
    db,
    tenant,
    tenantId: init.tenant_id,
    adminToken: init.token,
    groupA,
    groupAdminA,
    groupB,
    groupAdminB,
    auditorToken,
    client(token, opts = {}) {
      const c = new AppregClient({
        endpoint: service.url,
        token,
        timeoutMs: 5000,
        ...opts,
        retry: { baseDelayMs: 1, maxDelayMs: 5, ...opts.retry },
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** A valid, unique app definition; override any field. */
export function appInput(overrides: Partial<CreateAppInput> = {}): CreateAppInput {
  n++;
  return {
    name: `App ${process.pid} ${n}`,
    callback_urls: [`https://app${n}.example.com/callback`],
    scope: 'group',
    ...overrides,
  };
}
