/**
 * The browser harness (test/support/browser.ts) against real pages served
 * here: a person's click-through by role and label, screenshots as PNG
 * files, and axe-core scans that pass an accessible page, name the exact
 * rules a broken one breaks, and still work under a strict
 * Content-Security-Policy, which stays enforced.
 *
 * It starts Chromium, an external program: an acceptance test.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  type BrowserSession,
  CHROMIUM_ENV,
  ChromiumMissingError,
  SCREENSHOT_ROOT,
  expectNoSeriousViolations,
  findChromium,
  openSession,
  scanAccessibility,
  seriousViolations,
} from '../support/browser';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page as the console writes one: language, title, a main landmark with a heading. */
const page = (title: string, body: string, head = ''): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>${head}</head>` +
  `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const FORM = page(
  'New App Registration',
  '<form method="post" action="/form">' +
    '<label for="name">Application Name</label> <input id="name" name="name" required>' +
    '<button type="submit">Add</button>' +
    '</form>',
);

/** Two serious-or-worse violations and nothing else of that weight: an unlabelled input, an image without alt. */
const BROKEN_BODY =
  '<form><input id="unlabelled" name="q"></form>' +
  '<img id="no-alt" src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==">';

/** The broken page under `default-src 'none'`, with an inline script the policy must block. */
const STRICT = page('Strict', BROKEN_BODY, '<script>document.title = "script ran"</script>');

const SERIOUS_RULES_OF_BROKEN = ['image-alt', 'label'];

function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const send = (status: number, html: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(html);
    };
    if (req.url === '/form' && req.method === 'GET') return send(200, FORM);
    if (req.url === '/form' && req.method === 'POST') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => send(200, page(`Added ${new URLSearchParams(body).get('name') ?? ''}`, '<p>Saved.</p>')));
      return;
    }
    if (req.url === '/broken') return send(200, page('Broken', BROKEN_BODY));
    if (req.url === '/strict') return send(200, STRICT, { 'content-security-policy': "default-src 'none'" });
    send(404, page('Not found', '<p>Nothing here.</p>'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('browser harness (test/support/browser.ts)', () => {
  let server: http.Server;
  let base: string;
  let s: BrowserSession;

  beforeAll(async () => {
    server = await serve();
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    s = await openSession();
  });

  afterAll(async () => {
    await s?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('a person fills a field found by its label and clicks a button found by role and name', async () => {
    await s.page.goto(`${base}/form`);
    await s.page.getByLabel('Application Name').fill('Billing & Co');
    await s.page.getByRole('button', { name: 'Add' }).click();
    await s.page.getByRole('heading', { name: 'Added Billing & Co' }).waitFor();
    expect(await s.page.title()).toBe('Added Billing & Co');
    expect(s.problems()).toEqual([]);
  });

  test('the accessible form has no serious or critical violation', async () => {
    await s.page.goto(`${base}/form`);
    const results = await s.expectAccessible('form');
    expect(seriousViolations(results)).toEqual([]);
  });

  test('a broken page reports exactly the rules it breaks, with their selectors', async () => {
    await s.page.goto(`${base}/broken`);
    const results = await scanAccessibility(s.page, 'broken');
    expect(seriousViolations(results).map((v) => v.id).sort()).toEqual(SERIOUS_RULES_OF_BROKEN);
    expect(() => expectNoSeriousViolations(results)).toThrow(/2 serious or critical accessibility violation\(s\)/);
    let message = '';
    try {
      expectNoSeriousViolations(results);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^ {2}label \(critical\): .*\n {6}\["#unlabelled"\]$/m);
    expect(message).toMatch(/^ {2}image-alt \(critical\): .*\n {6}\["#no-alt"\]$/m);
  });

  test("the scan works under Content-Security-Policy: default-src 'none', which stays enforced", async () => {
    s.clearProblems();
    await s.page.goto(`${base}/strict`);
    const results = await scanAccessibility(s.page, 'strict');
    expect(seriousViolations(results).map((v) => v.id).sort()).toEqual(SERIOUS_RULES_OF_BROKEN);
    // The page's own inline script was blocked: the policy was not bypassed for the scan.
    expect(await s.page.title()).toBe('Strict');
    expect(s.problems().join('\n')).toMatch(/Executing inline script violates the following Content Security Policy directive/);
  });

  test('a screenshot is written as a PNG under test-results/screenshots/<suite>/', async () => {
    await s.page.goto(`${base}/form`);
    const file = await s.screenshot('new app registration');
    expect(file).toBe(path.join(SCREENSHOT_ROOT, 'test-browser-harness', 'new-app-registration.png'));
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.length).toBeGreaterThan(1000);
  });

  test('a missing Chromium is named, with how to install it', () => {
    expect(() => findChromium({ PATH: '' })).toThrow(ChromiumMissingError);
    expect(() => findChromium({ PATH: '' })).toThrow(/apt-get install -y --no-install-recommends chromium/);
    expect(() => findChromium({ [CHROMIUM_ENV]: '/nonexistent/chromium', PATH: process.env.PATH })).toThrow(
      /APPREG_CHROMIUM=\/nonexistent\/chromium is not an executable file/,
    );
  });
});
