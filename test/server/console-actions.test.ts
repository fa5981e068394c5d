/**
 * The console's per-app page and "Browse App Registrations" over real HTTP
 * (DOMAIN.md "The console": per app, edit, "Rotate secret" and delete, each
 * destructive action asked first; browse with "Add Consent" / "Remove
 * Consent"), against `appreg serve` as a child process, people signing in
 * through the provider's screens (test/support/console.ts).
 *
 * What it proves: an edit shows the API's rule at its field, then saves
 * (visible on the API); a page opened before somebody else's change gets
 * the stale-page message (If-Match, 412) and changes nothing; rotating asks
 * first, shows the new secret once on a never-cached page, raises
 * secret_version, and the secret is neither in the next page nor in the
 * log; a public client has no "Rotate secret"; delete asks first and takes
 * the app's consents with it; browse shows another group's organization app
 * and adds and removes the consent; a member gets no action buttons and a
 * forced POST shows the API's 403; every POST without the CSRF token is 403.
 *
 * Needs dist/ and bin/; an acceptance test (jest.config.js ACCEPTANCE).
 */
import { randomBytes } from 'node:crypto';
import { findButton, findField } from '../../scripts/lib/person-agent';
import { consoleGet, consolePost, consoleSignIn, consoleSubmit, csrfOf, formWithButton, type ConsolePerson } from '../support/console';
import {
  addPerson,
  enableOAuth,
  type PreparedTenant,
  prepareTenant,
  registerApp,
  type RegisteredApp,
  removePrepared,
  type ServeProcess,
  serviceCall,
  startServeProcess,
} from '../support/serve-process';

jest.setTimeout(120_000);

const newPassword = (): string => `pw-${randomBytes(12).toString('base64url')}`;

