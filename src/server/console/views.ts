/**
 * The console's screens: server-rendered HTML that works without
 * JavaScript, in the words of the product documents (DOMAIN.md "The
 * console"), so people who know them find their way, and tests and
 * assistive technology find controls by their labels.
 *
 * No inline script and no inline style attribute: the one stylesheet is
 * inline and allowed by its hash (CSP `style-src 'sha256-…'`), everything
 * else is `default-src 'none'`. The one exception is the "Custom App
 * Credentials" page, whose Copy buttons load {@link COPY_SCRIPT_PATH} (a
 * static file of the console, `script-src 'self'` on that page only). Forms
 * post only to this service (`form-action 'self'`, which also covers the
 * redirect to the provider's sign-in, on the issuer's origin); frames are
 * refused.
 */
import { createHash } from 'node:crypto';
import { esc } from '../oidc/screens';

const CSS = [
  'body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}',
  'header{display:flex;justify-content:space-between;align-items:center;background:#fff;padding:.5rem 1.5rem;border-bottom:1px solid #d0d4da}',
  'header .product{font-weight:700}',
  'main{max-width:56rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.2)}',
  'h1{font-size:1.4rem;margin-top:0}',
  'label,legend{display:block;margin:1rem 0 .25rem;font-weight:600}',
  'fieldset{border:0;padding:0;margin:0}',
  'fieldset label{display:inline;font-weight:400;margin:0 1rem 0 .25rem}',
  'input[type=text],textarea,select{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #767676;border-radius:4px}',
  'input[readonly]{background:#f4f5f7;font-family:ui-monospace,monospace}',
  'button,a.button{display:inline-block;margin-top:1.25rem;margin-right:.5rem;padding:.55rem 1.2rem;font-size:1rem;border-radius:4px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer;text-decoration:none}',
  'button.secondary,a.secondary{background:#fff;color:#0b57d0}',
  'button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,a:focus-visible,summary:focus-visible{outline:3px solid #f0b400;outline-offset:2px}',
  'details.menu{position:relative}',
  'details.menu summary{cursor:pointer;padding:.4rem .8rem;border:1px solid #d0d4da;border-radius:16px}',
  'details.menu ul{position:absolute;right:0;list-style:none;margin:.25rem 0 0;padding:.5rem;background:#fff;border:1px solid #d0d4da;border-radius:6px;min-width:14rem;z-index:1}',
  'details.menu li{margin:.25rem 0}',
  'details.menu form button{margin:0;width:100%;text-align:left}',
  'table{border-collapse:collapse;width:100%;margin-top:1rem}',
  'th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d0d4da;vertical-align:top}',
  '.toolbar{display:flex;gap:1rem;align-items:flex-end;justify-content:space-between}',
  '.toolbar form{flex:1}',
  '.alert,.field-error{color:#a50e0e;font-weight:600}',
  '.field-error{margin:.25rem 0 0}',
  '[aria-invalid=true]{border-color:#a50e0e;border-width:2px}',
  '.hint{color:#50555c;margin:.25rem 0 0}',
  'dialog{position:static;border:2px solid #0b57d0;border-radius:8px;padding:1.5rem;max-width:40rem}',
  '.code{font-family:ui-monospace,monospace}',
  '.crumbs{list-style:none;display:flex;gap:.5rem;padding:0;margin:0 0 1rem;color:#50555c}',
  '.crumbs li+li::before{content:"\\203A";margin-right:.5rem}',
  // Read by screen readers, not shown: the "copy by hand" hint and the "Copied" announcement.
  '.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}',
].join('');

const CSS_HASH = createHash('sha256').update(CSS, 'utf8').digest('base64');

/** The Content-Security-Policy of every console page: nothing but its own stylesheet; forms to this service only. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${CSS_HASH}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The policy of the one page with script ("Custom App Credentials"):
 * {@link CONSOLE_CSP} plus `script-src 'self'`, so the console's own static
 * {@link COPY_SCRIPT_PATH} runs and nothing inline or from elsewhere does.
 * Same-origin JSON (`/v1`) cannot be loaded as script: it is served with
 * `application/json` and `nosniff`.
 */
