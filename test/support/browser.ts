/**
 * A real browser for the tests of the console's screens: headless Chromium
 * (Debian's `chromium` package, which `.ci/run` installs when it is missing)
 * driven by `playwright-core`, which ships no browser of its own. Tests click
 * through the screens as a person would (controls found by role and label),
 * keep a screenshot of each screen under `test-results/screenshots/`, and
 * scan each screen with axe-core for serious or critical violations.
 *
 * A test that uses this starts an external program, as Terraform is one: it
 * is an acceptance test (list it in jest.config.js's ACCEPTANCE).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AxeResults, ImpactValue, Result } from 'axe-core';
import { type Browser, type BrowserContext, type Page, type ViewportSize, chromium } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');

/** The environment variable naming the Chromium executable, over the one found on PATH. */
export const CHROMIUM_ENV = 'APPREG_CHROMIUM';

/** Names tried on PATH, in order: Debian's package, then the name other distributions use. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

/** How long Chromium may take to start; a cold start on a loaded CI machine takes a few seconds. */
const LAUNCH_TIMEOUT_MS = 30_000;

/**
 * A laptop-sized window: wide enough for the console's side-by-side layout,
 * small enough that a screenshot stays readable and light.
 */
export const DEFAULT_VIEWPORT: ViewportSize = { width: 1280, height: 800 };

/** Where {@link screenshot} writes: `test-results/screenshots/<suite>/<name>.png` (gitignored). */
export const SCREENSHOT_ROOT = path.join(ROOT, 'test-results', 'screenshots');

/** The impacts that fail a scan ({@link expectNoSeriousViolations}). */
export const SERIOUS_IMPACTS: readonly ImpactValue[] = ['serious', 'critical'];

/** Thrown by {@link findChromium} when there is no Chromium to run; its message says how to install one. */
export class ChromiumMissingError extends Error {
  constructor(detail: string) {
    super(
      `${detail}. The browser tests need Chromium: install Debian's package ` +
        `(sudo apt-get install -y --no-install-recommends chromium; .ci/run does this when it is missing), ` +
        `or set ${CHROMIUM_ENV} to a Chromium executable.`,
    );
    this.name = 'ChromiumMissingError';
  }
}

/** True when `file` is a regular file this process may execute. */
function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium executable: `APPREG_CHROMIUM` when set (it must exist), else
 * the first of `chromium`, `chromium-browser` on PATH (what `command -v`
 * finds; searched here rather than through a shell, so no shell is needed).
 * Throws {@link ChromiumMissingError} otherwise.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[CHROMIUM_ENV];
  if (given !== undefined && given !== '') {
    if (!isExecutable(given)) throw new ChromiumMissingError(`${CHROMIUM_ENV}=${given} is not an executable file`);
    return given;
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new ChromiumMissingError(`No ${CHROMIUM_NAMES.join(' or ')} on PATH and ${CHROMIUM_ENV} is not set`);
}

/**
 * Starts headless Chromium ({@link findChromium}). Playwright's default of
 * no Chromium sandbox stays: CI runs as root in a container, where the
 * sandbox cannot start; the pages under test are our own.
 */
export async function launchBrowser(opts: { executablePath?: string } = {}): Promise<Browser> {
  const executablePath = opts.executablePath ?? findChromium();
  return chromium.launch({ executablePath, headless: true, timeout: LAUNCH_TIMEOUT_MS });
}

/** Options of {@link newPage} and {@link openSession}. */
export interface PageOptions {
  /** Default {@link DEFAULT_VIEWPORT}. */
  viewport?: ViewportSize;
  /**
   * Default false, and it should stay so: the page's Content-Security-Policy
   * is then enforced as in a person's browser, so a screen that breaks under
   * its own policy (an inline script or style it forbids) fails its test.
   * {@link scanAccessibility} works under any policy without this.
   */
  bypassCSP?: boolean;
}

/**
 * A new context (own cookies and storage, so tests do not share a sign-in)
 * with one page, in English (the screens' language, and axe's messages).
 */
export async function newPage(browser: Browser, opts: PageOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? DEFAULT_VIEWPORT,
    locale: 'en-US',
    bypassCSP: opts.bypassCSP ?? false,
  });
  const page = await context.newPage();
  return { context, page };
}

// ---- accessibility -------------------------------------------------------------

let axeSource: string | undefined;

/** axe-core's browser bundle, read once per test file. */
function axeScript(): string {
  axeSource ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/**
 * Runs axe-core on the page as it is now (a dialog that is open is scanned
 * with it) and resolves with its results; `name` (the screen) is only for
 * messages. Scans for WCAG 2.x A and AA and axe's best practices.
 *
 * axe is injected by evaluating its bundle through the DevTools protocol
 * (`page.evaluate`), not as a `<script>` tag (`page.addScriptTag`): a strict
 * Content-Security-Policy such as the console's (`default-src 'none'`, or a
 * script-src without 'unsafe-inline') blocks an injected inline script, but
 * not evaluation by the protocol. This keeps the page's policy enforced
 * during the test (no `bypassCSP` context), so the screens are tested under
 * the policy people get. Evaluation puts `axe` on the page's window; a page
 * that defines its own global `axe` would be overwritten.
 */
export async function scanAccessibility(page: Page, name = page.url()): Promise<AxeResults> {
  const hasAxe = (): Promise<boolean> => page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  if (!(await hasAxe())) {
    await page.evaluate(axeScript());
    if (!(await hasAxe())) throw new Error(`axe-core did not load into the page of ${name} (${page.url()})`);
  }
  return page.evaluate(async () => {
    // Typed here without the DOM library (tsconfig.json has none); the function runs in the page.
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<AxeResults> } }).axe;
    const doc = (globalThis as unknown as { document: unknown }).document;
    return axe.run(doc, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      // Only the violations come back: passes and incomplete results are large and unused.
      resultTypes: ['violations'],
    });
  });
}

