/**
 * The registration service contract of DOMAIN.md over real HTTP, once on
 * SQLite and once on PostgreSQL: registration, reads, changes, deletes,
 * secrets, ETags, tenant settings, consents, browse, audit, health and
 * openapi.json.
 */
import { appBody, appName, BACKENDS, errorPaths, expectProblem, startWorld, type World } from './harness';

const APP_FIELDS = [
  'id', 'client_id', 'group_id', 'name', 'description', 'callback_urls', 'scope', 'grant_types',
  'public_client', 'require_pkce', 'enabled', 'secret_version', 'created_at', 'updated_at', 'version',
];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe.each(BACKENDS)('registration service on %s', (backend) => {
  let w: World;
  let alpha: string;
  let beta: string;
  let admin: string;

  beforeAll(async () => {
    w = await startWorld(backend);
    alpha = w.acme.groups.alpha!;
    beta = w.acme.groups.beta!;
    admin = w.acme.admin;
  });
  afterAll(async () => {
    await w?.stop();
  });

  describe('meta routes', () => {
    it('GET /healthz answers ok without a token', async () => {
      const res = await w.call('GET', '/healthz');
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ status: 'ok' });
    });

    it('GET /openapi.json describes every route of the contract, without a token', async () => {
      const res = await w.call('GET', '/openapi.json');
      expect(res.status).toBe(200);
      expect(res.json.openapi).toBe('3.1.0');
      const paths = res.json.paths as Record<string, Record<string, unknown>>;
      const routes = Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      expect(routes.sort()).toEqual([
        'DELETE /v1/apps/{id}',
        'DELETE /v1/groups/{group_id}/consents/{app_id}',
        'GET /healthz',
        'GET /openapi.json',
        'GET /v1/apps',
        'GET /v1/apps/{id}',
        'GET /v1/audit',
        'GET /v1/browse',
        'GET /v1/consents',
        'GET /v1/groups',
        'GET /v1/groups/{group_id}/consents/{app_id}',
        'GET /v1/me',
        'GET /v1/tenant/oauth-settings',
        'PATCH /v1/apps/{id}',
        'POST /v1/apps/{id}/rotate-secret',
        'POST /v1/groups/{group_id}/apps',
        'PUT /v1/groups/{group_id}/consents/{app_id}',
        'PUT /v1/tenant/oauth-settings',
      ].sort());
      const create = (paths['/v1/groups/{group_id}/apps'] as Record<string, any>).post;
      const bodySchema = create.requestBody.content['application/json'].schema;
      expect(Object.keys(bodySchema.properties).sort()).toEqual(
        ['callback_urls', 'description', 'enabled', 'grant_types', 'name', 'public_client', 'require_pkce', 'scope'],
      );
      expect(bodySchema.additionalProperties).toBe(false);
      expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '403', '404', '409', '422', '429']));
      const appSchema = create.responses['201'].content['application/json'].schema;
      expect(Object.keys(appSchema.properties)).toEqual([...APP_FIELDS, 'client_secret']);
    });

    it('an unknown route is a 404 problem', async () => {
      const res = await w.call('GET', '/v2/nothing', { token: admin });
      expectProblem(res, 404);
    });
  });

  describe('tenant OAuth settings', () => {
    it('a new tenant starts with OAuth off, and registering then is 409', async () => {
      const t = w.other;
      await w.setOAuth(t, false);
      const get = await w.call('GET', '/v1/tenant/oauth-settings', { token: t.admin });
      expect(get.json).toEqual({ tenant_id: t.id, oauth_enabled: false, sso_enabled: false, device_grant_allowed: true });
      const res = await w.call('POST', `/v1/groups/${t.groups.gamma}/apps`, { token: t.admin, body: appBody() });
      expect(expectProblem(res, 409).detail).toMatch(/OAuth is switched off/);
      await w.setOAuth(t, true);
      const again = await w.call('POST', `/v1/groups/${t.groups.gamma}/apps`, { token: t.admin, body: appBody() });
      expect(again.status).toBe(201);
    });

    it('PUT takes only oauth_enabled, honours If-Match and answers with an ETag', async () => {
      const before = await w.call('GET', '/v1/tenant/oauth-settings', { token: admin });
      const tag = before.headers.get('etag')!;
      expect(tag).toMatch(/^"\d+"$/);
      const off = await w.call('PUT', '/v1/tenant/oauth-settings', { token: admin, body: { oauth_enabled: false }, headers: { 'if-match': tag } });
      expect(off.status).toBe(200);
      expect(off.json.oauth_enabled).toBe(false);
      expect(off.headers.get('etag')).not.toBe(tag);
      const stale = await w.call('PUT', '/v1/tenant/oauth-settings', { token: admin, body: { oauth_enabled: true }, headers: { 'if-match': tag } });
      expectProblem(stale, 412);
      const on = await w.call('PUT', '/v1/tenant/oauth-settings', {
        token: admin, body: { oauth_enabled: true }, headers: { 'if-match': off.headers.get('etag')! },
      });
      expect(on.status).toBe(200);
      const readOnly = await w.call('PUT', '/v1/tenant/oauth-settings', { token: admin, body: { oauth_enabled: true, sso_enabled: true, x: 1 } });
      expect(errorPaths(expectProblem(readOnly, 422) && readOnly).sort()).toEqual(['sso_enabled', 'x']);
      const wrongType = await w.call('PUT', '/v1/tenant/oauth-settings', { token: admin, body: { oauth_enabled: 'yes' } });
      expect(errorPaths(wrongType)).toEqual(['oauth_enabled']);
      expectProblem(wrongType, 422);
    });
  });

  describe('register', () => {
    it('answers 201 with exactly the app fields, the secret once, ETag and Location', async () => {
      const name = appName('Created');
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, {
        token: admin,
        body: { name, callback_urls: ['https://a.example/cb', 'http://localhost:8080/cb'], scope: 'organization', description: 'the app' },
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.json)).toEqual([...APP_FIELDS, 'client_secret']);
      expect(res.json).toEqual(expect.objectContaining({
        group_id: alpha,
        name,
        description: 'the app',
        callback_urls: ['https://a.example/cb', 'http://localhost:8080/cb'],
        scope: 'organization',
        grant_types: ['authorization_code'],
        public_client: false,
        require_pkce: false,
        enabled: true,
        secret_version: 1,
        version: 1,
      }));
      expect(res.json.id).toMatch(/^app_[0-9a-z]+$/);
      expect(res.json.client_id).not.toEqual(res.json.id);
      expect(res.json.created_at).toMatch(RFC3339_UTC);
      expect(res.json.client_secret).toEqual(expect.any(String));
      expect(res.json.client_secret.length).toBeGreaterThanOrEqual(32);
      expect(res.headers.get('etag')).toBe('"1"');
      expect(res.headers.get('location')).toBe(`/v1/apps/${res.json.id}`);

      const read = await w.call('GET', res.headers.get('location')!, { token: admin });
      expect(read.status).toBe(200);
      expect(Object.keys(read.json)).toEqual(APP_FIELDS);
      expect(read.text).not.toContain(res.json.client_secret);
      expect(read.headers.get('etag')).toBe('"1"');
      const list = await w.call('GET', `/v1/apps?group_id=${alpha}`, { token: admin });
      expect(list.text).not.toContain(res.json.client_secret);
      expect(list.text).not.toContain('client_secret');
    });

    it('a public client has no secret, requires PKCE by default, and refuses require_pkce false', async () => {
      const res = await w.createApp(admin, alpha, appBody({ public_client: true }));
      expect(res.json.public_client).toBe(true);
      expect(res.json.require_pkce).toBe(true);
      expect(res.json.secret_version).toBe(0);
      expect(res.json).not.toHaveProperty('client_secret');
      const bad = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ public_client: true, require_pkce: false }) });
      expect(errorPaths(bad)).toEqual(['require_pkce']);
      expectProblem(bad, 422);
      const rotate = await w.call('POST', `/v1/apps/${res.json.id}/rotate-secret`, { token: admin });
      expect(expectProblem(rotate, 409).detail).toMatch(/public client/);
    });

    it('a confidential client may require PKCE, and may be created disabled', async () => {
      const res = await w.createApp(admin, alpha, appBody({ require_pkce: true, enabled: false, grant_types: ['authorization_code', 'device_code'] }));
      expect(res.json).toEqual(expect.objectContaining({ require_pkce: true, enabled: false, grant_types: ['authorization_code', 'device_code'] }));
    });

    it('names are unique per group (409), but the same name may exist in another group', async () => {
      const name = appName('Unique');
      await w.createApp(admin, alpha, appBody({ name }));
      const dup = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ name }) });
      expect(expectProblem(dup, 409).detail).toContain(name);
      const elsewhere = await w.call('POST', `/v1/groups/${beta}/apps`, { token: admin, body: appBody({ name }) });
      expect(elsewhere.status).toBe(201);
    });

    it('the device grant is refused while the tenant uses SSO (422), and allowed again without SSO', async () => {
      const { adminTenantSet } = await import('../../src/server');
      await adminTenantSet(w.db, { tenant: 'acme', sso: true });
      try {
        const settings = await w.call('GET', '/v1/tenant/oauth-settings', { token: admin });
        expect(settings.json).toEqual(expect.objectContaining({ sso_enabled: true, device_grant_allowed: false }));
        const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ grant_types: ['device_code'] }) });
        const problem = expectProblem(res, 422);
        expect(problem.errors).toEqual([{ path: 'grant_types', message: expect.stringMatching(/single sign-on/) }]);
        const fine = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ grant_types: ['authorization_code'] }) });
        expect(fine.status).toBe(201);
        const patch = await w.call('PATCH', `/v1/apps/${fine.json.id}`, { token: admin, body: { grant_types: ['device_code'] } });
        expect(errorPaths(patch)).toEqual(['grant_types']);
      } finally {
        await adminTenantSet(w.db, { tenant: 'acme', sso: false });
      }
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ grant_types: ['device_code'] }) });
      expect(res.status).toBe(201);
    });
  });

  describe('validation: every problem in one 422, one errors[] entry per bad field', () => {
    const post = (body: unknown) => w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body });

    it.each([
      ['empty name', { name: '' }, 'name'],
      ['name with punctuation', { name: 'my-app' }, 'name'],
      ['name with two spaces', { name: 'my  app' }, 'name'],
      ['name with a leading space', { name: ' app' }, 'name'],
      ['name too long', { name: 'a'.repeat(101) }, 'name'],
      ['name with NUL', { name: 'a\u0000b' }, 'name'],
      ['description too long', { description: 'd'.repeat(1001) }, 'description'],
      ['no callback URLs', { callback_urls: [] }, 'callback_urls'],
      ['61 callback URLs', { callback_urls: Array.from({ length: 61 }, (_, i) => `https://a.example/${i}`) }, 'callback_urls'],
      ['relative callback URL', { callback_urls: ['/cb'] }, 'callback_urls[0]'],
      ['http to a public host', { callback_urls: ['https://ok.example/cb', 'http://a.example/cb'] }, 'callback_urls[1]'],
      ['fragment', { callback_urls: ['https://a.example/cb#x'] }, 'callback_urls[0]'],
      ['empty fragment', { callback_urls: ['https://a.example/cb#'] }, 'callback_urls[0]'],
      ['user info', { callback_urls: ['https://u:p@a.example/cb'] }, 'callback_urls[0]'],
      ['URL too long', { callback_urls: [`https://a.example/${'x'.repeat(2048)}`] }, 'callback_urls[0]'],
      ['duplicate URL', { callback_urls: ['https://a.example/cb', 'https://a.example/cb'] }, 'callback_urls[1]'],
      ['unknown scope', { scope: 'tenant' }, 'scope'],
      ['unknown grant type', { grant_types: ['implicit'] }, 'grant_types[0]'],
      ['repeated grant type', { grant_types: ['authorization_code', 'authorization_code'] }, 'grant_types[1]'],
      ['no grant types', { grant_types: [] }, 'grant_types'],
      ['name of the wrong type', { name: 42 }, 'name'],
      ['callback_urls not a list', { callback_urls: 'https://a.example/cb' }, 'callback_urls'],
      ['a callback URL of the wrong type', { callback_urls: ['https://a.example/cb', 7] }, 'callback_urls[1]'],
      ['enabled as a string', { enabled: 'true' }, 'enabled'],
      ['public_client as a number', { public_client: 1 }, 'public_client'],
      ['unknown field', { colour: 'blue' }, 'colour'],
      ['read-only field', { client_id: 'mine' }, 'client_id'],
    ])('%s → 422 at the field', async (_label, over, path) => {
      const res = await post(appBody(over));
      expectProblem(res, 422);
      expect(errorPaths(res)).toEqual([path]);
      expect(res.json.errors[0].message).toEqual(expect.any(String));
    });

    it('loopback http callback URLs are accepted', async () => {
      const res = await post(appBody({ callback_urls: ['http://localhost/cb', 'http://127.0.0.1:9000/cb', 'http://[::1]/cb'] }));
      expect(res.status).toBe(201);
    });

    it('60 callback URLs and names with ? and ! are accepted', async () => {
      const res = await post(appBody({
        name: `Really ${Date.now()}?! Yes`,
        callback_urls: Array.from({ length: 60 }, (_, i) => `https://a.example/${i}`),
      }));
      expect(res.status).toBe(201);
    });

    it('reports every bad field of one request at once, each at its own path', async () => {
      const res = await post({
        name: 'bad/name',
        callback_urls: ['https://ok.example/cb', 'ftp://a.example', 'https://ok.example/cb', 5],
        scope: 'nope',
        grant_types: ['authorization_code', 'password'],
        public_client: true,
        require_pkce: false,
        extra: true,
      });
      expectProblem(res, 422);
      // In the order of the documented fields, unknown ones last.
      expect(errorPaths(res)).toEqual(
        ['name', 'callback_urls[1]', 'callback_urls[2]', 'callback_urls[3]', 'scope', 'grant_types[1]', 'require_pkce', 'extra'],
      );
      expect(new Set(errorPaths(res)).size).toBe(errorPaths(res).length);
    });

    it('a missing required field is named', async () => {
      const res = await post({ name: appName() });
      expect(errorPaths(res).sort()).toEqual(['callback_urls', 'scope']);
      expect(res.json.errors.map((e: { message: string }) => e.message)).toEqual(['is required', 'is required']);
    });

    it('a body that is not an object is 422, and no body at all is 422', async () => {
      expectProblem(await post([1, 2]), 422);
      expectProblem(await post('text'), 422);
      expectProblem(await post(null), 422);
      expectProblem(await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin }), 422);
    });
  });

  describe('bad input never causes a 500', () => {
    it('malformed JSON is 400', async () => {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, raw: '{"name": "x",' });
      expect(expectProblem(res, 400).detail).toMatch(/not valid JSON/);
    });

    it('a __proto__ key is refused with 400, not merged into anything', async () => {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, raw: '{"__proto__": {"admin": true}, "name": "x"}' });
      expectProblem(res, 400);
    });

    it('a body over the limit is 413', async () => {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, {
        token: admin,
        raw: JSON.stringify(appBody({ description: 'x'.repeat(300 * 1024) })),
      });
      expectProblem(res, 413);
    });

    it('a body that is not JSON is 415', async () => {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, raw: 'name=x', headers: { 'content-type': 'text/plain' } });
      expectProblem(res, 415);
    });

    it('an id far longer than any issued is 404', async () => {
      expectProblem(await w.call('GET', `/v1/apps/${'x'.repeat(5000)}`, { token: admin }), 404);
    });

    it.each([
      ['GET', '/v1/apps/app_doesnotexist00000000000000'],
      ['GET', '/v1/apps/nonsense'],
      ['GET', "/v1/apps/app_1'%20OR%201=1"],
      ['GET', '/v1/apps/%E0%A4%A'],
      ['GET', '/v1/apps/a%00b'],
      ['PATCH', '/v1/apps/app_zzzzzzzzzzzzzzzzzzzzzzzzzz'],
      ['DELETE', '/v1/apps/..%2F..%2Fetc'],
      ['POST', '/v1/apps/nope/rotate-secret'],
      ['POST', '/v1/groups/grp_nope/apps'],
      ['POST', '/v1/groups/%FF/apps'],
      ['PUT', '/v1/groups/grp_nope/consents/app_nope'],
      ['GET', '/v1/groups/grp_nope/consents/app_nope'],
      ['DELETE', '/v1/groups/grp_nope/consents/app_nope'],
    ])('%s %s → 404', async (method, pathname) => {
      const res = await w.call(method, pathname, { token: admin, ...(method === 'PATCH' ? { body: { enabled: true } } : {}) });
      expectProblem(res, 404);
    });

    it.each([
      ['/v1/apps?limit=0', 'limit'],
      ['/v1/apps?limit=201', 'limit'],
      ['/v1/apps?limit=abc', 'limit'],
      ['/v1/apps?limit=1&limit=2', 'limit'],
      ['/v1/apps?cursor=garbage', 'cursor'],
      ['/v1/apps?scope=everything', 'scope'],
      ['/v1/apps?colour=red', 'colour'],
      ['/v1/audit?cursor=eyJrIjoiYXBwcyIsImEiOjF9', 'cursor'],
    ])('GET %s → 422 naming %s', async (pathname, path) => {
      const res = await w.call('GET', pathname, { token: admin });
      expectProblem(res, 422);
      expect(errorPaths(res)).toEqual([path]);
    });

    it('a filter naming a group that does not exist is 404', async () => {
      expectProblem(await w.call('GET', '/v1/apps?group_id=grp_nope', { token: admin }), 404);
      expectProblem(await w.call('GET', `/v1/apps?group_id=${w.other.groups.gamma}`, { token: admin }), 404);
    });

    it('a filter value with a NUL character is 422, not a 500 from the database', async () => {
      const res = await w.call('GET', '/v1/apps?name=a%00b', { token: admin });
      expectProblem(res, 422);
      expect(errorPaths(res)).toEqual(['name']);
    });

    it('a deeply nested body is 422, with or without an Idempotency-Key', async () => {
      const deep = `{"name": "x", "callback_urls": ["https://a.example/cb"], "scope": "group", "nested": ${'['.repeat(60000)}${']'.repeat(60000)}}`;
      expectProblem(await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, raw: deep }), 422);
      expectProblem(await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, raw: deep, headers: { 'idempotency-key': 'deep-1' } }), 422);
    });

    it('a malformed Idempotency-Key is 400', async () => {
      const res = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody(), headers: { 'idempotency-key': 'x'.repeat(300) } });
      expectProblem(res, 400);
    });
  });

  describe('read, change, delete', () => {
    it('PATCH changes the mutable fields, bumps version and ETag, and keeps the rest', async () => {
      const created = await w.createApp(admin, alpha, appBody({ scope: 'organization' }));
      const id = created.json.id;
      const name = appName('Renamed');
      const res = await w.call('PATCH', `/v1/apps/${id}`, {
        token: admin,
        headers: { 'if-match': '"1"' },
        body: { name, description: 'now described', callback_urls: ['https://b.example/cb'], grant_types: ['device_code'], require_pkce: true, enabled: false },
      });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        ...created.json,
        client_secret: undefined,
        name,
        description: 'now described',
        callback_urls: ['https://b.example/cb'],
        grant_types: ['device_code'],
        require_pkce: true,
        enabled: false,
        version: 2,
        updated_at: expect.stringMatching(RFC3339_UTC),
      });
      expect(res.headers.get('etag')).toBe('"2"');
      const read = await w.call('GET', `/v1/apps/${id}`, { token: admin });
      expect(read.json).toEqual(res.json);
      const cleared = await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { description: null } });
      expect(cleared.json.description).toBeNull();
      expect(cleared.json.version).toBe(3);
    });

    it('a PATCH that changes nothing keeps the version', async () => {
      const created = await w.createApp(admin, alpha, appBody());
      const res = await w.call('PATCH', `/v1/apps/${created.json.id}`, { token: admin, body: { enabled: true, name: created.json.name } });
      expect(res.status).toBe(200);
      expect(res.json.version).toBe(1);
    });

    it('a stale If-Match is 412 on PATCH, DELETE and rotate, and the app is unchanged', async () => {
      const created = await w.createApp(admin, alpha, appBody());
      const id = created.json.id;
      expect((await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { enabled: false } })).json.version).toBe(2);
      expectProblem(await w.call('PATCH', `/v1/apps/${id}`, { token: admin, headers: { 'if-match': '"1"' }, body: { enabled: true } }), 412);
      expectProblem(await w.call('DELETE', `/v1/apps/${id}`, { token: admin, headers: { 'if-match': '"1"' } }), 412);
      expectProblem(await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, headers: { 'if-match': '"1"' } }), 412);
      const read = await w.call('GET', `/v1/apps/${id}`, { token: admin });
      expect(read.json).toEqual(expect.objectContaining({ enabled: false, version: 2, secret_version: 1 }));
      expect((await w.call('PATCH', `/v1/apps/${id}`, { token: admin, headers: { 'if-match': '"2"' }, body: { enabled: true } })).status).toBe(200);
      expect((await w.call('PATCH', `/v1/apps/${id}`, { token: admin, headers: { 'if-match': '*' }, body: { enabled: false } })).status).toBe(200);
    });

    it.each(['scope', 'public_client', 'group_id'])('PATCH of %s is 422 "cannot be changed; create a new registration"', async (field) => {
      const created = await w.createApp(admin, alpha, appBody());
      const value = { scope: 'organization', public_client: true, group_id: beta }[field];
      const res = await w.call('PATCH', `/v1/apps/${created.json.id}`, { token: admin, body: { [field]: value, name: 'bad-name' } });
      const problem = expectProblem(res, 422);
      expect(problem.errors).toEqual(expect.arrayContaining([
        { path: field, message: 'cannot be changed; create a new registration' },
        { path: 'name', message: expect.any(String) },
      ]));
      expect((await w.call('GET', `/v1/apps/${created.json.id}`, { token: admin })).json).toEqual(
        expect.objectContaining({ scope: 'group', public_client: false, group_id: alpha, version: 1 }),
      );
    });

    it('PATCH validates like create, and a rename onto a taken name is 409', async () => {
      const a = await w.createApp(admin, alpha, appBody());
      const b = await w.createApp(admin, alpha, appBody());
      const bad = await w.call('PATCH', `/v1/apps/${a.json.id}`, {
        token: admin,
        body: { callback_urls: ['https://a.example/x', 'http://evil.example/'], require_pkce: 'yes', unknown: 1 },
      });
      expectProblem(bad, 422);
      expect(errorPaths(bad).sort()).toEqual(['callback_urls[1]', 'require_pkce', 'unknown']);
      const taken = await w.call('PATCH', `/v1/apps/${a.json.id}`, { token: admin, body: { name: b.json.name } });
      expectProblem(taken, 409);
      const publicApp = await w.createApp(admin, alpha, appBody({ public_client: true }));
      const pkceOff = await w.call('PATCH', `/v1/apps/${publicApp.json.id}`, { token: admin, body: { require_pkce: false } });
      expect(errorPaths(pkceOff)).toEqual(['require_pkce']);
    });

    it('rotate-secret issues a new secret once, bumps secret_version and version', async () => {
      const created = await w.createApp(admin, alpha, appBody());
      const id = created.json.id;
      const res = await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, headers: { 'if-match': '"1"' } });
      expect(res.status).toBe(200);
      // The app after the rotation, with the new secret: no second read is needed to learn the new version.
      expect(res.json).toEqual(expect.objectContaining({ id, secret_version: 2, version: 2, client_secret: expect.any(String) }));
      expect(res.json.secret_version).toBe(2);
      expect(res.json.client_secret).not.toEqual(created.json.client_secret);
      expect(res.headers.get('etag')).toBe('"2"');
      const read = await w.call('GET', `/v1/apps/${id}`, { token: admin });
      expect(read.json).toEqual(expect.objectContaining({ secret_version: 2, version: 2 }));
      expect(read.text).not.toContain(res.json.client_secret);
      const withBody = await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, body: {} });
      expect(withBody.json.secret_version).toBe(3);
      const badBody = await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, body: { secret: 'mine' } });
      expect(errorPaths(badBody)).toEqual(['secret']);
    });

    it('DELETE answers 204, the app is gone (404), and its name is free again', async () => {
      const created = await w.createApp(admin, alpha, appBody());
      const res = await w.call('DELETE', `/v1/apps/${created.json.id}`, { token: admin, headers: { 'if-match': '"1"' } });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expectProblem(await w.call('GET', `/v1/apps/${created.json.id}`, { token: admin }), 404);
      expectProblem(await w.call('DELETE', `/v1/apps/${created.json.id}`, { token: admin }), 404);
      const again = await w.call('POST', `/v1/groups/${alpha}/apps`, { token: admin, body: appBody({ name: created.json.name }) });
      expect(again.status).toBe(201);
      expect(again.json.id).not.toBe(created.json.id);
    });

    it('the apps list filters by group_id, scope and name', async () => {
      const name = appName('Filtered');
      const org = await w.createApp(admin, beta, appBody({ name, scope: 'organization' }));
      await w.createApp(admin, beta, appBody({ scope: 'group' }));
      const byName = await w.call('GET', `/v1/apps?name=${encodeURIComponent(name)}`, { token: admin });
      expect(byName.json.items.map((a: { id: string }) => a.id)).toEqual([org.json.id]);
      const byScope = await w.call('GET', `/v1/apps?group_id=${beta}&scope=organization&limit=200`, { token: admin });
      expect(byScope.json.items.length).toBeGreaterThan(0);
      expect(byScope.json.items.every((a: { scope: string; group_id: string }) => a.scope === 'organization' && a.group_id === beta)).toBe(true);
    });
  });

  describe('consents and browse', () => {
    it('PUT is 201 new then 200 existing; GET reads it; DELETE removes it', async () => {
      const app = await w.createApp(admin, beta, appBody({ scope: 'organization' }));
      const url = `/v1/groups/${alpha}/consents/${app.json.id}`;
      const first = await w.call('PUT', url, { token: w.acme.groupAdmins.alpha });
      expect(first.status).toBe(201);
      expect(first.json).toEqual({ id: `${alpha}/${app.json.id}`, group_id: alpha, app_id: app.json.id, created_at: expect.stringMatching(RFC3339_UTC) });
      const tag = first.headers.get('etag')!;
      const second = await w.call('PUT', url, { token: w.acme.groupAdmins.alpha, body: {} });
      expect(second.status).toBe(200);
      expect(second.json).toEqual(first.json);
      const read = await w.call('GET', url, { token: w.acme.groupAdmins.alpha });
      expect(read.json).toEqual(first.json);
      expectProblem(await w.call('DELETE', url, { token: w.acme.groupAdmins.alpha, headers: { 'if-match': '"999999"' } }), 412);
      expect((await w.call('DELETE', url, { token: w.acme.groupAdmins.alpha, headers: { 'if-match': tag } })).status).toBe(204);
      expectProblem(await w.call('GET', url, { token: w.acme.groupAdmins.alpha }), 404);
      expectProblem(await w.call('PUT', url, { token: w.acme.groupAdmins.alpha, headers: { 'if-match': tag } }), 412);
    });

    it('consent is only to an organization-scoped app of another group (422 at app_id)', async () => {
      const groupScoped = await w.createApp(admin, beta, appBody({ scope: 'group' }));
      const own = await w.createApp(admin, alpha, appBody({ scope: 'organization' }));
      const res1 = await w.call('PUT', `/v1/groups/${alpha}/consents/${groupScoped.json.id}`, { token: admin });
      expect(errorPaths(res1)).toEqual(['app_id']);
      expectProblem(res1, 422);
      const res2 = await w.call('PUT', `/v1/groups/${alpha}/consents/${own.json.id}`, { token: admin });
      expect(errorPaths(res2)).toEqual(['app_id']);
      expectProblem(res2, 422);
      const withBody = await w.call('PUT', `/v1/groups/${alpha}/consents/${groupScoped.json.id}`, { token: admin, body: { note: 1 } });
      expect(withBody.status).toBe(422);
    });

    it('browse lists organization-scoped apps of other groups with consented, never own or group-scoped ones', async () => {
      const name = appName('Browsable');
      const org = await w.createApp(admin, beta, appBody({ name, scope: 'organization' }));
      const hidden = await w.createApp(admin, beta, appBody({ scope: 'group' }));
      const own = await w.createApp(admin, alpha, appBody({ scope: 'organization' }));
      const ga = w.acme.groupAdmins.alpha!;
      const all = async () => {
        const items: Array<{ id: string; consented: boolean }> = [];
        let cursor: string | null = null;
        do {
          const res = await w.call('GET', `/v1/browse?limit=50${cursor ? `&cursor=${cursor}` : ''}`, { token: ga });
          expect(res.status).toBe(200);
          items.push(...res.json.items);
          cursor = res.json.next_cursor;
        } while (cursor);
        return items;
      };
      let items = await all();
      const ids = items.map((i) => i.id);
      expect(ids).toContain(org.json.id);
      expect(ids).not.toContain(hidden.json.id);
      expect(ids).not.toContain(own.json.id);
      expect(items.find((i) => i.id === org.json.id)!.consented).toBe(false);
      await w.call('PUT', `/v1/groups/${alpha}/consents/${org.json.id}`, { token: ga });
      items = await all();
      expect(items.find((i) => i.id === org.json.id)).toEqual(expect.objectContaining({ consented: true, name, group_id: beta }));
      expect(items.find((i) => i.id === org.json.id)).not.toHaveProperty('client_secret');
      const byName = await w.call('GET', `/v1/browse?name=${encodeURIComponent(name)}`, { token: ga });
      expect(byName.json.items.map((i: { id: string }) => i.id)).toEqual([org.json.id]);
      // Seen from beta, its own app is not in the list.
      const fromBeta = await w.call('GET', `/v1/browse?group_id=${beta}&name=${encodeURIComponent(name)}`, { token: admin });
      expect(fromBeta.json.items).toEqual([]);
      const noGroup = await w.call('GET', '/v1/browse', { token: admin });
      expect(errorPaths(noGroup)).toEqual(['group_id']);
    });

    it('deleting an app deletes its consents', async () => {
      const app = await w.createApp(admin, beta, appBody({ scope: 'organization' }));
      await w.call('PUT', `/v1/groups/${alpha}/consents/${app.json.id}`, { token: admin });
      const listed = await w.call('GET', `/v1/consents?app_id=${app.json.id}`, { token: admin });
      expect(listed.json.items).toHaveLength(1);
      expect((await w.call('DELETE', `/v1/apps/${app.json.id}`, { token: admin })).status).toBe(204);
      expectProblem(await w.call('GET', `/v1/groups/${alpha}/consents/${app.json.id}`, { token: admin }), 404);
      expect((await w.call('GET', `/v1/consents?app_id=${app.json.id}`, { token: admin })).json.items).toEqual([]);
      const audit = await allAudit(w, admin);
      const events = audit.filter((e) => e.target_id === `${alpha}/${app.json.id}` || e.target_id === app.json.id).map((e) => e.action);
      expect(events).toEqual(['app.create', 'consent.create', 'consent.delete', 'app.delete']);
    });
  });

  describe('audit log', () => {
    it('records who, what, when, before and after of every change', async () => {
      const created = await w.createApp(w.acme.groupAdmins.alpha!, alpha, appBody());
      const id = created.json.id;
      await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { enabled: false } });
      await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin });
      await w.call('DELETE', `/v1/apps/${id}`, { token: admin });
      const events = (await allAudit(w, w.acme.auditor)).filter((e) => e.target_id === id);
      expect(events.map((e) => e.action)).toEqual(['app.create', 'app.update', 'app.rotate_secret', 'app.delete']);
      const [create, update, rotate, del] = events;
      expect(create.actor).toEqual({ type: 'token', token_id: expect.stringMatching(/^tok_/), role: 'group_admin', group_id: alpha });
      expect(create.at).toMatch(RFC3339_UTC);
      expect(create.before).toBeNull();
      expect(create.after).toEqual(expect.objectContaining({ id, enabled: true, version: 1 }));
      expect(update.actor).toEqual(expect.objectContaining({ role: 'tenant_security_admin', group_id: null }));
      expect(update.before).toEqual(expect.objectContaining({ enabled: true, version: 1 }));
      expect(update.after).toEqual(expect.objectContaining({ enabled: false, version: 2 }));
      expect(rotate.before).toEqual({ secret_version: 1, version: 2 });
      expect(rotate.after).toEqual({ secret_version: 2, version: 3 });
      expect(del.after).toBeNull();
      expect(JSON.stringify(events)).not.toContain(created.json.client_secret);
      expect(JSON.stringify(events)).not.toContain('client_secret');
    });

    it('records the operator commands and settings changes', async () => {
      const events = await allAudit(w, admin);
      const actions = events.map((e) => e.action);
      expect(actions.slice(0, 2)).toEqual(['tenant.create', 'token.create']);
      expect(actions).toEqual(expect.arrayContaining(['group.create', 'tenant.settings.update']));
      expect(events[0].actor).toEqual({ type: 'operator', command: 'admin init' });
      expect(JSON.stringify(events)).not.toContain(admin);
    });
  });
});

/** Every audit event of the caller's tenant, walking all pages. */
async function allAudit(w: World, token: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await w.call('GET', `/v1/audit?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status).toBe(200);
    out.push(...res.json.items);
    cursor = res.json.next_cursor;
  } while (cursor);
  return out;
}