export const CONSOLE_CSP_WITH_SCRIPT = `${CONSOLE_CSP}; script-src 'self'`;

/** Where the console serves the Copy buttons' script (plugin.ts). */
export const COPY_SCRIPT_PATH = '/console/assets/copy.js';

/**
 * The tag that loads {@link COPY_SCRIPT}. Only {@link credentialsPage} writes
 * it; every text of a person or the API goes through `esc`, which turns `<`
 * into `&lt;`, so no page can contain it by accident and
 * {@link consoleHeaders} can tell from the markup which policy a page needs.
 */
const COPY_SCRIPT_TAG = `<script src="${COPY_SCRIPT_PATH}" defer></script>`;

/**
 * The Copy buttons of "Custom App Credentials", served as a static file
 * (never inline, so the page's policy needs no 'unsafe-inline' or hash).
 * A click on a `button[data-copy]` copies the value of the read-only input
 * its `aria-controls` names with `navigator.clipboard.writeText` and says
 * "Copied" in the page's aria-live region. The value goes to the clipboard
 * only: the script stores, logs and sends nothing (no storage, no console,
 * no fetch). Where the clipboard is refused, it selects the field so that
 * Ctrl+C copies it, as a person does without script.
 */
export const COPY_SCRIPT = `'use strict';
// appreg console: the Copy buttons of "Custom App Credentials" (src/server/console/views.ts).
// The value goes to the clipboard only: nothing is stored, logged or sent.
(function () {
  var timer;
  function announce(text) {
    var status = document.getElementById('copy-status');
    if (status === null) return;
    // Emptied first, so that a second "Copied" is announced again.
    status.textContent = '';
    clearTimeout(timer);
    timer = setTimeout(function () { status.textContent = text; }, 50);
  }
  function selectByHand(field) {
    field.focus();
    field.select();
    announce('Selected: press Ctrl+C (or Command+C) to copy.');
  }
  document.addEventListener('click', function (event) {
    var target = event.target;
    var button = target instanceof Element ? target.closest('button[data-copy]') : null;
    if (button === null) return;
    var field = document.getElementById(button.getAttribute('aria-controls') || button.getAttribute('data-copy') || '');
    if (!(field instanceof HTMLInputElement) || !field.readOnly) return;
    if (!window.isSecureContext || !navigator.clipboard || typeof navigator.clipboard.writeText !== 'function') {
      selectByHand(field);
      return;
    }
    navigator.clipboard.writeText(field.value).then(
      function () { announce('Copied'); },
      function () { selectByHand(field); }
    );
  });
})();
`;

/** Headers of every console page (HTML): never cached (CSRF tokens, and the one page that shows a secret), never framed. `html` picks the policy: script only for a page that loads {@link COPY_SCRIPT_PATH}. */
export function consoleHeaders(html = ''): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': html.includes(COPY_SCRIPT_TAG) ? CONSOLE_CSP_WITH_SCRIPT : CONSOLE_CSP,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
}

/** Who is signed in, for the header's avatar menu. */
export interface Viewer {
  username: string;
  securityAdmin: boolean;
  /** The CSRF token of the session (for the "Sign out" form). */
  csrf: string;
}

/** The avatar menu: a disclosure labelled with the person's username (keyboard usable without script). */
function avatarMenu(v: Viewer): string {
  return `<details class="menu">
<summary aria-label="Account menu of ${esc(v.username)}">${esc(v.username)}</summary>
<ul>
<li><a href="/console/apps">Register Custom Apps</a></li>
<li><a href="/console/browse">Browse App Registrations</a></li>
${v.securityAdmin ? '<li><a href="/console/admin">Administration</a></li>' : ''}
<li><form method="post" action="/console/signout">${csrfField(v.csrf)}<button type="submit" class="secondary">Sign out</button></form></li>
</ul>
</details>`;
}

