/**
 * Trial 4: plain secrets or tokens anywhere they must not be. The other
 * trials record every secret they see (Terraform state, create and rotate
 * answers, operator tokens) and hand their texts to the evidence as they
 * finish; the databases are searched here, while their service still runs
 * (so SQLite's -wal file still exists). Besides plain text, a SQLite
 * database is searched for secrets that its contents alone can open: the
 * stored create replays (see recoverFromCopy).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { open, sha256 } from '../../src/server/crypto';
import { intentKey } from '../../src/resources/intent';
import { type Evidence, Figures } from './common';

/** Searches a SQLite database: the main file, the -wal file, and the audit rows. */
export function searchSqlite(evidence: Evidence, label: string, file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-journal`]) {
    if (fs.existsSync(f)) evidence.searchFile('database file', `${label} ${f.slice(file.length) || 'main'}`, f);
  }
  if (!fs.existsSync(file)) return;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT * FROM audit_events ORDER BY seq').all();
    evidence.search('audit log', `${label} audit_events (${rows.length} rows)`, rows.map((r) => JSON.stringify(r)).join('\n'));
    recoverFromCopy(evidence, label, db);
  } finally {
    db.close();
  }
}

/**
 * What someone holding only a copy of the database can open. The provider
 * derives a create's Idempotency-Key from the create's input (all of it in
 * the apps row or the audit log), and the server key is in the same
 * database; the service also seals with the caller's bearer token, which the
 * database holds only as a hash, so this must open nothing. It tries every
 * material a copy of the database gives; each secret opened counts as a
 * secret in the database files.
 */
function recoverFromCopy(evidence: Evidence, label: string, db: Database.Database): void {
  const has = (t: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
  if (!has('server_keys') || !has('idempotency_keys')) return;
  const keys = (db.prepare('SELECT material FROM server_keys').all() as Array<{ material: string }>).map((k) => k.material);
  const tokens = (db.prepare('SELECT id FROM tokens').all() as Array<{ id: string }>).map((t) => t.id);
  const records = new Map((db.prepare('SELECT key_hash, response FROM idempotency_keys WHERE response IS NOT NULL').all() as Array<{ key_hash: string; response: string }>).map((r) => [r.key_hash, r.response]));
  if (records.size === 0) return;
  // The create inputs: every app as it is now, and as the audit log shows it was created.
  type Shown = { id?: string; group_id: string; name: string; description: string | null; callback_urls: string[]; scope: string; grant_types: string[]; public_client: boolean; require_pkce: boolean; enabled: boolean };
  const shown: Shown[] = [];
  for (const a of db.prepare('SELECT * FROM apps').all() as Array<Record<string, unknown>>) {
    shown.push({ ...(a as unknown as Shown), callback_urls: JSON.parse(String(a.callback_urls)) as string[], grant_types: JSON.parse(String(a.grant_types)) as string[], public_client: a.public_client === 1, require_pkce: a.require_pkce === 1, enabled: a.enabled === 1 });
  }
  for (const e of db.prepare("SELECT after_state FROM audit_events WHERE action = 'app.create'").all() as Array<{ after_state: string | null }>) {
    if (e.after_state) shown.push(JSON.parse(e.after_state) as Shown);
  }
  const hashes = new Map((db.prepare('SELECT id, secret_hash FROM apps').all() as Array<{ id: string; secret_hash: string | null }>).map((a) => [a.id, a.secret_hash]));
  const found = new Set<string>();
  let valid = 0;
  for (const a of shown) {
    if (a.public_client) continue;
    const input = {
      name: a.name,
      callback_urls: [...a.callback_urls].sort(),
      scope: a.scope,
      grant_types: [...a.grant_types].sort(),
      public_client: a.public_client,
      require_pkce: a.require_pkce,
      enabled: a.enabled,
    };
    const candidates = [a.description ? { ...input, description: a.description } : input, { ...input, description: a.description ?? '' }];
    for (const c of candidates) {
      const key = intentKey('create', { group_id: a.group_id, input: c });
      for (const token of tokens) {
        const keyHash = sha256(`${token}\n${key}`);
        const sealed = records.get(keyHash);
        if (sealed === undefined || found.has(keyHash)) continue;
        for (const material of [...keys.map((k) => `${k}\n${key}`), key]) {
          try {
            const body = (JSON.parse(open(material, keyHash, sealed)) as { body?: { id?: string; client_secret?: string } }).body;
            const secret = body?.client_secret;
            if (typeof secret === 'string') {
              found.add(keyHash);
              const current = body?.id !== undefined && hashes.get(body.id) === sha256(secret);
              if (current) valid++;
              evidence.leaks.push({
                kind: 'database file',
                label: `${label} idempotency_keys`,
                what: `${secret.slice(0, 6)}…${current ? ' (still valid)' : ' (rotated since)'}: the create replay of app ${JSON.stringify(a.name)} opens with a key derived from the app's row or audit entry and the server key, all in the same database`,
              });
              break;
            }
          } catch {
            // not this material
          }
        }
      }
    }
  }
  const opened = found.size;
  if (opened > 0) evidence.notes.push(`${label}: ${opened} client secret(s) (${valid} still valid) opened from a copy of the database alone: replays are sealed under the server key in server_keys and an Idempotency-Key derived from the create's input, which the apps row and the audit log hold`);
}

/** Searches a PostgreSQL database: every row of every table as text, and the audit rows on their own. */
export async function searchPostgres(evidence: Evidence, label: string, url: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const audit = await client.query('SELECT * FROM audit_events ORDER BY seq');
    evidence.search('audit log', `${label} audit_events (${audit.rowCount} rows)`, audit.rows.map((r) => JSON.stringify(r)).join('\n'));
    const tables = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    const parts: string[] = [];
    for (const t of tables.rows) {
      const rows = await client.query(`SELECT t::text AS row FROM "${t.tablename.replace(/"/g, '""')}" t`);
      parts.push(...rows.rows.map((r: { row: string }) => r.row));
    }
    evidence.search('database file', `${label} all tables`, parts.join('\n'));
  } finally {
    await client.end();
  }
}

/** Trial 4's figures from what the evidence found. */
export function leakFigures(evidence: Evidence): Figures {
  const f = new Figures('4 leaks');
  const count = (kinds: string[]) => evidence.leaks.filter((l) => kinds.includes(l.kind)).length;
  f.must('secrets in service logs', count(['service log']));
  f.must('secrets in Terraform logs and provider stderr', count(['terraform log', 'provider stderr']));
  f.must('secrets in plan and apply output', count(['terraform output']));
  f.must('secrets in audit log rows', count(['audit log']));
  f.must('secrets in database files', count(['database file']));
  f.info('secrets and tokens searched for', evidence.secrets.size);
  const mb = (k: string) => Math.round(((evidence.searched[k]?.bytes ?? 0) / 1e6) * 10) / 10;
  f.info('MB searched', Math.round(Object.keys(evidence.searched).reduce((a, k) => a + mb(k), 0) * 10) / 10,
    Object.entries(evidence.searched).map(([k, v]) => `${k}: ${v.items} items, ${mb(k)} MB`).join('; '));
  f.notes.push(...evidence.notes);
  for (const l of evidence.leaks.slice(0, 12)) f.notes.push(`${l.kind}: ${l.label}: ${l.what}`);
  return f;
}
