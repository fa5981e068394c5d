/**
 * A real registration service for tests: SQLite in a temporary folder (or a
 * given PostgreSQL URL), on 127.0.0.1 port 0, with a tenant, groups and
 * tokens of each role made through the operator commands.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { adminGroupAdd, adminInit, adminTokenCreate, startService, type RunningService } from '../../src/server';

/** A started service with a tenant ready to use. */
export interface TestService {
  service: RunningService;
  url: string;
  db: string;
  tenantId: string;
  /** Tokens by role; group_admin tokens by group name. */
  adminToken: string;
  auditorToken: string;
  groupAdminTokens: Record<string, string>;
  groups: Record<string, string>;
  /** Everything the service logged. */
  logs(): string;
  close(): Promise<void>;
}

/** Starts a service with tenant `acme` and the given groups (each with a group_admin token). */
export async function startTestService(opts: { groups?: string[]; db?: string; sso?: boolean; rateLimit?: number } = {}): Promise<TestService> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-svc-'));
  const db = opts.db ?? path.join(dir, 'appreg.db');
  const { tenant_id, token } = await adminInit(db, { tenant: 'acme', sso: opts.sso ?? false });
  const groups: Record<string, string> = {};
  const groupAdminTokens: Record<string, string> = {};
  for (const name of opts.groups ?? ['platform', 'billing', 'support']) {
    groups[name] = (await adminGroupAdd(db, { tenant: 'acme', name })).group_id;
    groupAdminTokens[name] = (await adminTokenCreate(db, { tenant: 'acme', role: 'group_admin', group: name })).token;
  }
  const auditorToken = (await adminTokenCreate(db, { tenant: 'acme', role: 'auditor' })).token;
  let logged = '';
  const log = new PassThrough();
  log.on('data', (d: Buffer) => (logged += d.toString()));
  const service = await startService({ db, host: '127.0.0.1', port: 0, log, ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}) });
  return {
    service, url: service.url, db, tenantId: tenant_id, adminToken: token, auditorToken, groupAdminTokens, groups,
    logs: () => logged,
    close: async () => {
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
