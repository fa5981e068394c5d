/**
 * The console's per-app actions and "Browse App Registrations" in a real
 * browser (DOMAIN.md "The console"), on a stack applied with real
 * Terraform: `appreg serve` as a child process, this checkout's provider
 * (bin/) applying an HCL stack, headless Chromium clicking through the
 * screens as a person would (controls found by role and label, under the
 * pages' own Content-Security-Policy), each screen scanned with axe-core (no
 * serious or critical violation) and kept as a screenshot under
 * test-results/screenshots/test-browser-console-actions/.
 *
 * It proves that:
 * - the demo's hand edit can be done through the console, and `appreg drift`
 *   reports it: a stack turns OAuth on and registers "Portal"
 *   (organization-scoped, group platform, two https callback URLs); a group
 *   administrator of platform opens "Portal" from "Register Custom Apps",
 *   adds a callback URL and saves; `bin/appreg drift` with an auditor token
 *   then exits 2 and names appreg_oauth_client.portal and the new URL;
 * - "Rotate secret" asks first ("Rotate secret?"), then shows the new
 *   Client Secret once in the credentials dialog; after "OK" nothing of it
 *   is left where the page could read it (markup, storage, cookies, URL);
 * - "Delete" asks first, then shows the group's list with a status message,
 *   without the app;
 * - a group administrator of another group (billing) browses platform's
 *   organization app, adds consent (shown as consented), removes it after a
 *   confirmation, and it shows as not consented again;
 * - a member of platform sees an app's page read-only: no "Save", no
 *   "Rotate secret" or "Delete", fields not editable.
 * No screen logs an error, breaks under its CSP or fails a request
 * (`problems()` empty).
 *
 * The steps run in order on one service, one tenant and one workspace.
 * Starts Chromium, Terraform and bin/appreg: an acceptance test
 * (jest.config.js).
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { adminTokenCreate } from '../../src/server/admin';
import { type BrowserSession, openSession } from '../support/browser';
import { runProcess } from '../support/process';
import { addPerson, type PreparedTenant, prepareTenant, registerApp, removePrepared, type ServeProcess, serviceCall, startServeProcess } from '../support/serve-process';
import { PROVIDER_PREAMBLE, REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(300_000);

const TENANT = 'acme';
const FIRST_URLS = ['https://portal.example.com/oauth/callback', 'https://portal.example.com/oauth/callback2'];
/** The URL added by hand in the console: the drift. */
const ADDED_URL = 'https://portal.example.com/oauth/debug';