describe('the console: an app\'s page, and browsing other groups\' apps', () => {
  let tenant: PreparedTenant;
  let svc: ServeProcess;
  const gina: ConsolePerson = { username: 'gina', password: newPassword() };
  const alice: ConsolePerson = { username: 'alice', password: newPassword() };

  beforeAll(async () => {
    tenant = await prepareTenant({ tenant: 'acme', groups: ['platform', 'data'] });
    await addPerson(tenant.db, { tenant: 'acme', username: gina.username, password: gina.password, adminOf: ['platform'] });
    await addPerson(tenant.db, { tenant: 'acme', username: alice.username, password: alice.password, member: ['platform'] });
    svc = await startServeProcess({ db: tenant.db });
    await enableOAuth(svc.url, tenant.adminToken);
  });

  afterAll(async () => {
    await svc?.stop();
    if (tenant !== undefined) removePrepared(tenant);
  });

  const signIn = (p: ConsolePerson) => consoleSignIn(svc.url, 'acme', p);
  const platformApp = (name: string, extra: Partial<Parameters<typeof registerApp>[3]> = {}): Promise<RegisteredApp> =>
    registerApp(svc.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, { name, callback_urls: ['https://app.example.com/cb'], ...extra });
  const apiApp = (id: string) => serviceCall(svc.url, 'GET', `/v1/apps/${id}`, tenant.adminToken);

  it('links each app of the list to its page, with labelled fields and the actions of a group admin', async () => {
    const created = await platformApp('Link Target');
    const { agent, page } = await signIn(gina);
    expect(page.html).toContain(`<a href="/console/apps/${created.id}">Link Target</a>`);
    // "Browse App Registrations" in the avatar menu and on the list.
    expect(page.html).toContain('<li><a href="/console/browse">Browse App Registrations</a></li>');
    expect(page.html).toContain(`<a href="/console/browse?group_id=${tenant.groups.platform}">Browse App Registrations</a>`);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    expect(app.res.status).toBe(200);
    expect(app.res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(app.html).not.toMatch(/<script|style="/i);
    const form = formWithButton(app.page, 'Save')!;
    expect(findField(form, 'name')!.label).toBe('Application Name');
    expect(findField(form, 'callback_urls')!.label).toBe('Callback URL(s)');
    expect(findField(form, 'enabled')!.label).toBe('Enabled');
    expect(findField(form, 'csrf')).toBeDefined();
    expect(formWithButton(app.page, 'Rotate secret')).toBeDefined();
    expect(formWithButton(app.page, 'Delete')).toBeDefined();
  });

  it('shows the rule at its field, then saves the edit (seen on the API)', async () => {
    const created = await platformApp('Edit Me');
    const { agent } = await signIn(gina);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    const form = formWithButton(app.page, 'Save')!;
    const bad = await consoleSubmit(agent, app.page, form, { callback_urls: 'https://app.example.com/cb\nhttp://example.com/cb' }, 'Save');
    expect(bad.res.status).toBe(422);
    expect(bad.html).toMatch(/<textarea id="callback_urls"[^>]*aria-invalid="true"[^>]*aria-describedby="callback_urls-hint callback_urls-error"/);
    expect(/<p class="field-error" id="callback_urls-error">([^<]+)<\/p>/.exec(bad.html)?.[1]).toMatch(/^Line 2: /);
    // What the person typed stays; nothing changed on the API.
    expect(bad.html).toContain('http://example.com/cb</textarea>');
    expect((await apiApp(created.id)).json.callback_urls).toEqual(['https://app.example.com/cb']);

    const retry = formWithButton(bad.page, 'Save')!;
    const good = await consoleSubmit(agent, bad.page, retry, {
      name: 'Edited Name',
      callback_urls: 'https://app.example.com/cb\nhttps://app.example.com/cb2',
      enabled: '',
    }, 'Save');
    expect(good.res.status).toBe(200);
    expect(good.page.text).toContain('Saved.');
    const after = (await apiApp(created.id)).json;
    expect(after.name).toBe('Edited Name');
    expect(after.callback_urls).toEqual(['https://app.example.com/cb', 'https://app.example.com/cb2']);
    expect(after.enabled).toBe(false);
    // The page after saving edits the new version: a second save goes through.
    const again = await consoleSubmit(agent, good.page, formWithButton(good.page, 'Save')!, { enabled: 'true' }, 'Save');
    expect(again.res.status).toBe(200);
    expect((await apiApp(created.id)).json.enabled).toBe(true);
  });

  it('says the page is stale when someone changed the app since it was opened (If-Match), and changes nothing', async () => {
    const created = await platformApp('Stale Page');
    const { agent } = await signIn(gina);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    const changed = await serviceCall(svc.url, 'PATCH', `/v1/apps/${created.id}`, tenant.adminToken, { name: 'Changed Elsewhere' });
    expect(changed.status).toBe(200);
    const out = await consoleSubmit(agent, app.page, formWithButton(app.page, 'Save')!, { name: 'Lost Update' }, 'Save');
    expect(out.res.status).toBe(412);
    expect(out.page.text).toContain('Someone changed this registration since you opened it; reload');
    expect((await apiApp(created.id)).json.name).toBe('Changed Elsewhere');
  });

  it('rotates the secret after asking, shows the new one once, and keeps it out of the next page and the log', async () => {
    const created = await platformApp('Rotate Me');
    const before = (await apiApp(created.id)).json.secret_version as number;
    const { agent } = await signIn(gina);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    const ask = await consoleSubmit(agent, app.page, formWithButton(app.page, 'Rotate secret')!, {}, 'Rotate secret');
    // Asking changes nothing.
    expect(ask.res.status).toBe(200);
    expect(ask.page.title).toContain('Rotate secret?');
    expect(ask.page.text).toMatch(/old secret stops working at once/);
    expect(formWithButton(ask.page, 'Cancel')).toBeDefined();
    expect((await apiApp(created.id)).json.secret_version).toBe(before);
    const confirm = ask.page.forms.find((f) => f.method === 'post' && findButton(f, 'Rotate secret'))!;
    expect(findField(confirm, 'csrf')).toBeDefined();

    const done = await consoleSubmit(agent, ask.page, confirm, {}, 'Rotate secret');
    expect(done.res.status).toBe(200);
    expect(done.res.headers.get('cache-control')).toBe('no-store');
    expect(done.page.text).toContain('Custom App Credentials');
    expect(done.page.text).toMatch(/shown only once/);
    const secret = /id="client_secret" readonly value="(ars_[A-Za-z0-9_-]+)"/.exec(done.html)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(created.client_secret);
    expect(done.html).toContain(`value="${created.client_id}"`);
    expect((await apiApp(created.id)).json.secret_version).toBe(before + 1);
    // "OK" is a plain link without the secret, and the page it opens does not hold it.
    const ok = /<a class="button" href="([^"]+)">OK<\/a>/.exec(done.html)?.[1];
    expect(ok).toBe(`/console/apps/${created.id}`);
    const next = await consoleGet(agent, svc.url, ok!);
    expect(next.res.status).toBe(200);
    expect(next.html).not.toContain(secret!);
    expect(svc.logs()).not.toContain(secret!);
  });

  it('offers no "Rotate secret" for a public client', async () => {
    const created = await platformApp('Public One', { public_client: true });
    const { agent } = await signIn(gina);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    expect(formWithButton(app.page, 'Save')).toBeDefined();
    expect(formWithButton(app.page, 'Rotate secret')).toBeUndefined();
    expect(app.page.text).toContain('public client');
  });

  it('deletes an app after asking, and its consents go with it', async () => {
    const created = await platformApp('Doomed', { scope: 'organization' });
    const consent = await serviceCall(svc.url, 'PUT', `/v1/groups/${tenant.groups.data}/consents/${created.id}`, tenant.groupAdminTokens.data!);
    expect(consent.status).toBe(201);
    const { agent } = await signIn(gina);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    const ask = await consoleSubmit(agent, app.page, formWithButton(app.page, 'Delete')!, {}, 'Delete');
    expect(ask.res.status).toBe(200);
    expect(ask.page.title).toContain('Delete Doomed?');
    expect(ask.page.text).toMatch(/consents go too/);
    expect(formWithButton(ask.page, 'Cancel')).toBeDefined();
    expect((await apiApp(created.id)).status).toBe(200);

    const confirm = ask.page.forms.find((f) => f.method === 'post' && findButton(f, 'Delete'))!;
    const done = await consoleSubmit(agent, ask.page, confirm, {}, 'Delete');
    expect(done.res.status).toBe(200);
    expect(done.page.title).toContain('Register Custom Apps');
    expect(done.page.text).toContain('Deleted Doomed and its consents.');
    expect(done.html).not.toContain(`/console/apps/${created.id}"`);
    expect((await apiApp(created.id)).status).toBe(404);
    const consents = await serviceCall(svc.url, 'GET', `/v1/consents?group_id=${tenant.groups.data}`, tenant.adminToken);
    expect((consents.json.items as Array<{ app_id: string }>).map((c) => c.app_id)).not.toContain(created.id);
  });

  it('browses another group\'s organization app, adds consent, and removes it after asking', async () => {
    const shared = await registerApp(svc.url, tenant.groupAdminTokens.data!, tenant.groups.data!, {
      name: 'Shared Reports',
      callback_urls: ['https://reports.example.com/cb'],
      scope: 'organization',
    });
    const consentsOfPlatform = async (): Promise<string[]> =>
      ((await serviceCall(svc.url, 'GET', `/v1/consents?group_id=${tenant.groups.platform}`, tenant.adminToken)).json.items as Array<{ app_id: string }>).map((c) => c.app_id);
    const { agent } = await signIn(gina);
    const browse = await consoleGet(agent, svc.url, '/console/browse');
    expect(browse.res.status).toBe(200);
    expect(browse.page.title).toContain('Browse App Registrations');
    expect(browse.page.text).toContain('Shared Reports');
    expect(browse.page.text).toContain(shared.client_id);
    const add = browse.page.forms.find((f) => findField(f, 'app_id')?.value === shared.id && findButton(f, 'Add Consent'))!;
    expect(add).toBeDefined();
    expect(findField(add, 'csrf')).toBeDefined();

    const added = await consoleSubmit(agent, browse.page, add, {}, 'Add Consent');
    expect(added.res.status).toBe(200);
    expect(added.page.text).toContain('platform consented to Shared Reports.');
    expect(await consentsOfPlatform()).toContain(shared.id);
    const remove = added.page.forms.find((f) => findField(f, 'app_id')?.value === shared.id && findButton(f, 'Remove Consent'))!;
    expect(remove).toBeDefined();
    expect(remove.method).toBe('get');

    const ask = await consoleSubmit(agent, added.page, remove, {}, 'Remove Consent');
    expect(ask.res.status).toBe(200);
    expect(ask.page.text).toContain('Remove consent to Shared Reports?');
    expect(formWithButton(ask.page, 'Cancel')).toBeDefined();
    expect(await consentsOfPlatform()).toContain(shared.id);
    const confirm = ask.page.forms.find((f) => f.method === 'post' && findButton(f, 'Remove Consent'))!;
    const removed = await consoleSubmit(agent, ask.page, confirm, {}, 'Remove Consent');
    expect(removed.res.status).toBe(200);
    expect(removed.page.text).toContain('platform no longer consents to Shared Reports.');
    expect(await consentsOfPlatform()).not.toContain(shared.id);
  });

  it('shows a member the app and the browse list read-only; a forced POST shows the API\'s 403', async () => {
    const created = await platformApp('Read Only');
    const shared = await registerApp(svc.url, tenant.groupAdminTokens.data!, tenant.groups.data!, {
      name: 'Org Wide', callback_urls: ['https://org.example.com/cb'], scope: 'organization',
    });
    const { agent, page } = await signIn(alice);
    const csrf = csrfOf(page);
    const app = await consoleGet(agent, svc.url, `/console/apps/${created.id}`);
    expect(app.res.status).toBe(200);
    expect(app.html).toContain('value="Read Only"');
    for (const b of ['Save', 'Rotate secret', 'Delete']) expect(formWithButton(app.page, b)).toBeUndefined();
    // Nor the confirmation pages, opened by address.
    for (const step of ['rotate', 'delete']) {
      const ask = await consoleGet(agent, svc.url, `/console/apps/${created.id}/${step}`);
      expect(ask.res.status).toBe(403);
      expect(ask.page.forms.some((f) => f.method === 'post' && f.action.includes(`/${step}`))).toBe(false);
    }
    const version = String((await apiApp(created.id)).json.version);
    const forced = await consolePost(agent, svc.url, `/console/apps/${created.id}`, { csrf, version, name: 'Hijacked', callback_urls: 'https://app.example.com/cb', enabled: 'true' });
    expect(forced.res.status).toBe(403);
    expect(forced.page.text).toContain('You may not do this');
    const rotate = await consolePost(agent, svc.url, `/console/apps/${created.id}/rotate`, { csrf, version });
    expect(rotate.res.status).toBe(403);
    expect(rotate.html).not.toMatch(/id="client_secret"/);
    const del = await consolePost(agent, svc.url, `/console/apps/${created.id}/delete`, { csrf, version });
    expect(del.res.status).toBe(403);
    expect((await apiApp(created.id)).json.name).toBe('Read Only');

    const browse = await consoleGet(agent, svc.url, '/console/browse');
    expect(browse.page.text).toContain('Org Wide');
    expect(formWithButton(browse.page, 'Add Consent')).toBeUndefined();
    const consent = await consolePost(agent, svc.url, '/console/browse/consent', { csrf, group_id: tenant.groups.platform!, app_id: shared.id });
    expect(consent.res.status).toBe(403);
    expect(consent.page.text).toContain('You may not do this');
    const consents = await serviceCall(svc.url, 'GET', `/v1/consents?group_id=${tenant.groups.platform}`, tenant.adminToken);
    expect((consents.json.items as Array<{ app_id: string }>).map((c) => c.app_id)).not.toContain(shared.id);
  });

  it('refuses every POST without its CSRF token, and changes nothing', async () => {
    const created = await platformApp('Csrf Target', { scope: 'organization' });
    const shared = await registerApp(svc.url, tenant.groupAdminTokens.data!, tenant.groups.data!, {
      name: 'Csrf Shared', callback_urls: ['https://csrf.example.com/cb'], scope: 'organization',
    });
    const { agent } = await signIn(gina);
    const before = (await apiApp(created.id)).json;
    const version = String(before.version);
    const posts: Array<[string, Record<string, string>]> = [
      [`/console/apps/${created.id}`, { version, name: 'Forged', callback_urls: 'https://app.example.com/cb' }],
      [`/console/apps/${created.id}/rotate`, { version }],
      [`/console/apps/${created.id}/delete`, { version }],
      ['/console/browse/consent', { group_id: tenant.groups.platform!, app_id: shared.id }],
      ['/console/browse/remove', { group_id: tenant.groups.platform!, app_id: shared.id }],
    ];
    for (const [path, fields] of posts) {
      const out = await consolePost(agent, svc.url, path, fields);
      expect([path, out.res.status]).toEqual([path, 403]);
      const wrong = await consolePost(agent, svc.url, path, { ...fields, csrf: 'x'.repeat(43) });
      expect([path, wrong.res.status]).toEqual([path, 403]);
    }
    const after = (await apiApp(created.id)).json;
    expect(after.name).toBe('Csrf Target');
    expect(after.secret_version).toBe(before.secret_version);
    expect(after.version).toBe(before.version);
    const consents = await serviceCall(svc.url, 'GET', `/v1/consents?group_id=${tenant.groups.platform}`, tenant.adminToken);
    expect((consents.json.items as Array<{ app_id: string }>).map((c) => c.app_id)).not.toContain(shared.id);
  });
});
