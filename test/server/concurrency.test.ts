/**
 * Races a client can cause: retried creates with one Idempotency-Key,
 * concurrent PATCHes with one ETag, concurrent creates of one name, and
 * pagination while others insert. Runs on SQLite and PostgreSQL.
 */
import { adminGroupAdd, adminTenantSet } from '../../src/server';
import { openDatabase, type Transaction } from '../../src/server/storage/database';
import { getTenant, insertApp, updateTenantSettings } from '../../src/server/storage/repo';
import { type Answer, appBody, appName, BACKENDS, expectProblem, startWorld, type World } from './harness';

const PARALLEL = 10;

describe.each(BACKENDS)('concurrency on %s', (backend) => {
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

  async function appsNamed(name: string): Promise<any[]> {
    const res = await w.call('GET', `/v1/apps?name=${encodeURIComponent(name)}`, { token: admin });
    expect(res.status).toBe(200);
    return res.json.items;
  }

  describe('Idempotency-Key', () => {
    it('concurrent creates with one key make exactly one app and all get the identical first answer, secret included', async () => {
      const body = appBody({ scope: 'organization' });
      const key = `create-${Date.now()}`;
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, () => w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body, headers: { 'idempotency-key': key } })),
      );
      for (const a of answers) expect(a.status).toBe(201);
      const first = answers[0]!;
      expect(first.json.client_secret).toEqual(expect.any(String));
      for (const a of answers) {
        expect(a.text).toBe(first.text);
        expect(a.headers.get('etag')).toBe(first.headers.get('etag'));
        expect(a.headers.get('location')).toBe(first.headers.get('location'));
      }
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(PARALLEL - 1);
      expect(await appsNamed(body.name as string)).toHaveLength(1);
      // A later retry still replays the same answer.
      const later = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body, headers: { 'idempotency-key': key } });
      expect(later.status).toBe(201);
      expect(later.text).toBe(first.text);
    });

    it('the same key with another body is 422 and changes nothing', async () => {
      const key = `mismatch-${Date.now()}`;
      const body = appBody();
      expect((await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body, headers: { 'idempotency-key': key } })).status).toBe(201);
      const other = appBody();
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: other, headers: { 'idempotency-key': key } });
      expect(expectProblem(res, 422).detail).toMatch(/Idempotency-Key/);
      expect(await appsNamed(other.name as string)).toHaveLength(0);
    });

    it('keys belong to one token: another token\'s identical key is a new request', async () => {
      const key = `shared-${Date.now()}`;
      const a = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody(), headers: { 'idempotency-key': key } });
      const b = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: w.acme.groupAdmins.alpha, body: appBody(), headers: { 'idempotency-key': key } });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.json.id).not.toBe(a.json.id);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
    });

    it('a failed request is not replayed: the retry after fixing the cause succeeds', async () => {
      const name = appName('Retry');
      const blocker = await w.createApp(admin, alpha, appBody({ name }));
      const key = `retry-${Date.now()}`;
      const body = appBody({ name });
      expectProblem(await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body, headers: { 'idempotency-key': key } }), 409);
      expect((await w.call('DELETE', `/v1/apps/${blocker.json.id}`, { token: admin })).status).toBe(204);
      const retry = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body, headers: { 'idempotency-key': key } });
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
    });

    it('an answer is replayed for 24 hours; after that the key starts afresh', async () => {
      const key = `expiry-${Date.now()}`;
      const first = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody(), headers: { 'idempotency-key': key } });
      expect(first.status).toBe(201);
      const db = await openDatabase(w.db);
      try {
        const rows = await db.all<{ created_at: string; expires_at: string }>('SELECT created_at, expires_at FROM idempotency_keys');
        const ttls = rows.map((r) => Date.parse(r.expires_at) - Date.parse(r.created_at));
        expect(ttls.every((t) => t === 24 * 60 * 60 * 1000)).toBe(true);
        // Age every stored answer past its 24 hours.
        await db.run('UPDATE idempotency_keys SET expires_at = ?', ['2000-01-01T00:00:00.000Z']);
      } finally {
        await db.close();
      }
      const other = appBody();
      const fresh = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: other, headers: { 'idempotency-key': key } });
      expect(fresh.status).toBe(201);
      expect(fresh.json.id).not.toBe(first.json.id);
      expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    });

    it('concurrent rotations with one key rotate once and all get the same new secret', async () => {
      const app = await w.createApp(admin, alpha, appBody());
      const key = `rotate-${Date.now()}`;
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, () => w.call('POST', `/v1/apps/${app.json.id}/rotate-secret`, { token: admin, headers: { 'idempotency-key': key } })),
      );
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.json).toEqual(answers[0]!.json);
      }
      expect(answers[0]!.json.secret_version).toBe(2);
      const read = await w.call('GET', `/v1/apps/${app.json.id}`, { token: admin });
      expect(read.json).toEqual(expect.objectContaining({ secret_version: 2, version: 2 }));
    });
  });

  it('concurrent PATCHes with the same If-Match: exactly one wins, the others get 412', async () => {
    const app = await w.createApp(admin, alpha, appBody());
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => w.call('PATCH', `/v1/apps/${app.json.id}`, {
        token: admin, headers: { 'if-match': '"1"' }, body: { description: `writer ${i}` },
      })),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a.status === 412)).toHaveLength(PARALLEL - 1);
    const read = await w.call('GET', `/v1/apps/${app.json.id}`, { token: admin });
    expect(read.json.version).toBe(2);
    expect(read.json.description).toBe(won[0]!.json.description);
  });

  it('concurrent creates of one name without a key: exactly one 201, the others 409', async () => {
    const body = appBody();
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, () => w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(PARALLEL - 1);
    expect(await appsNamed(body.name as string)).toHaveLength(1);
  });

  it('concurrent consent PUTs: one 201, the rest 200, one consent', async () => {
    const app = await w.createApp(admin, w.acme.groups.beta!, appBody({ scope: 'organization' }));
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, () => w.call('PUT', `/v1/groups/${alpha}/consents/${app.json.id}`, { token: admin })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(PARALLEL - 1);
    const list = await w.call('GET', `/v1/consents?app_id=${app.json.id}`, { token: admin });
    expect(list.json.items).toHaveLength(1);
  });

  it('a pagination walk while others insert and delete skips and repeats nothing', async () => {
    const group = (await adminGroupAdd(w.db, { tenant: 'acme', name: `paging ${backend}` })).group_id;
    const initial: string[] = [];
    for (let i = 0; i < 25; i++) initial.push((await w.createApp(admin, group, appBody())).json.id);
    const deleted = initial[20]!;

    const seen: string[] = [];
    let inserting = true;
    const inserted: string[] = [];
    // Writers run for the whole walk, concurrently with the page requests.
    const writer = (async () => {
      while (inserting) {
        const res = await w.call('POST', `/v1/groups/${group}/apps`, { token: admin, body: appBody() });
        if (res.status === 201) inserted.push(res.json.id);
      }
    })();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Answer = await w.call('GET', `/v1/apps?group_id=${group}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      expect(res.status).toBe(200);
      seen.push(...res.json.items.map((a: { id: string }) => a.id));
      cursor = res.json.next_cursor;
      pages += 1;
      if (pages === 2) expect((await w.call('DELETE', `/v1/apps/${deleted}`, { token: admin })).status).toBe(204);
      // Stop inserting after a while so that the walk ends.
      if (pages === 8) inserting = false;
    } while (cursor);
    inserting = false;
    await writer;

    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) if (id !== deleted) expect(seen).toContain(id);
    expect(seen).not.toContain(deleted);
    // In creation order: the initial apps first, in the order they were made.
    expect(seen.filter((id) => initial.includes(id))).toEqual(initial.filter((id) => id !== deleted));
    expect(inserted.length).toBeGreaterThan(0);
  });

  // SQLite runs one write transaction at a time (BEGIN IMMEDIATE), so there a
  // key is always drawn in commit order and nothing can be held open this way.
  const onPostgres = backend === 'postgres' ? it : it.skip;

  /**
   * Opens a write transaction of acme on a second connection, runs `work` in
   * it, and keeps it open until `commit` is called: a change that has
   * happened and is not yet visible.
   */
  async function holdWrite(work: (tx: Transaction) => Promise<void>): Promise<{ commit(): Promise<void> }> {
    const other = await openDatabase(w.db);
    let release = (): void => undefined;
    const released = new Promise<void>((r) => { release = r; });
    let ready = (): void => undefined;
    const isReady = new Promise<void>((r) => { ready = r; });
    const holding = other.transaction(async (tx) => {
      await tx.orderWrites(w.acme.id);
      await work(tx);
      ready();
      await released;
    });
    await Promise.race([isReady, holding]);
    return {
      async commit() {
        release();
        try {
          await holding;
        } finally {
          await other.close();
        }
      },
    };
  }

  onPostgres('a create that commits after an earlier open one never shows without it, so keyset walks cannot skip the earlier one (PostgreSQL only: SQLite serializes whole write transactions)', async () => {
    const group = (await adminGroupAdd(w.db, { tenant: 'acme', name: `held ${backend}` })).group_id;
    const template = (await w.createApp(admin, group, appBody())).json;
    const held = `app_held_${Date.now()}`;
    // The earlier create: its key is drawn, its transaction not yet committed.
    const earlier = await holdWrite(async (tx) => {
      const t = new Date().toISOString();
      await insertApp(tx, {
        id: held, tenant_id: w.acme.id, group_id: group, client_id: `${held}_client`, name: `Held ${Date.now()}`, description: null,
        callback_urls: template.callback_urls, scope: 'group', grant_types: ['authorization_code'], public_client: true, require_pkce: true,
        enabled: true, secret_version: 0, created_at: t, updated_at: t, version: 1,
      }, null);
    });
    // The list is taken the moment the later create answers.
    const snapshot = w.call('POST', `/v1/groups/${group}/apps`, { token: admin, body: appBody() }).then(async (created) => ({
      created,
      list: await w.call('GET', `/v1/apps?group_id=${group}&limit=200`, { token: admin }),
    }));
    await new Promise((r) => setTimeout(r, 300));
    await earlier.commit();
    const { created, list } = await snapshot;
    expect(created.status).toBe(201);
    expect(list.json.items.map((a: { id: string }) => a.id)).toEqual([template.id, held, created.json.id]);
  });

  onPostgres('appreg admin tenant set keeps a settings change that committed while it waited (PostgreSQL only: SQLite serializes whole write transactions)', async () => {
    const before = (await w.call('GET', '/v1/tenant/oauth-settings', { token: admin })).json;
    // A settings change through the API, made and not yet committed.
    const change = await holdWrite(async (tx) => {
      const t = (await getTenant(tx, w.acme.id, true))!;
      await updateTenantSettings(tx, { ...t, oauth_enabled: !t.oauth_enabled, settings_version: t.settings_version + 1, updated_at: new Date().toISOString() });
    });
    const set = adminTenantSet(w.db, { tenant: 'acme', sso: !before.sso_enabled });
    await new Promise((r) => setTimeout(r, 300));
    await change.commit();
    await set;
    const after = (await w.call('GET', '/v1/tenant/oauth-settings', { token: admin })).json;
    expect(after).toMatchObject({ oauth_enabled: !before.oauth_enabled, sso_enabled: !before.sso_enabled });
    // Put acme back as the other tests expect it.
    await adminTenantSet(w.db, { tenant: 'acme', sso: before.sso_enabled });
    await w.setOAuth(w.acme, before.oauth_enabled);
  });

  it('every list answers {items, next_cursor} and its cursor walks it completely', async () => {
    for (const pathname of ['/v1/groups', '/v1/apps', '/v1/consents', '/v1/audit', `/v1/browse?group_id=${alpha}`]) {
      const all = await w.call('GET', `${pathname}${pathname.includes('?') ? '&' : '?'}limit=200`, { token: admin });
      expect(Object.keys(all.json).sort()).toEqual(['items', 'next_cursor']);
      const walked: unknown[] = [];
      let cursor: string | null = null;
      do {
        const sep = pathname.includes('?') ? '&' : '?';
        const res: Answer = await w.call('GET', `${pathname}${sep}limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
        expect(res.json.items.length).toBeLessThanOrEqual(2);
        walked.push(...res.json.items);
        cursor = res.json.next_cursor;
      } while (cursor);
      expect(walked).toEqual(all.json.items);
    }
  });
});