/** A whole console page. `body` must already be escaped HTML; `copyScript` loads {@link COPY_SCRIPT_PATH} (credentials page only). */
export function consolePage(title: string, body: string, viewer?: Viewer, opts: { copyScript?: boolean } = {}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · appreg console</title>
<style>${CSS}</style>
${opts.copyScript === true ? `${COPY_SCRIPT_TAG}\n` : ''}</head>
<body>
<header>
<span class="product">appreg console</span>
${viewer !== undefined ? avatarMenu(viewer) : ''}
</header>
<main>
${body}
</main>
</body>
</html>`;
}

function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
}

/** The first page without a session: which organization (tenant) to sign in to. */
export function organizationPage(o: { organization?: string; error?: string }): string {
  const err = o.error !== undefined;
  return consolePage('Sign in', `<h1>Sign in to the appreg console</h1>
<form method="get" action="/console/signin">
<label for="organization">Organization</label>
<input type="text" id="organization" name="organization" autocomplete="organization" required autofocus value="${esc(o.organization ?? '')}"${err ? ' aria-invalid="true" aria-describedby="organization-error"' : ''}>
${err ? `<p class="field-error" id="organization-error">${esc(o.error!)}</p>` : ''}
<button type="submit">Continue</button>
</form>`);
}

/** An error page with a way back. Never a token, secret or internal detail. */
export function consoleErrorPage(o: { title: string; message: string; viewer?: Viewer; back?: { href: string; label: string } }): string {
  const back = o.back ?? { href: '/console', label: 'Start again' };
  return consolePage(o.title, `<h1>${esc(o.title)}</h1>
<p role="alert">${esc(o.message)}</p>
<p><a href="${esc(back.href)}">${esc(back.label)}</a></p>`, o.viewer);
}

/** A group in the "Group" picker, with the person's role in it. */
export interface GroupChoice {
  id: string;
  name: string;
  /** Whether the person may register apps in it (group admin, or security admin). */
  admin: boolean;
}

/** An app as the list shows it (from GET /v1/apps). */
export interface AppRow {
  id: string;
  name: string;
  client_id: string;
  scope: string;
  enabled: boolean;
}

/** The "Group" picker: a GET form, so choosing a group is a link that changes nothing. */
function groupPicker(groups: readonly GroupChoice[], current: string, action: string): string {
  if (groups.length < 2) return '';
  return `<form method="get" action="${esc(action)}">
<label for="group_id">Group</label>
<select id="group_id" name="group_id">
${groups.map((g) => `<option value="${esc(g.id)}"${g.id === current ? ' selected' : ''}>${esc(g.name)}</option>`).join('\n')}
</select>
<button type="submit" class="secondary">Show</button>
</form>`;
}

/** "Register Custom Apps": the current group's registrations, the "Group" picker and the "+" button. */
export function appListPage(o: { viewer: Viewer; groups: readonly GroupChoice[]; group: GroupChoice | undefined; apps: readonly AppRow[]; message?: string; status?: string }): string {
  if (o.group === undefined) {
    return consolePage('Register Custom Apps', `<h1>Register Custom Apps</h1>
<p>You are not in any group yet: a group administrator or the security administrator adds you to one.</p>`, o.viewer);
  }
  const g = o.group;
  const rows = o.apps.length === 0
    ? `<p>No app registrations in ${esc(g.name)} yet.</p>`
    : `<table>
<caption>App registrations of ${esc(g.name)}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Client ID</th><th scope="col">Scope</th><th scope="col">Enabled</th></tr></thead>
<tbody>
${o.apps.map((a) => `<tr><td><a href="/console/apps/${encodeURIComponent(a.id)}">${esc(a.name)}</a></td><td class="code">${esc(a.client_id)}</td><td>${a.scope === 'organization' ? 'Organization' : 'Group'}</td><td>${a.enabled ? 'Yes' : 'No'}</td></tr>`).join('\n')}
</tbody>
</table>`;
  const add = g.admin
    ? `<a class="button" href="/console/apps/new?group_id=${encodeURIComponent(g.id)}" aria-label="New App Registration" title="New App Registration">+</a>`
    : '';
  return consolePage('Register Custom Apps', `<h1>Register Custom Apps</h1>
${o.status !== undefined ? `<p role="status">${esc(o.status)}</p>` : ''}
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}
<div class="toolbar">
${groupPicker(o.groups, g.id, '/console/apps')}
${o.groups.length < 2 ? `<p>Group: <strong>${esc(g.name)}</strong></p>` : ''}
${add}
</div>
${rows}
<p><a href="/console/browse?group_id=${encodeURIComponent(g.id)}">Browse App Registrations</a></p>`, o.viewer);
}

/** What the person typed into "New App Registration", to show it again with the errors. */
export interface NewAppInput {
  name: string;
  callbackUrls: string;
  scope: 'group' | 'organization';
  publicClient: boolean;
  requirePkce: boolean;
  authorizationCode: boolean;
  deviceGrant: boolean;
}

/** The fields of "New App Registration" that errors can be shown at. */
export type NewAppField = 'name' | 'callback_urls' | 'scope' | 'public_client' | 'require_pkce' | 'grant_types';

/** An empty "New App Registration" form. */
export const EMPTY_NEW_APP: NewAppInput = {
  name: '',
  callbackUrls: '',
  scope: 'group',
  publicClient: false,
  requirePkce: false,
  authorizationCode: true,
  deviceGrant: false,
};

/** The attributes and message of a field with errors: aria-invalid, and aria-describedby naming the message. */
function fieldState(field: NewAppField, errors: Partial<Record<NewAppField, string[]>>): { attrs: string; message: string } {
  const list = errors[field];
  if (list === undefined || list.length === 0) return { attrs: '', message: '' };
  const id = `${field}-error`;
  return {
    attrs: ` aria-invalid="true" aria-describedby="${id}"`,
    message: `<p class="field-error" id="${id}">${list.map(esc).join('<br>')}</p>`,
  };
}

/** The "New App Registration" panel, with each rule's message at its field. */
export function newAppPage(o: {
  viewer: Viewer;
  group: GroupChoice;
  input: NewAppInput;
  errors?: Partial<Record<NewAppField, string[]>>;
  message?: string;
}): string {
  const errors = o.errors ?? {};
  const name = fieldState('name', errors);
  const urls = fieldState('callback_urls', errors);
  const scope = fieldState('scope', errors);
  const pub = fieldState('public_client', errors);
  const pkce = fieldState('require_pkce', errors);
  const grants = fieldState('grant_types', errors);
  const checked = (b: boolean): string => (b ? ' checked' : '');
  const i = o.input;
  return consolePage('New App Registration', `<h1>New App Registration</h1>
