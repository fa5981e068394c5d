/**
 * The console's page of one app (DOMAIN.md "The console", "Per app"):
 * edit name, callback URLs and "Enabled"; "Rotate secret" and delete, each
 * after a confirmation page. Every change is a `/v1` call with the person's
 * token and the app's version as `If-Match`, so a page opened before
 * somebody else's change cannot overwrite it (412), and the API alone
 * decides who may do what: a member sees the page read-only, and a forced
 * POST by them shows the API's 403.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { esc } from '../oidc/screens';
import { apiProblemText, type ConsoleApiAnswer, type ConsoleContext, formString } from './context';
import type { ConsoleSession } from './session';
import { type AppRow, appListPage, consoleErrorPage, consolePage, credentialsPage, type GroupChoice, type Viewer } from './views';

/** Console routes are public for the service's bearer-token hook: the console checks its own session. */
const PUBLIC = { config: { public: true } } as const;

/** An app as GET /v1/apps/{id} gives it (the parts the page uses). */
export interface AppDetail {
  id: string;
  client_id: string;
  group_id: string;
  name: string;
  callback_urls: string[];
  scope: string;
  public_client: boolean;
  enabled: boolean;
  secret_version: number;
  version: number;
}

/** What the person typed into the app page, shown again with errors. */
export interface AppEditInput {
  name: string;
  callbackUrls: string;
  enabled: boolean;
}

/** The fields of the app page that errors can be shown at. */
export type AppEditField = 'name' | 'callback_urls' | 'enabled';

/** Why a confirmation page is not offered: the API would refuse the action anyway (a forced POST still gets its 403). */
const READ_ONLY_MESSAGE = 'You may not do this: only a group administrator of the app\'s group changes it.';

/** The message of a stale If-Match, in the words people read. */
export const STALE_MESSAGE = 'Someone changed this registration since you opened it; reload';

/** Each API field error at its field of the app page (`callback_urls[2]` is line 3); the rest as text. */
export function editErrorsByField(json: unknown): { fields: Partial<Record<AppEditField, string[]>>; other: string[] } {
  const fields: Partial<Record<AppEditField, string[]>> = {};
  const other: string[] = [];
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  for (const e of Array.isArray(errors) ? (errors as Array<{ path?: unknown; message?: unknown }>) : []) {
    const message = typeof e.message === 'string' ? e.message : 'is not valid';
    const path = typeof e.path === 'string' ? e.path : '';
    const m = /^(name|callback_urls|enabled)(?:\[(\d+)\])?/.exec(path);
    if (m === null) {
      other.push(`${path === '' ? 'request' : path}: ${message}`);
      continue;
    }
    (fields[m[1] as AppEditField] ??= []).push(m[2] !== undefined ? `Line ${Number(m[2]) + 1}: ${message}` : message);
  }
  return { fields, other };
}

function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
}

function fieldState(field: AppEditField, errors: Partial<Record<AppEditField, string[]>>, hint?: string): { attrs: string; message: string } {
  const list = errors[field];
  const described = [...(hint !== undefined ? [hint] : []), ...(list !== undefined && list.length > 0 ? [`${field}-error`] : [])];
  const invalid = list !== undefined && list.length > 0;
  return {
    attrs: `${invalid ? ' aria-invalid="true"' : ''}${described.length > 0 ? ` aria-describedby="${described.join(' ')}"` : ''}`,
    message: invalid ? `<p class="field-error" id="${field}-error">${list.map(esc).join('<br>')}</p>` : '',
  };
}

const appPath = (id: string): string => `/console/apps/${encodeURIComponent(id)}`;

/**
 * The page of one app. A group administrator gets the form ("Save") and
 * the buttons "Rotate secret" (confidential apps only) and "Delete", which
 * open confirmation pages by GET (nothing changes until the confirmation's
 * POST). Anyone else sees the same fields read-only, outside any form.
 */
