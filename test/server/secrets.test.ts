/**
 * Secrets and tokens are shown once and stored only as hashes: after
 * registering (with an Idempotency-Key, so a replay copy is kept) and
 * rotating, neither the plain client secrets nor the plain tokens appear in
 * the database (SQLite file and WAL bytes; every PostgreSQL table), the log,
 * or the audit log.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { appBody, BACKENDS, startWorld, type World } from './harness';

async function postgresDump(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    let out = '';
    for (const { table_name } of tables.rows) {
      const rows = await client.query(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      out += `${table_name}\n${rows.rows.map((r: { j: string }) => r.j).join('\n')}\n`;
    }
    return out;
  } finally {
    await client.end();
  }
}

function sqliteBytes(db: string): string {
  return ['', '-wal', '-shm', '-journal']
    .map((suffix) => `${db}${suffix}`)
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString('latin1'))
    .join('\n');
}

describe.each(BACKENDS)('secrets on %s', (backend) => {
  let w: World;
  const secrets: string[] = [];
  let tokens: string[] = [];
  let idempotencyKey: string;
  let auditText: string;
  let appId: string;

  beforeAll(async () => {
    w = await startWorld(backend);
    const alpha = w.acme.groups.alpha!;
    tokens = [w.acme.admin, w.acme.auditor, w.other.admin, w.other.auditor, ...Object.values(w.acme.groupAdmins), ...Object.values(w.other.groupAdmins)];
    idempotencyKey = `secret-test-${Date.now()}-key`;
    const createBody = appBody();
    const created = await w.call('POST', `/v1/groups/${alpha}/apps`, {
      token: w.acme.groupAdmins.alpha, body: createBody, headers: { 'idempotency-key': idempotencyKey },
    });
    expect(created.status).toBe(201);
    secrets.push(created.json.client_secret);
    appId = created.json.id;
    // A retry replays the first answer, secret included: the service kept a (sealed) copy.
    const replay = await w.call('POST', `/v1/groups/${alpha}/apps`, {
      token: w.acme.groupAdmins.alpha, body: createBody, headers: { 'idempotency-key': idempotencyKey },
    });
    expect(replay.status).toBe(201);
    expect(replay.json.client_secret).toBe(created.json.client_secret);
    const rotated = await w.call('POST', `/v1/apps/${created.json.id}/rotate-secret`, {
      token: w.acme.admin, headers: { 'idempotency-key': `${idempotencyKey}-rotate` },
    });
    expect(rotated.status).toBe(200);
    secrets.push(rotated.json.client_secret);
    const second = await w.createApp(w.acme.admin, alpha, appBody({ scope: 'organization' }));
    secrets.push(second.json.client_secret);
    const audit = await w.call('GET', '/v1/audit?limit=200', { token: w.acme.auditor });
    expect(audit.status).toBe(200);
    auditText = audit.text;
    expect(secrets.every((s) => typeof s === 'string' && s.length >= 32)).toBe(true);
  });
  afterAll(async () => {
    await w?.stop();
  });

  const needles = () => [...secrets, ...tokens];

  it('the database holds no plain secret or token', async () => {
    const dump = backend === 'sqlite' ? sqliteBytes(w.db) : await postgresDump(w.db);
    // The search looks at the right data: the app is there, and its current secret as a SHA-256.
    expect(dump).toContain(appId);
    expect(dump).toContain(createHash('sha256').update(secrets[1]!).digest('hex'));
    for (const n of needles()) expect(dump.includes(n)).toBe(false);
    // Nor the Idempotency-Key, from which the replay key is derived.
    expect(dump.includes(idempotencyKey)).toBe(false);
  });

  it('the log holds no secret, token, Authorization header or Idempotency-Key', () => {
    const log = w.log.text;
    expect(w.log.lines.length).toBeGreaterThan(5);
    for (const n of needles()) expect(log.includes(n)).toBe(false);
    expect(log).not.toMatch(/bearer/i);
    expect(log).not.toContain(idempotencyKey);
    for (const line of w.log.lines) expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String) }));
  });

  it('the audit log holds no secret or token', () => {
    expect(auditText).toContain('app.rotate_secret');
    for (const n of needles()) expect(auditText.includes(n)).toBe(false);
    expect(auditText).not.toContain('client_secret');
  });

  if (backend === 'sqlite') {
    it('after shutdown (WAL checkpointed into the file) the file still holds no secret or token', async () => {
      await w.service.close();
      const bytes = sqliteBytes(w.db);
      for (const n of needles()) expect(bytes.includes(n)).toBe(false);
    });
  }
});
