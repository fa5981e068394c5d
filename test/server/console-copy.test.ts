/**
 * The Copy buttons of "Custom App Credentials" (views.ts): the one page
 * that loads a script, and the only one whose policy allows it. Pure
 * rendering, no service; the browser test (test/browser/console.test.ts)
 * clicks the button and reads the clipboard.
 */
import { appListPage, CONSOLE_CSP, CONSOLE_CSP_WITH_SCRIPT, consoleErrorPage, consoleHeaders, COPY_SCRIPT, COPY_SCRIPT_PATH, credentialsPage, organizationPage } from '../../src/server/console/views';

const viewer = { username: 'gina', securityAdmin: false, csrf: 'csrf-token' };

describe('the credentials page and its copy script', () => {
  const page = credentialsPage({ viewer, groupId: 'grp_1', appName: 'Billing', clientId: 'cid_123', clientSecret: 'ars_secret_value' });

  test('loads the console\'s own script, and only its page gets script-src \'self\'', () => {
    expect(page).toContain(`<script src="${COPY_SCRIPT_PATH}" defer></script>`);
    expect(consoleHeaders(page)['content-security-policy']).toBe(CONSOLE_CSP_WITH_SCRIPT);
    expect(CONSOLE_CSP_WITH_SCRIPT).toBe(`${CONSOLE_CSP}; script-src 'self'`);
    expect(CONSOLE_CSP_WITH_SCRIPT).not.toMatch(/unsafe-inline|unsafe-eval/);
    for (const other of [organizationPage({}), consoleErrorPage({ title: 't', message: 'm' }), appListPage({ viewer, groups: [], group: undefined, apps: [] })]) {
      expect(other).not.toMatch(/<script/i);
      expect(consoleHeaders(other)['content-security-policy']).toBe(CONSOLE_CSP);
    }
    expect(consoleHeaders()['content-security-policy']).toBe(CONSOLE_CSP);
  });

  test('a name that spells the script tag is escaped, so its page stays script-free', () => {
    const sneaky = credentialsPage({ viewer, groupId: 'g', appName: `<script src="${COPY_SCRIPT_PATH}" defer></script>`, clientId: 'c' });
    const list = appListPage({ viewer, groups: [{ id: 'g', name: 'g', admin: true }], group: { id: 'g', name: 'g', admin: true }, apps: [{ id: 'a', name: `<script src="${COPY_SCRIPT_PATH}" defer></script>`, client_id: 'c', scope: 'group', enabled: true }] });
    expect(consoleHeaders(list)['content-security-policy']).toBe(CONSOLE_CSP);
    expect(sneaky.match(/<script/g)).toHaveLength(1);
  });

  test('each Copy button names its read-only field, with a live region for "Copied" and a hint for copying by hand', () => {
    for (const [field, label] of [['client_id', 'Client ID'], ['client_secret', 'Client Secret']] as const) {
      expect(page).toContain(`data-copy="${field}" aria-controls="${field}" aria-label="Copy ${label}">Copy</button>`);
      expect(page).toMatch(new RegExp(`<input type="text" id="${field}" readonly [^>]*aria-describedby="copy-hint">`));
    }
    expect(page).toMatch(/<p class="visually-hidden" id="copy-hint">[^<]*select a value and copy it with Ctrl\+C/);
    expect(page).toContain('id="copy-status" role="status" aria-live="polite"></p>');
    // A public client has no secret and so one button.
    expect(credentialsPage({ viewer, groupId: 'g', appName: 'P', clientId: 'c' }).match(/data-copy=/g)).toHaveLength(1);
  });

  test('the script writes to the clipboard and the live region only: no storage, logging or requests', () => {
    expect(COPY_SCRIPT).toContain('navigator.clipboard.writeText(field.value)');
    expect(COPY_SCRIPT).toContain("announce('Copied')");
    expect(COPY_SCRIPT).not.toMatch(/localStorage|sessionStorage|indexedDB|document\.cookie|console\.|fetch\(|XMLHttpRequest|sendBeacon|WebSocket|innerHTML|eval\(/);
    // Valid JavaScript (parsed, not run).
    expect(() => new Function(COPY_SCRIPT)).not.toThrow();
  });
});
