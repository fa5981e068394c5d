/**
 * The console in a real browser (DOMAIN.md "The console"): `appreg serve` as
 * a child process, headless Chromium clicking through the screens as a
 * person would, finding every control by its role and label, under the
 * pages' own Content-Security-Policy. Each screen is scanned with axe-core
 * (no serious or critical violation) and kept as a screenshot under
 * test-results/screenshots/test-browser-console/.
 *
 * What it proves beyond console-http.test.ts: the screens work and are
 * accessible in a browser (labels, landmarks, keyboard), nothing on them
 * breaks under the CSP or logs an error, and the client secret shown once
 * leaves no trace the page can read after "OK" (markup, storage, cookies,
 * URL, history).
 *
 * With APPREG_UPDATE_SCREENSHOTS=1 it also writes the README's two images,
 * docs/images/console-registrations.png and console-credentials.png.
 *
 * Starts Chromium and bin/appreg: an acceptance test (jest.config.js).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BrowserSession, openSession } from '../support/browser';
import { addPerson, type PreparedTenant, prepareTenant, removePrepared, type ServeProcess, startServeProcess } from '../support/serve-process';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');

/** Set to 1 to refresh the README's screenshots from this run. */
const UPDATE_SCREENSHOTS = process.env.APPREG_UPDATE_SCREENSHOTS === '1';

/** The README's images, by the screenshot of this suite they are copied from. */
const README_IMAGES: Record<string, string> = {
  'register-custom-apps': 'docs/images/console-registrations.png',
  'custom-app-credentials': 'docs/images/console-credentials.png',
};

const newPassword = (): string => `pw-${randomBytes(12).toString('base64url')}`;

interface Person {
  username: string;
  password: string;
}

