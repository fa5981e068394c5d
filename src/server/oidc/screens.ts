/**
 * The sign-in screens: plain server-rendered HTML that works without
 * JavaScript. Field names and labels are DOMAIN.md's ("Username",
 * "Password", "Sign in"; "Allow"/"Deny" posting `decision`; "Code" and
 * "Continue" on the device page), so people, tests and password managers
 * find them. Every page is one form; every control is inside it and
 * labelled.
 *
 * Our pages carry no script at all, and a Content-Security-Policy that allows
 * only their own stylesheet (by hash), forms posted to this service (and
 * the redirects that follow a sign-in to the app's callback origins), and
 * no framing (clickjacking on a sign-in form).
 */
import { createHash } from 'node:crypto';

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = [
  'body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}',
  'main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.2)}',
  'h1{font-size:1.4rem;margin-top:0}',
  'label{display:block;margin:1rem 0 .25rem;font-weight:600}',
  'input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #767676;border-radius:4px}',
  'button{margin-top:1.25rem;margin-right:.5rem;padding:.55rem 1.2rem;font-size:1rem;border-radius:4px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer}',
  'button.secondary{background:#fff;color:#0b57d0}',
  'button:focus-visible,input:focus-visible{outline:3px solid #f0b400;outline-offset:2px}',
  '.alert{color:#a50e0e;font-weight:600}',
  '.code{font-family:ui-monospace,monospace;font-size:1.4rem;letter-spacing:.1em}',
].join('');

const CSS_HASH = createHash('sha256').update(CSS, 'utf8').digest('base64');

/**
 * The Content-Security-Policy of a screen. `formTargets` are the origins a
 * form post may end up at after redirects (browsers check form-action on
 * every redirect): the apps' callback origins on sign-in and consent pages.
 */
export function contentSecurityPolicy(formTargets: readonly string[] = [], scriptHashes: readonly string[] = []): string {
  const targets = [...new Set(formTargets.filter((o) => /^https?:\/\/[^\s;,']+$/.test(o)))];
  return [
    "default-src 'none'",
    `style-src 'sha256-${CSS_HASH}'`,
    ...(scriptHashes.length > 0 ? [`script-src ${scriptHashes.map((h) => `'sha256-${h}'`).join(' ')}`] : []),
    `form-action 'self'${targets.map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Headers every screen is sent with. `scriptHashes` (base64 SHA-256) are for
 * the few pages oidc-provider itself makes that submit a form by script
 * (the `form_post` response mode): exactly those scripts may run.
 */
export function screenHeaders(formTargets: readonly string[] = [], scriptHashes: readonly string[] = []): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': contentSecurityPolicy(formTargets, scriptHashes),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    // Pages hold CSRF tokens and who is signing in to what: never cached.
    'cache-control': 'no-store',
  };
}

/** A whole page. `body` must already be escaped HTML. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · appreg</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
}

/** The sign-in form. `error` is shown above the fields (only "Wrong username or password" in practice). */
export function signInPage(o: { action: string; csrf: string; appName: string; username?: string; error?: string }): string {
  return page('Sign in', `<h1>Sign in to ${esc(o.appName)}</h1>
${o.error !== undefined ? `<p class="alert" role="alert">${esc(o.error)}</p>` : ''}
<form method="post" action="${esc(o.action)}">
${hidden({ csrf: o.csrf })}
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${esc(o.username ?? '')}"${o.username === undefined ? ' autofocus' : ''}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${o.username !== undefined ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>`);
}

/** The consent screen: names the app and its owning group; asked once per person and app. */
export function consentPage(o: { action: string; csrf: string; appName: string; groupName: string; username: string; scopes: readonly string[] }): string {
  const what = o.scopes.length === 0 ? '' : `<p>It asks for: ${o.scopes.map((s) => `<span class="code">${esc(s)}</span>`).join(', ')}.</p>`;
  return page('Allow access', `<h1>Allow ${esc(o.appName)}?</h1>
<p><strong>${esc(o.appName)}</strong>, registered by the group <strong>${esc(o.groupName)}</strong>, wants to act as you (<strong>${esc(o.username)}</strong>) with your permissions.</p>
${what}
<form method="post" action="${esc(o.action)}">
${hidden({ csrf: o.csrf })}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`);
}

/** The device page at the verification URI: the code shown on the device. */
export function deviceCodePage(o: { action: string; xsrf: string; error?: string; code?: string }): string {
  return page('Connect a device', `<h1>Connect a device</h1>
${o.error !== undefined ? `<p class="alert" role="alert">${esc(o.error)}</p>` : '<p>Enter the code your device shows.</p>'}
<form method="post" action="${esc(o.action)}">
${hidden({ xsrf: o.xsrf })}
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus value="${esc(o.code ?? '')}">
<button type="submit">Continue</button>
</form>`);
}

/** Confirmation that the code belongs to the app the person expects. */
export function deviceConfirmPage(o: { action: string; xsrf: string; userCode: string; appName: string; groupName: string }): string {
  return page('Connect a device', `<h1>Connect ${esc(o.appName)}?</h1>
<p>A device wants to sign in to <strong>${esc(o.appName)}</strong> (group <strong>${esc(o.groupName)}</strong>) as you.</p>
<p>Check that your device shows this code: <span class="code">${esc(o.userCode)}</span></p>
<p>If you did not start this, or the code differs, choose Cancel.</p>
<form method="post" action="${esc(o.action)}">
${hidden({ xsrf: o.xsrf, user_code: o.userCode })}
<button type="submit" name="confirm" value="yes">Continue</button>
<button type="submit" name="abort" value="yes" class="secondary">Cancel</button>
</form>`);
}

/** The end of the device flow. */
export function deviceDonePage(appName: string): string {
  return page('Device connected', `<h1>Your device is connected</h1>
<p>You are signed in to <strong>${esc(appName)}</strong> on your device. You can close this page.</p>`);
}

/** Signing out of the provider (its session cookie), asked before it happens. */
export function signOutPage(o: { action: string; xsrf: string }): string {
  return page('Sign out', `<h1>Sign out?</h1>
<p>This signs you out here: the next app you open asks you to sign in again. Tokens apps already hold stay valid until they expire or are revoked.</p>
<form method="post" action="${esc(o.action)}">
${hidden({ xsrf: o.xsrf })}
<button type="submit" name="logout" value="yes">Sign out</button>
<button type="submit" class="secondary">Stay signed in</button>
</form>`);
}

/** After signing out. */
export function signedOutPage(): string {
  return page('Signed out', `<h1>You are signed out</h1>
<p>You can close this page.</p>`);
}

/** An error page: what went wrong, in words, and the OAuth error code. Never a token, secret or internal detail. */
export function errorPage(o: { title: string; message: string; code?: string }): string {
  return page(o.title, `<h1>${esc(o.title)}</h1>
<p role="alert">${esc(o.message)}</p>
${o.code !== undefined ? `<p>Error code: <span class="code">${esc(o.code)}</span></p>` : ''}`);
}