/** The violations of `results` whose impact is serious or critical. */
export function seriousViolations(results: AxeResults): Result[] {
  return results.violations.filter((v) => SERIOUS_IMPACTS.includes(v.impact ?? null));
}

/** One line per serious or critical violation: rule id, impact, help, then the target selectors of its nodes. */
export function describeViolations(violations: readonly Result[]): string {
  return violations
    .map((v) => {
      const targets = v.nodes.map((n) => `      ${JSON.stringify(n.target)}`).join('\n');
      return `  ${v.id} (${v.impact ?? 'no impact'}): ${v.help} ${v.helpUrl}\n${targets}`;
    })
    .join('\n');
}

/**
 * Fails (throws) when `results` hold a serious or critical violation,
 * listing each one's rule id, impact and the selectors of the elements
 * concerned. Minor and moderate ones do not fail: they are reported by
 * axe, not gated on (the bar).
 */
export function expectNoSeriousViolations(results: AxeResults): void {
  const serious = seriousViolations(results);
  if (serious.length === 0) return;
  throw new Error(`${serious.length} serious or critical accessibility violation(s) on ${results.url}:\n${describeViolations(serious)}`);
}

// ---- screenshots ---------------------------------------------------------------

/** A file or folder name from free text: letters, digits, dot, dash and underscore. */
function safeName(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return cleaned === '' ? 'unnamed' : cleaned;
}

/**
 * The suite of the running jest test file: its path below the repository,
 * without `.test.ts`, with dashes for slashes (test/browser/console.test.ts
 * is `test-browser-console`), so two files never share a folder.
 */
export function currentSuite(): string {
  const testPath = typeof expect === 'function' ? expect.getState().testPath : undefined;
  if (testPath === undefined || testPath === null) return 'unnamed';
  return safeName(path.relative(ROOT, testPath).replace(/\.test\.ts$/, '').split(path.sep).join('-'));
}

/**
 * Writes a full-page PNG of the page to
 * `test-results/screenshots/<suite>/<name>.png` (folders made as needed) and
 * resolves with its path. The suite defaults to {@link currentSuite}; a
 * screenshot of the same name replaces the earlier one, so a run keeps the
 * last state of each screen.
 */
export async function screenshot(page: Page, name: string, opts: { suite?: string } = {}): Promise<string> {
  const dir = path.join(SCREENSHOT_ROOT, safeName(opts.suite ?? currentSuite()));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${safeName(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---- a session per test file ---------------------------------------------------

/** A browser, one context and its page, for a test file; {@link BrowserSession.close} in afterAll. */
export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** The screenshot folder's name ({@link currentSuite} of the file that opened the session). */
  suite: string;
  /**
   * What went wrong in the page so far: uncaught errors, console errors
   * (Chromium reports a Content-Security-Policy block as one), failed
   * requests and error statuses of the page's resources (not of navigations,
   * nor of /favicon.ico); a screen's test can expect it to be empty.
   */
  problems(): string[];
  /** Forgets the problems so far, e.g. before the next screen. */
  clearProblems(): void;
  /** {@link screenshot} into this session's folder. */
  screenshot(name: string): Promise<string>;
  /** {@link scanAccessibility}, then {@link expectNoSeriousViolations}; resolves with the results. */
  expectAccessible(name: string): Promise<AxeResults>;
  /** Closes the browser; safe to call twice, and when the launch got no further than the browser. */
  close(): Promise<void>;
}

/**
 * Launches the browser and opens a page ({@link launchBrowser},
 * {@link newPage}). Call it in beforeAll and `close()` in afterAll:
 *
 * ```ts
 * let s: BrowserSession;
 * beforeAll(async () => { s = await openSession(); });
 * afterAll(async () => { await s?.close(); });
 * ```
 */
export async function openSession(opts: PageOptions & { suite?: string } = {}): Promise<BrowserSession> {
  const suite = opts.suite ?? currentSuite();
  const browser = await launchBrowser();
  let context: BrowserContext;
  let page: Page;
  try {
    ({ context, page } = await newPage(browser, opts));
  } catch (err) {
    await browser.close();
    throw err;
  }
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // Chromium's "Failed to load resource" line names no URL; the response listener below reports it with one.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    // A navigation's status is the test's to check (a 404 screen can be the point); the favicon is the
    // browser's own guess, which a page need not answer.
    const req = res.request();
    if (res.status() < 400 || req.isNavigationRequest() || new URL(res.url()).pathname === '/favicon.ico') return;
    problems.push(`HTTP ${res.status()}: ${req.method()} ${res.url()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'unknown'}`));
  let closed = false;
  return {
    browser,
    context,
    page,
    suite,
    problems: () => [...problems],
    clearProblems: () => {
      problems.length = 0;
    },
    screenshot: (name) => screenshot(page, name, { suite }),
    expectAccessible: async (name) => {
      const results = await scanAccessibility(page, name);
      expectNoSeriousViolations(results);
      return results;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await browser.close();
    },
  };
}