describe('the console in a browser', () => {
  let tenant: PreparedTenant;
  let svc: ServeProcess;
  let s: BrowserSession;
  const gina: Person = { username: 'gina', password: newPassword() };
  const sam: Person = { username: 'sam', password: newPassword() };

  beforeAll(async () => {
    tenant = await prepareTenant({ tenant: 'acme', groups: ['platform', 'data'] });
    await addPerson(tenant.db, { tenant: 'acme', username: gina.username, password: gina.password, adminOf: ['platform'] });
    await addPerson(tenant.db, { tenant: 'acme', username: sam.username, password: sam.password, securityAdmin: true });
    svc = await startServeProcess({ db: tenant.db });
    s = await openSession();
  });

  afterAll(async () => {
    await s?.close();
    await svc?.stop();
    if (tenant !== undefined) removePrepared(tenant);
  });

  /** Scans and photographs the screen as it is now; the screenshot's path. */
  async function screen(name: string): Promise<string> {
    await s.expectAccessible(name);
    const file = await s.screenshot(name);
    const image = README_IMAGES[name];
    if (UPDATE_SCREENSHOTS && image !== undefined) {
      fs.mkdirSync(path.dirname(path.join(ROOT, image)), { recursive: true });
      fs.copyFileSync(file, path.join(ROOT, image));
    }
    return file;
  }

  /**
   * Signs a person in from the console's first page, through the
   * provider's sign-in screen, with a fresh set of cookies (a new person
   * at the same browser).
   */
  async function signIn(p: Person): Promise<void> {
    const { page } = s;
    await s.context.clearCookies();
    await page.goto(`${svc.url}/console`);
    await page.getByRole('heading', { name: 'Sign in to the appreg console' }).waitFor();
    await screen('organization');
    await page.getByLabel('Organization').fill('acme');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username').waitFor();
    await screen('sign-in');
    await page.getByLabel('Username').fill(p.username);
    await page.getByLabel('Password').fill(p.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console\/apps/);
  }

  /** What the page's script could read that might hold a secret: markup, both storages, cookies, URL, history. */
  async function readableByThePage(): Promise<Record<string, string>> {
    const { page } = s;
    const inPage = await page.evaluate(() => {
      // Runs in the page; typed without the DOM library (tsconfig.json has none).
      const g = globalThis as unknown as {
        localStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };
        sessionStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };
        document: { cookie: string };
        location: { href: string };
        history: { state: unknown; length: number };
        performance: { getEntries(): Array<{ name: string }> };
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
        // Every URL this document loaded (its navigation and resources).
        performance: g.performance.getEntries().map((e) => e.name).join('\n'),
      };
    });
    return { content: await page.content(), url: page.url(), ...inPage };
  }

  test('a security admin turns OAuth on under Administration > Security > OAuth Clients, and creates a client', async () => {
    const { page } = s;
    await signIn(sam);
    await page.getByLabel(`Account menu of ${sam.username}`).click();
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Security' }).waitFor();
    await screen('administration');
    await page.getByRole('link', { name: 'OAuth Clients' }).click();
    await page.getByRole('heading', { name: 'OAuth Clients', level: 1 }).waitFor();
    expect(await page.locator('#oauth-state').innerText()).toBe('OAuth is disabled for this organization.');
    // No client can be made before OAuth is on, so "New" waits for the switch.
    expect(await page.getByRole('link', { name: 'New OAuth 2.0 client' }).count()).toBe(0);
    await screen('oauth-clients-disabled');

    await page.getByRole('button', { name: 'Enable OAuth' }).click();
    await page.getByRole('heading', { name: 'OAuth Clients', level: 1 }).waitFor();
    expect(await page.locator('#oauth-state').innerText()).toBe('OAuth is enabled for this organization.');
    expect(await page.getByRole('button', { name: 'Enable OAuth' }).count()).toBe(0);
    await screen('oauth-clients');

    await page.getByRole('link', { name: 'New OAuth 2.0 client' }).click();
    await page.getByRole('heading', { name: 'Create OAuth 2.0 client' }).waitFor();
    await screen('create-oauth-client');
    await page.getByLabel('Name').fill('Reports Bot');
    await page.getByLabel('Type').selectOption({ label: 'Device grant' });
    await page.getByLabel('Callback URLs').fill('https://reports.example.com/cb');
    await page.getByLabel('Group').selectOption({ label: 'data' });
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Custom App Credentials' }).waitFor();
    const clientId = await page.getByRole('textbox', { name: 'Client ID' }).inputValue();
    expect(await page.getByRole('textbox', { name: 'Client Secret' }).inputValue()).toMatch(/.{20,}/);
    await page.getByRole('link', { name: 'OK' }).click();

    await page.getByRole('heading', { name: 'OAuth Clients', level: 1 }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Reports Bot' });
    expect((await row.getByRole('cell').allInnerTexts()).map((t) => t.trim())).toEqual(['Reports Bot', 'data', clientId, 'Device grant', 'Yes']);
    expect(s.problems()).toEqual([]);
  });

  test('a field error shows at its field in the "Create OAuth 2.0 client" dialog', async () => {
    const { page } = s;
    await page.goto(`${svc.url}/console/admin/oauth-clients/new`);
    await page.getByLabel('Name').fill('Bad, name');
    await page.getByLabel('Callback URLs').fill('https://ok.example.com/cb');
    await page.getByRole('button', { name: 'Create' }).click();
    const name = page.getByLabel('Name');
    await name.waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy('#name')).toMatch(/Letters and digits.*\n.+/s);
    await screen('create-oauth-client-error');
    expect(s.problems()).toEqual([]);
  });

  /**
   * The page's URL and markup once no navigation has started for a quarter
   * of a second: after a history step Chromium may still replace the page
   * (with an error page), and markup read meanwhile throws.
   */
  async function settled(): Promise<{ url: string; content: string }> {
    const { page } = s;
    for (let i = 0; ; i++) {
      try {
        await page.waitForLoadState('load');
        const url = page.url();
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (page.url() !== url) continue;
        return { url, content: await page.content() };
      } catch (err) {
        if (i >= 20) throw err;
      }
    }
  }

  /** The text of the elements an element's aria-describedby names, one per line. */
  async function describedBy(selector: string): Promise<string> {
    const ids = ((await s.page.locator(selector).getAttribute('aria-describedby')) ?? '').split(/\s+/).filter((id) => id !== '');
    const texts: string[] = [];
    for (const id of ids) texts.push((await s.page.locator(`[id="${id}"]`).innerText()).trim());
    return texts.join('\n');
  }

  test('a group admin registers an app, sees its secret once, and nothing of it stays after "OK"', async () => {
    const { page } = s;
    await signIn(gina);
    await page.getByRole('heading', { name: 'Register Custom Apps' }).waitFor();
    // Only a security admin has the Administration entry.
    await page.getByLabel(`Account menu of ${gina.username}`).click();
    await page.getByRole('link', { name: 'Register Custom Apps' }).waitFor();
    expect(await page.getByRole('link', { name: 'Administration' }).count()).toBe(0);
    await screen('register-custom-apps-empty');

    await page.getByRole('link', { name: 'New App Registration' }).click();
    await page.getByRole('heading', { name: 'New App Registration' }).waitFor();
    await screen('new-app-registration');
    await page.getByLabel('Application Name').fill('Billing Portal');
    await page.getByLabel('Callback URL(s)').fill('https://billing.example.com/callback\nhttps://billing.example.com/cb2');
    await page.getByRole('radio', { name: 'Organization' }).check();
    await page.getByRole('button', { name: 'Add' }).click();

    await page.getByRole('heading', { name: 'Custom App Credentials' }).waitFor();
    const clientId = await page.getByRole('textbox', { name: 'Client ID' }).inputValue();
    const secret = await page.getByRole('textbox', { name: 'Client Secret' }).inputValue();
    expect(clientId).not.toBe('');
    expect(secret.length).toBeGreaterThanOrEqual(20);
    await page.getByText('The client secret is shown only once').waitFor();
    await screen('custom-app-credentials');
    // The secret is in the page now, in the field and nowhere else a script could find it later.
    const during = await readableByThePage();
    expect(during.url).not.toContain(secret);
    expect(during.localStorage + during.sessionStorage + during.cookie).not.toContain(secret);

    // "Copy" next to Client ID puts the client id on the clipboard (the console's copy.js, under the page's CSP) and says so.
    await s.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.url });
    await page.getByRole('button', { name: 'Copy Client ID' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    const clipboard = await page.evaluate(() =>
      (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    expect(clipboard).toBe(clientId);
    // The script is a static file of the console, the only script its policy allows, and only on this page.
    const script = await s.context.request.get(`${svc.url}/console/assets/copy.js`);
    expect([script.status(), script.headers()['content-type'], script.headers()['x-content-type-options']]).toEqual([200, 'text/javascript; charset=utf-8', 'nosniff']);
    expect(script.headers()['cache-control']).toMatch(/^public, max-age=\d+$/);

    await page.getByRole('link', { name: 'OK' }).click();
    await page.getByRole('heading', { name: 'Register Custom Apps' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Billing Portal' });
    expect((await row.getByRole('cell').allInnerTexts()).map((t) => t.trim())).toEqual(['Billing Portal', clientId, 'Organization', 'Yes']);
    await screen('register-custom-apps');
    expect(s.problems()).toEqual([]);

    const after = await readableByThePage();
    for (const [where, text] of Object.entries(after)) {
      expect({ where, holdsSecret: text.includes(secret) }).toEqual({ where, holdsSecret: false });
    }
    // Cookies the page cannot read (HttpOnly) hold no secret either: the session cookie is sealed and holds tokens only.
    for (const c of await s.context.cookies()) expect(c.value).not.toContain(secret);
    // The history: the credentials page was the answer to a POST and is never stored, so going back cannot show it again.
    // Chromium answers that entry with its "Confirm Form Resubmission" error page (ERR_CACHE_MISS), a
    // navigation that may come after goBack resolves, hence the wait for the page to settle.
    await page.goBack().catch(() => undefined);
    const back = await settled();
    expect(back.url).not.toContain(secret);
    expect(back.content).not.toContain(secret);
    // That error page's failed request is the point of this step, not a problem of the console.
    s.clearProblems();
  });

  test('a rule\'s message shows at "Callback URL(s)", and the form works from the keyboard', async () => {
    const { page } = s;
    await page.goto(`${svc.url}/console/apps`);
    await page.getByRole('link', { name: 'New App Registration' }).click();
    await page.getByLabel('Application Name').fill('Billing Reports');
    await page.getByLabel('Callback URL(s)').fill('http://example.com/cb');
    await page.getByRole('button', { name: 'Add' }).click();

    const urls = page.getByLabel('Callback URL(s)');
    await page.getByRole('heading', { name: 'New App Registration' }).waitFor();
    expect(await urls.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy('#callback_urls')).toMatch(/Line 1: must use https; http is allowed only for localhost/);
    // What was typed stays, to be corrected rather than typed again.
    expect(await page.getByLabel('Application Name').inputValue()).toBe('Billing Reports');
    await screen('new-app-registration-error');

    // Keyboard only from here: correct the URL, Tab to "Add", press Enter.
    await urls.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('https://reports.example.com/cb');
    let onAdd = false;
    for (let i = 0; i < 15 && !onAdd; i++) {
      await page.keyboard.press('Tab');
      onAdd = await page.evaluate(() => {
        const el = (globalThis as unknown as { document: { activeElement: { tagName: string; textContent: string | null } | null } }).document.activeElement;
        return el !== null && el.tagName === 'BUTTON' && el.textContent === 'Add';
      });
    }
    expect(onAdd).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Custom App Credentials' }).waitFor();
    expect(await page.getByRole('paragraph').filter({ hasText: 'is registered' }).innerText()).toBe('Billing Reports is registered.');
    await page.getByRole('link', { name: 'OK' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Register Custom Apps' }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'Billing Reports' }).count()).toBe(1);
    expect(s.problems()).toEqual([]);
  });

  test("a person who is not a security admin gets the API's refusal as a page", async () => {
    const { page } = s;
    const res = await page.goto(`${svc.url}/console/admin/oauth-clients`);
    expect(res?.status()).toBe(403);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/Only a security admin .* and gina is not one/);
    await screen('administration-refused');
    expect(s.problems()).toEqual([]);
  });
});