const STACK = `
${PROVIDER_PREAMBLE}data "appreg_group" "platform" { name = "platform" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.platform.id
  name          = "Portal"
  scope         = "organization"
  callback_urls = ${JSON.stringify(FIRST_URLS)}
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;

const newPassword = (): string => `pw-${randomBytes(12).toString('base64url')}`;

interface Person {
  username: string;
  password: string;
}

/** Group administrator of platform. */
const gina: Person = { username: 'gina', password: newPassword() };
/** Group administrator of billing. */
const bob: Person = { username: 'bob', password: newPassword() };
/** Member of platform. */
const mia: Person = { username: 'mia', password: newPassword() };

let tenant: PreparedTenant | undefined;
let svc: ServeProcess | undefined;
let tf: TerraformWorkspace | undefined;
let s: BrowserSession | undefined;
let auditorToken = '';

/** What earlier steps found; a later step asks for it through {@link need}. */
const found: { portalId?: string } = {};

function need<K extends keyof typeof found>(key: K): NonNullable<(typeof found)[K]> {
  const v = found[key];
  if (v === undefined) throw new Error(`an earlier step did not get as far as ${key}; see its failure`);
  return v as NonNullable<(typeof found)[K]>;
}

function service(): ServeProcess {
  if (svc === undefined) throw new Error('appreg serve did not start; see beforeAll');
  return svc;
}

function browser(): BrowserSession {
  if (s === undefined) throw new Error('Chromium did not start; see beforeAll');
  return s;
}

function workspace(): TerraformWorkspace {
  if (tf === undefined) throw new Error('no Terraform workspace; see beforeAll');
  return tf;
}

function prepared(): PreparedTenant {
  if (tenant === undefined) throw new Error('no tenant; see beforeAll');
  return tenant;
}

beforeAll(async () => {
  requireTerraform();
  requireBuiltProvider();
  tenant = await prepareTenant({ tenant: TENANT, groups: ['platform', 'billing'] });
  auditorToken = (await adminTokenCreate(tenant.db, { tenant: TENANT, role: 'auditor' })).token;
  await addPerson(tenant.db, { tenant: TENANT, username: gina.username, password: gina.password, adminOf: ['platform'] });
  await addPerson(tenant.db, { tenant: TENANT, username: bob.username, password: bob.password, adminOf: ['billing'] });
  await addPerson(tenant.db, { tenant: TENANT, username: mia.username, password: mia.password, member: ['platform'] });
  svc = await startServeProcess({ db: tenant.db });
  tf = new TerraformWorkspace({ endpoint: svc.url, token: tenant.adminToken });
  s = await openSession();
});

afterAll(async () => {
  await s?.close();
  tf?.dispose();
  await svc?.stop();
  if (tenant !== undefined) removePrepared(tenant);
});

/** Scans and photographs the screen as it is now. */
async function screen(name: string): Promise<void> {
  await browser().expectAccessible(name);
  await browser().screenshot(name);
}

/** Signs a person in from the console's first page through the provider's sign-in screen, with fresh cookies. */
async function signIn(p: Person): Promise<void> {
  const { page, context } = browser();
  await context.clearCookies();
  await page.goto(`${service().url}/console`);
  await page.getByLabel('Organization').fill(TENANT);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Username').fill(p.username);
  await page.getByLabel('Password').fill(p.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console\/apps/);
  await page.getByRole('heading', { name: 'Register Custom Apps' }).waitFor();
}

/** Opens an entry of the avatar menu. */
async function menu(p: Person, entry: 'Register Custom Apps' | 'Browse App Registrations'): Promise<void> {
  const { page } = browser();
  await page.getByLabel(`Account menu of ${p.username}`).click();
  await page.getByRole('banner').getByRole('link', { name: entry, exact: true }).click();
  await page.getByRole('heading', { name: entry, level: 1 }).waitFor();
}

/** What the page's script could read that might hold a secret: markup, both storages, cookies, URL. */
async function readableByThePage(): Promise<Record<string, string>> {
  const { page } = browser();
  const inPage = await page.evaluate(() => {
    // Runs in the page; typed without the DOM library (tsconfig.json has none).
    const g = globalThis as unknown as {
      localStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };
      sessionStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };
      document: { cookie: string };
      location: { href: string };
      history: { state: unknown };
    };
    const dump = (st: typeof g.localStorage): string => {
      const out: string[] = [];
      for (let i = 0; i < st.length; i++) {
        const k = st.key(i) ?? '';
        out.push(`${k}=${st.getItem(k) ?? ''}`);
      }
      return out.join('\n');
    };
    return {
      localStorage: dump(g.localStorage),
      sessionStorage: dump(g.sessionStorage),
      cookie: g.document.cookie,
      href: g.location.href,
      historyState: JSON.stringify(g.history.state ?? null),
    };
  });
  return { content: await page.content(), url: page.url(), ...inPage };
}

/** The trimmed texts of the cells of the table row holding `text`. */
async function rowCells(text: string): Promise<string[]> {
  const row = browser().page.getByRole('row').filter({ hasText: text });
  return (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim());
}

describe('the console\'s per-app actions and browse, in a browser, on a stack applied with Terraform', () => {
  test('the demo\'s hand edit done through the console: a callback URL added to "Portal", then `appreg drift` reports it (exit 2)', async () => {
    const w = workspace();
    w.write(STACK);
    const apply = await w.apply();
    expect(apply.stdout).toMatch(/Apply complete! Resources: 2 added, 0 changed, 0 destroyed/);
    const portal = await w.resource('appreg_oauth_client.portal');
    expect(portal).toMatchObject({ name: 'Portal', scope: 'organization', callback_urls: FIRST_URLS });
    found.portalId = portal.id as string;

    const { page } = browser();
    await signIn(gina);
    await menu(gina, 'Register Custom Apps');
    expect(await rowCells('Portal')).toEqual(['Portal', portal.client_id as string, 'Organization', 'Yes']);
    await screen('register-custom-apps');
    await page.getByRole('link', { name: 'Portal', exact: true }).click();
    await page.getByRole('heading', { name: 'Portal', level: 1 }).waitFor();
    const urls = page.getByLabel('Callback URL(s)');
    expect((await urls.inputValue()).split('\n')).toEqual(FIRST_URLS);
    await screen('app-page');

    await urls.fill([...FIRST_URLS, ADDED_URL].join('\n'));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect((await page.getByLabel('Callback URL(s)').inputValue()).split('\n')).toEqual([...FIRST_URLS, ADDED_URL]);
    await screen('app-page-saved');
    expect(browser().problems()).toEqual([]);

    // The scheduled job's view: an auditor token, the stack's folder.
    const drift = await runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['drift', '--dir', w.dir], {
      env: { ...w.env, TF_LOG: '', APPREG_ENDPOINT: service().url, APPREG_TOKEN: auditorToken },
    });
    if (drift.code !== 2) throw new Error(`appreg drift exited ${drift.code}, not 2\n${drift.stdout}\n${drift.stderr}`);
    expect(drift.stdout).toContain('appreg_oauth_client.portal');
    expect(drift.stdout).toContain(ADDED_URL);
    expect(drift.stdout).toMatch(/callback_urls: .* -> .*portal\.example\.com\/oauth\/debug/);
  });

  test('"Rotate secret" asks first, shows the new Client Secret once, and nothing of it stays after "OK"', async () => {
    const { page, context } = browser();
    await page.goto(`${service().url}/console/apps/${encodeURIComponent(need('portalId'))}`);
    await page.getByRole('heading', { name: 'Portal', level: 1 }).waitFor();
    expect(await rowCells('Secret version')).toEqual(['1']);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('heading', { name: 'Rotate secret?' }).waitFor();
    await page.getByText('The old secret stops working at once').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
    await screen('rotate-secret-confirmation');

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('heading', { name: 'Custom App Credentials' }).waitFor();
    const secret = await page.getByRole('textbox', { name: 'Client Secret' }).inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(20);
    await page.getByText('Portal has a new client secret').waitFor();
    await screen('rotated-credentials');
    const during = await readableByThePage();
    expect(during.url).not.toContain(secret);
    expect(during.localStorage + during.sessionStorage + during.cookie + during.historyState).not.toContain(secret);

    await page.getByRole('link', { name: 'OK' }).click();
    await page.getByRole('heading', { name: 'Portal', level: 1 }).waitFor();
    expect(await rowCells('Secret version')).toEqual(['2']);
    await screen('app-page-after-rotation');
    for (const [where, text] of Object.entries(await readableByThePage())) {
      expect({ where, holdsSecret: text.includes(secret) }).toEqual({ where, holdsSecret: false });
    }
    for (const c of await context.cookies()) expect(c.value).not.toContain(secret);
    expect(browser().problems()).toEqual([]);
  });

  test('"Delete" asks first, then shows the list with what happened, without the app', async () => {
    const t = prepared();
    await registerApp(service().url, t.groupAdminTokens.platform!, t.groups.platform!, { name: 'Scratch Pad', callback_urls: ['https://scratch.example.com/cb'] });
    const { page } = browser();
    await menu(gina, 'Register Custom Apps');
    expect(await page.getByRole('row').filter({ hasText: 'Scratch Pad' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Scratch Pad', exact: true }).click();
    await page.getByRole('heading', { name: 'Scratch Pad', level: 1 }).waitFor();

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'Delete Scratch Pad?' }).waitFor();
    await page.getByText('This cannot be undone').waitFor();
    await screen('delete-confirmation');

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'Register Custom Apps', level: 1 }).waitFor();
    expect(await page.getByRole('status').innerText()).toBe('Deleted Scratch Pad and its consents.');
    expect(await page.getByRole('row').filter({ hasText: 'Scratch Pad' }).count()).toBe(0);
    expect(await page.getByRole('row').filter({ hasText: 'Portal' }).count()).toBe(1);
    await screen('register-custom-apps-after-delete');
    expect(browser().problems()).toEqual([]);
  });

  test('a group administrator of billing adds consent to platform\'s organization app, then removes it after a confirmation', async () => {
    const { page } = browser();
    await signIn(bob);
    await menu(bob, 'Browse App Registrations');
    const [name, clientId, owner, consent] = await rowCells('Portal');
    expect({ name, consent }).toEqual({ name: 'Portal', consent: 'Add Consent' });
    expect(clientId).toMatch(/\S/);
    // The owner group is named only when the viewer may see its name: a person sees only their own groups
    // (GET /v1/groups) and the browse entry carries the group's id alone, so for billing it is platform's id.
    expect([prepared().groups.platform, 'platform']).toContain(owner);
    await screen('browse');

    await page.getByRole('button', { name: 'Add Consent to Portal' }).click();
    await page.getByRole('status').filter({ hasText: 'billing consented to Portal.' }).waitFor();
    // The API agrees: billing's consent to Portal exists.
    const consentPath = `/v1/groups/${encodeURIComponent(prepared().groups.billing!)}/consents/${encodeURIComponent(need('portalId'))}`;
    expect((await serviceCall(service().url, 'GET', consentPath, auditorToken)).status).toBe(200);
    const consented = await rowCells('Portal');
    expect(consented[3]).toMatch(/^Consented\s+Remove Consent$/);
    expect(await page.getByRole('button', { name: 'Add Consent to Portal' }).count()).toBe(0);
    await screen('browse-consented');

    await page.getByRole('button', { name: 'Remove Consent to Portal' }).click();
    await page.getByRole('heading', { name: 'Remove consent to Portal?' }).waitFor();
    await screen('remove-consent-confirmation');
    await page.getByRole('button', { name: 'Remove Consent', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'billing no longer consents to Portal.' }).waitFor();
    expect((await rowCells('Portal'))[3]).toBe('Add Consent');
    expect((await serviceCall(service().url, 'GET', consentPath, auditorToken)).status).toBe(404);
    expect(await page.getByRole('button', { name: 'Remove Consent to Portal' }).count()).toBe(0);
    await screen('browse-consent-removed');
    expect(browser().problems()).toEqual([]);
  });

  test('a member of platform sees the app\'s page read-only', async () => {
    const { page } = browser();
    await signIn(mia);
    expect(await page.getByRole('link', { name: 'New App Registration' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Portal', exact: true }).click();
    await page.getByRole('heading', { name: 'Portal', level: 1 }).waitFor();
    await page.getByText('you see it read-only').waitFor();
    for (const name of ['Save', 'Rotate secret', 'Delete']) {
      expect({ name, count: await page.getByRole('button', { name, exact: true }).count() }).toEqual({ name, count: 0 });
    }
    expect(await page.getByLabel('Application Name').isEditable()).toBe(false);
    expect(await page.getByLabel('Callback URL(s)').isEditable()).toBe(false);
    expect(await page.getByLabel('Enabled').isDisabled()).toBe(true);
    expect((await page.getByLabel('Callback URL(s)').inputValue()).split('\n')).toEqual([...FIRST_URLS, ADDED_URL]);
    await screen('app-page-read-only');
    expect(browser().problems()).toEqual([]);
  });
});