export function appPage(o: {
  viewer: Viewer;
  app: AppDetail;
  groupName: string;
  canEdit: boolean;
  input?: AppEditInput;
  /** The version the form edits: the one the page was opened at (kept across errors, so a stale page stays stale). */
  version?: number;
  errors?: Partial<Record<AppEditField, string[]>>;
  message?: string;
  status?: string;
}): string {
  const a = o.app;
  const i = o.input ?? { name: a.name, callbackUrls: a.callback_urls.join('\n'), enabled: a.enabled };
  const errors = o.errors ?? {};
  const name = fieldState('name', errors);
  const urls = fieldState('callback_urls', errors, 'callback_urls-hint');
  const enabled = fieldState('enabled', errors);
  const ro = o.canEdit ? '' : ' readonly';
  const fields = `<label for="name">Application Name</label>
<input type="text" id="name" name="name" required maxlength="100" value="${esc(i.name)}"${ro}${name.attrs}>
${name.message}
<label for="callback_urls">Callback URL(s)</label>
<p class="hint" id="callback_urls-hint">One URL per line, up to 60.</p>
<textarea id="callback_urls" name="callback_urls" rows="4" required${ro}${urls.attrs}>${esc(i.callbackUrls)}</textarea>
${urls.message}
<p><input type="checkbox" id="enabled" name="enabled" value="true"${i.enabled ? ' checked' : ''}${o.canEdit ? '' : ' disabled'}${enabled.attrs}><label for="enabled">Enabled</label></p>
${enabled.message}`;
  const edit = o.canEdit
    ? `<form method="post" action="${appPath(a.id)}">
${csrfField(o.viewer.csrf)}
<input type="hidden" name="version" value="${o.version ?? a.version}">
${fields}
<button type="submit">Save</button>
</form>
<h2>Actions</h2>
${a.public_client ? '<p>This is a public client: it has no client secret to rotate.</p>' : `<form method="get" action="${appPath(a.id)}/rotate"><button type="submit" class="secondary">Rotate secret</button></form>`}
<form method="get" action="${appPath(a.id)}/delete"><button type="submit" class="secondary">Delete</button></form>`
    : `<p>Only a group administrator of ${esc(o.groupName)} changes this registration; you see it read-only.</p>
${fields}`;
  return consolePage(a.name, `<h1>${esc(a.name)}</h1>
${o.status !== undefined ? `<p role="status">${esc(o.status)}</p>` : ''}
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}
<table>
<caption>Registration</caption>
<tbody>
<tr><th scope="row">Group</th><td>${esc(o.groupName)}</td></tr>
<tr><th scope="row">Client ID</th><td class="code">${esc(a.client_id)}</td></tr>
<tr><th scope="row">Scope</th><td>${a.scope === 'organization' ? 'Organization' : 'Group'}</td></tr>
<tr><th scope="row">Client type</th><td>${a.public_client ? 'Public client' : 'Confidential'}</td></tr>
${a.public_client ? '' : `<tr><th scope="row">Secret version</th><td>${a.secret_version}</td></tr>`}
</tbody>
</table>
${edit}
<p><a href="/console/apps?group_id=${encodeURIComponent(a.group_id)}">Back to Register Custom Apps</a></p>`, o.viewer);
}

/** A confirmation page: what will happen, the POST that does it (with the CSRF token and the version), and "Cancel". */
export function confirmPage(o: { viewer: Viewer; title: string; explanation: string; action: string; button: string; version: number; cancelHref: string }): string {
  return consolePage(o.title, `<h1>${esc(o.title)}</h1>
<p>${esc(o.explanation)}</p>
<form method="post" action="${esc(o.action)}">
${csrfField(o.viewer.csrf)}
<input type="hidden" name="version" value="${o.version}">
<button type="submit">${esc(o.button)}</button>
</form>
<form method="get" action="${esc(o.cancelHref)}"><button type="submit" class="secondary">Cancel</button></form>`, o.viewer);
}

/** The `If-Match` of a form's version field: a malformed one never matches, so it gets the stale-page message. */
function ifMatch(body: Record<string, unknown>): Record<string, string> {
  const v = formString(body.version);
  return { 'if-match': /^\d{1,15}$/.test(v) ? `"${v}"` : '"invalid"' };
}