<p>Group: <strong>${esc(o.group.name)}</strong></p>
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}
<form method="post" action="/console/apps/new">
${csrfField(o.viewer.csrf)}
<input type="hidden" name="group_id" value="${esc(o.group.id)}">
<label for="name">Application Name</label>
<input type="text" id="name" name="name" required maxlength="100" value="${esc(i.name)}"${name.attrs}>
${name.message}
<label for="callback_urls">Callback URL(s)</label>
<p class="hint" id="callback_urls-hint">One URL per line, up to 60.</p>
<textarea id="callback_urls" name="callback_urls" rows="4" required${urls.attrs === '' ? ' aria-describedby="callback_urls-hint"' : urls.attrs.replace('aria-describedby="callback_urls-error"', 'aria-describedby="callback_urls-hint callback_urls-error"')}>${esc(i.callbackUrls)}</textarea>
${urls.message}
<fieldset${scope.attrs}>
<legend>Scope</legend>
<input type="radio" id="scope-group" name="scope" value="group"${checked(i.scope === 'group')}><label for="scope-group">Group</label>
<input type="radio" id="scope-organization" name="scope" value="organization"${checked(i.scope === 'organization')}><label for="scope-organization">Organization</label>
</fieldset>
${scope.message}
<p><input type="checkbox" id="public_client" name="public_client" value="true"${checked(i.publicClient)}${pub.attrs}><label for="public_client">Public client</label></p>
${pub.message}
<p><input type="checkbox" id="require_pkce" name="require_pkce" value="true"${checked(i.requirePkce)}${pkce.attrs}><label for="require_pkce">Require PKCE</label></p>
${pkce.message}
<fieldset${grants.attrs}>
<legend>Grant type</legend>
<input type="checkbox" id="grant-authorization_code" name="grant_types" value="authorization_code"${checked(i.authorizationCode)}><label for="grant-authorization_code">Authorization code</label>
<input type="checkbox" id="grant-device_code" name="grant_types" value="device_code"${checked(i.deviceGrant)}><label for="grant-device_code">Device grant</label>
</fieldset>
${grants.message}
<button type="submit">Add</button>
<a class="button secondary" href="/console/apps?group_id=${encodeURIComponent(o.group.id)}">Cancel</a>
</form>`, o.viewer);
}

/**
 * The "Custom App Credentials" dialog, on a page of its own: the client id
 * and, for a confidential app, the secret, shown this once. "OK" is a link
 * to the list (a GET that carries nothing of the secret), and the page is
 * never cached, so nothing of the secret stays once the person leaves it.
 * `okHref` is where "OK" goes (default: the group's list), e.g. back to
 * the OAuth Clients page of the administration.
 *
 * Each Copy button names its read-only field (`aria-controls`, and
 * `data-copy` for {@link COPY_SCRIPT}); the result is announced in the
 * `copy-status` live region. Without script the buttons do nothing, and the
 * fields, read-only inputs, can still be selected and copied by hand, which
 * a visually-hidden hint says.
 */
export function credentialsPage(o: { viewer: Viewer; groupId: string; appName: string; clientId: string; clientSecret?: string; okHref?: string; intro?: string }): string {
  const copyButton = (field: string, label: string): string =>
    `<button type="button" class="secondary" data-copy="${field}" aria-controls="${field}" aria-label="Copy ${label}">Copy</button>`;
  const secret = o.clientSecret === undefined
    ? '<p>This is a public client: it has no client secret.</p>'
    : `<label for="client_secret">Client Secret</label>
