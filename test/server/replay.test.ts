/**
 * Replays of Idempotency-Key answers as a crash-safe provider relies on them:
 * a key derived from the intent is sent again by a new process and gets the
 * first answer (the secret included) with the app as it is now; a replay is
 * never of an app that is gone or of a secret rotated since; stored replays
 * need the service's own key to open; and two instances on one PostgreSQL
 * database make one app from one key. Runs on SQLite and PostgreSQL.
 */
import * as fs from 'node:fs';
import { hashCredential, open } from '../../src/server/crypto';
import { startService, type RunningService } from '../../src/server';
import { openDatabase } from '../../src/server/storage/database';
import { appBody, BACKENDS, call, startWorld, type World } from './harness';

describe.each(BACKENDS)('replays on %s', (backend) => {
  let w: World;
  let alpha: string;
  let admin: string;

  beforeAll(async () => {
    w = await startWorld(backend);
    alpha = w.acme.groups.alpha!;
    admin = w.acme.admin;
  });
  afterAll(async () => {
    await w?.stop();
  });

  const create = (body: Record<string, unknown>, key: string, token = admin) =>
    w.call('POST', `/v1/groups/${alpha}/apps`, { token, body, headers: { 'idempotency-key': key } });
  const rotate = (id: string, key: string) =>
    w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, headers: { 'idempotency-key': key } });

  it('a replay carries the first secret and the app as it is now (a change made since included)', async () => {
    const key = `intent-${Date.now()}-a`;
    const body = appBody({ scope: 'organization' });
    const first = await create(body, key);
    expect(first.status).toBe(201);
    const patched = await w.call('PATCH', `/v1/apps/${first.json.id}`, { token: admin, body: { description: 'changed since' } });
    expect(patched.status).toBe(200);
    const again = await create(body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual({ ...patched.json, client_secret: first.json.client_secret });
    expect(again.headers.get('etag')).toBe(`"${patched.json.version}"`);
  });

  it('a key whose app was deleted since makes a new app, never a replay of the dead one', async () => {
    const key = `intent-${Date.now()}-b`;
    const body = appBody();
    const first = await create(body, key);
    expect((await w.call('DELETE', `/v1/apps/${first.json.id}`, { token: admin })).status).toBe(204);
    const again = await create(body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.json.id).not.toBe(first.json.id);
    expect(again.json.client_secret).not.toBe(first.json.client_secret);
    // And the new answer is what the key replays from now on.
    const third = await create(body, key);
    expect(third.json.id).toBe(again.json.id);
    expect(third.json.client_secret).toBe(again.json.client_secret);
  });

  it('a rotation key replays its secret until the secret is rotated again; then it rotates anew', async () => {
    const app = await w.createApp(admin, alpha, appBody());
    const id = app.json.id as string;
    const r1 = await rotate(id, `rot-${id}-one`);
    expect(r1.status).toBe(200);
    // The whole app comes back: a caller needs no second read that could fail and lose the secret.
    expect(r1.json).toEqual(expect.objectContaining({ id, secret_version: 2, version: 2, client_secret: expect.any(String) }));
    const replayed = await rotate(id, `rot-${id}-one`);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.json.client_secret).toBe(r1.json.client_secret);
    expect(replayed.json.secret_version).toBe(2);

    const r2 = await rotate(id, `rot-${id}-two`);
    expect(r2.json.secret_version).toBe(3);
    // The first key's secret is dead now: the key rotates again instead of handing it out.
    const stale = await rotate(id, `rot-${id}-one`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('idempotent-replayed')).toBeNull();
    expect(stale.json.secret_version).toBe(4);
    expect([r1.json.client_secret, r2.json.client_secret]).not.toContain(stale.json.client_secret);
    const db = await openDatabase(w.db);
    try {
      const row = await db.get<{ secret_hash: string }>('SELECT secret_hash FROM apps WHERE id = ?', [id]);
      expect(row?.secret_hash).toBe(hashCredential(stale.json.client_secret));
    } finally {
      await db.close();
    }
  });

  it('stored replays need the caller\'s token to open: neither the Idempotency-Key nor a copy of the database opens them', async () => {
    const key = `intent-${Date.now()}-c`;
    const first = await create(appBody(), key);
    const secret = first.json.client_secret as string;
    const db = await openDatabase(w.db);
    try {
      const keys = await db.all<{ name: string; material: string }>('SELECT name, material FROM server_keys');
      expect(keys.map((k) => k.name)).toContain('idempotency-replay-v1');
      expect(Buffer.from(keys[0]!.material, 'base64')).toHaveLength(32);
      const rows = await db.all<{ key_hash: string; response: string; target_app_id: string }>(
        'SELECT key_hash, response, target_app_id FROM idempotency_keys WHERE target_app_id = ?', [first.json.id],
      );
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.response).not.toContain(secret);
      // A derived key is guessable from the app's row, and the service key is in the same database:
      // neither alone nor together do they open the record. With the caller's token they do.
      const serverKey = keys.find((k) => k.name === 'idempotency-replay-v1')!.material;
      expect(() => open(key, row.key_hash, row.response)).toThrow();
      expect(() => open(`${serverKey}\n${key}`, row.key_hash, row.response)).toThrow();
      expect(JSON.parse(open(`${serverKey}\n${admin}\n${key}`, row.key_hash, row.response)).body.client_secret).toBe(secret);
      // And the token is not stored either, only the hash it is looked up by.
      const tokenRows = await db.all<Record<string, unknown>>('SELECT * FROM tokens');
      expect(JSON.stringify(tokenRows)).not.toContain(admin);
    } finally {
      await db.close();
    }
    if (backend === 'sqlite') {
      for (const f of [w.db, `${w.db}-wal`]) {
        if (fs.existsSync(f)) expect(fs.readFileSync(f).includes(Buffer.from(secret))).toBe(false);
      }
    }
  });

  it('a group admin sees every consent to its own group\'s app (and only its own consents otherwise)', async () => {
    const beta = w.acme.groups.beta!;
    const org = await w.createApp(admin, alpha, appBody({ scope: 'organization' }));
    expect((await w.call('PUT', `/v1/groups/${beta}/consents/${org.json.id}`, { token: admin })).status).toBe(201);
    const owner = await w.call('GET', `/v1/consents?app_id=${org.json.id}`, { token: w.acme.groupAdmins.alpha });
    expect(owner.status).toBe(200);
    expect(owner.json.items.map((c: { group_id: string }) => c.group_id)).toEqual([beta]);
    const unfiltered = await w.call('GET', '/v1/consents', { token: w.acme.groupAdmins.alpha });
    expect(unfiltered.json.items.filter((c: { app_id: string }) => c.app_id === org.json.id)).toEqual([]);
  });
});

describe('two service instances on one PostgreSQL database', () => {
  let w: World;
  let second: RunningService;

  beforeAll(async () => {
    w = await startWorld('postgres');
    second = await startService({ db: w.db, host: '127.0.0.1', port: 0, rateLimit: 0, log: false });
  });
  afterAll(async () => {
    await second?.close();
    await w?.stop();
  });

  it('concurrent creates with one key split across both instances make one app, and every answer has its secret', async () => {
    const alpha = w.acme.groups.alpha!;
    const body = appBody();
    const key = `two-instances-${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(i % 2 === 0 ? w.url : second.url, 'POST', `/v1/groups/${alpha}/apps`, {
        token: w.acme.admin, body, headers: { 'idempotency-key': key },
      })),
    );
    for (const a of answers) {
      expect(a.status).toBe(201);
      expect(a.json.id).toBe(answers[0]!.json.id);
      expect(a.json.client_secret).toBe(answers[0]!.json.client_secret);
    }
    const listed = await call(second.url, 'GET', `/v1/apps?name=${encodeURIComponent(body.name as string)}`, { token: w.acme.admin });
    expect(listed.json.items).toHaveLength(1);
  });
});