/** The console's per-app routes. */
export function registerAppActions(app: FastifyInstance, ctx: ConsoleContext): void {
  const { api, withSession, checkedForm, viewerOf, send } = ctx;

  /** The app with the person's view of it, or undefined once an error page has been sent. */
  const load = async (s: ConsoleSession, id: string, reply: FastifyReply): Promise<{ viewer: Viewer; groups: GroupChoice[]; app: AppDetail; groupName: string; canEdit: boolean } | undefined> => {
    const { viewer, groups } = await viewerOf(s);
    const r = await api(s, 'GET', `/v1/apps/${encodeURIComponent(id)}`);
    if (r.status !== 200) {
      void send(reply, r.status === 404 ? 404 : r.status, consoleErrorPage({
        title: r.status === 404 ? 'No such app' : 'Request refused',
        message: r.status === 404 ? 'That app registration does not exist, or you may not see it.' : apiProblemText(r),
        viewer,
        back: { href: '/console/apps', label: 'Back to Register Custom Apps' },
      }));
      return undefined;
    }
    const a = r.json as AppDetail;
    const group = groups.find((g) => g.id === a.group_id);
    // Display only: the API decides each change, and a forced POST by anyone else gets its 403.
    return { viewer, groups, app: a, groupName: group?.name ?? a.group_id, canEdit: group?.admin === true };
  };

  /** A refusal by the API on a confirmation's POST, shown on the app's page. */
  const refused = (reply: FastifyReply, r: ConsoleApiAnswer, l: { viewer: Viewer; app: AppDetail; groupName: string; canEdit: boolean }): FastifyReply =>
    send(reply, r.status, appPage({ ...l, message: r.status === 412 ? STALE_MESSAGE : apiProblemText(r) }));

  app.get<{ Params: { id: string } }>('/apps/:id', PUBLIC, withSession(async (s, req, reply) => {
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    return send(reply, 200, appPage(l));
  }));

  app.post<{ Params: { id: string } }>('/apps/:id', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    const input: AppEditInput = {
      name: formString(body.name),
      callbackUrls: formString(body.callback_urls),
      enabled: formString(body.enabled) === 'true',
    };
    const r = await api(s, 'PATCH', `/v1/apps/${encodeURIComponent(l.app.id)}`, {
      name: input.name,
      callback_urls: input.callbackUrls.split(/\r?\n/).map((u) => u.trim()).filter((u) => u !== ''),
      enabled: input.enabled,
    }, ifMatch(body));
    if (r.status === 200) {
      return send(reply, 200, appPage({ ...l, app: r.json as AppDetail, status: 'Saved.' }));
    }
    const version = Number(formString(body.version));
    const kept = { ...l, input, ...(Number.isSafeInteger(version) ? { version } : {}) };
    if (r.status === 412) return send(reply, 412, appPage({ ...kept, message: STALE_MESSAGE }));
    const { fields, other } = editErrorsByField(r.json);
    // A taken name (409) belongs at the name too.
    if (r.status === 409 && Object.keys(fields).length === 0) fields.name = [apiProblemText(r)];
    if (Object.keys(fields).length > 0) {
      return send(reply, r.status, appPage({ ...kept, errors: fields, message: ['Nothing was saved: correct the fields marked below.', ...other].join(' ') }));
    }
    return send(reply, r.status, appPage({ ...kept, message: apiProblemText(r) }));
  }));

  app.get<{ Params: { id: string } }>('/apps/:id/rotate', PUBLIC, withSession(async (s, req, reply) => {
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    if (l.app.public_client) return send(reply, 409, appPage({ ...l, message: 'This is a public client: it has no client secret to rotate.' }));
    if (!l.canEdit) return send(reply, 403, appPage({ ...l, message: READ_ONLY_MESSAGE }));
    return send(reply, 200, confirmPage({
      viewer: l.viewer,
      title: 'Rotate secret?',
      explanation: `A new client secret is issued for ${l.app.name} and shown once. The old secret stops working at once: ` +
        'everything that signs in with it fails until it is given the new one.',
      action: `${appPath(l.app.id)}/rotate`,
      button: 'Rotate secret',
      version: l.app.version,
      cancelHref: appPath(l.app.id),
    }));
  }));

  app.post<{ Params: { id: string } }>('/apps/:id/rotate', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    const r = await api(s, 'POST', `/v1/apps/${encodeURIComponent(l.app.id)}/rotate-secret`, undefined, ifMatch(body));
    if (r.status !== 200) return refused(reply, r, l);
    const out = r.json as AppDetail & { client_secret: string };
    // The secret goes into this one never-cached page only: not a URL, not a cookie, not the log.
    return send(reply, 200, credentialsPage({
      viewer: l.viewer,
      groupId: out.group_id,
      appName: out.name,
      clientId: out.client_id,
      clientSecret: out.client_secret,
      intro: `${out.name} has a new client secret; the old one no longer works.`,
      okHref: appPath(out.id),
    }));
  }));

  app.get<{ Params: { id: string } }>('/apps/:id/delete', PUBLIC, withSession(async (s, req, reply) => {
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    if (!l.canEdit) return send(reply, 403, appPage({ ...l, message: READ_ONLY_MESSAGE }));
    return send(reply, 200, confirmPage({
      viewer: l.viewer,
      title: `Delete ${l.app.name}?`,
      explanation: `The registration ${l.app.name} is deleted and its consents go too: every group that added consent to it loses it, ` +
        'and its client ID and secret stop working. This cannot be undone.',
      action: `${appPath(l.app.id)}/delete`,
      button: 'Delete',
      version: l.app.version,
      cancelHref: appPath(l.app.id),
    }));
  }));

  app.post<{ Params: { id: string } }>('/apps/:id/delete', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const l = await load(s, (req.params as { id: string }).id, reply);
    if (l === undefined) return reply;
    const r = await api(s, 'DELETE', `/v1/apps/${encodeURIComponent(l.app.id)}`, undefined, ifMatch(body));
    if (r.status !== 204) return refused(reply, r, l);
    // The list of the app's group, with what happened; rendered here rather than redirected so the message needs no URL or cookie.
    const group = ctx.pickGroup(l.groups, l.app.group_id);
    let apps: AppRow[] = [];
    if (group !== undefined) {
      const list = await api(s, 'GET', `/v1/apps?group_id=${encodeURIComponent(group.id)}&limit=100`);
      if (list.status === 200) apps = (list.json as { items: Array<AppRow & { group_id: string }> }).items.filter((a) => a.group_id === group.id);
    }
    return send(reply, 200, appListPage({ viewer: l.viewer, groups: l.groups, group, apps, status: `Deleted ${l.app.name} and its consents.` }));
  }));
}