<input type="text" id="client_secret" readonly value="${esc(o.clientSecret)}" autocomplete="off" spellcheck="false" aria-describedby="copy-hint">
${copyButton('client_secret', 'Client Secret')}
<p class="alert" role="alert">The client secret is shown only once. Copy it now and keep it somewhere safe: it cannot be shown again (use "Rotate secret" for a new one).</p>`;
  return consolePage('Custom App Credentials', `<dialog open aria-labelledby="credentials-title" aria-modal="true">
<h1 id="credentials-title">Custom App Credentials</h1>
<p>${esc(o.intro ?? `${o.appName} is registered.`)}</p>
<p class="visually-hidden" id="copy-hint">The fields are read-only: select a value and copy it with Ctrl+C (or Command+C) if the Copy button does not work.</p>
<label for="client_id">Client ID</label>
<input type="text" id="client_id" readonly value="${esc(o.clientId)}" spellcheck="false" aria-describedby="copy-hint">
${copyButton('client_id', 'Client ID')}
${secret}
<p class="hint" id="copy-status" role="status" aria-live="polite"></p>
<p><a class="button" href="${esc(o.okHref ?? `/console/apps?group_id=${encodeURIComponent(o.groupId)}`)}">OK</a></p>
</dialog>`, o.viewer, { copyScript: true });
}
