/**
 * "Administration" > "Security" > "OAuth Clients" (DOMAIN.md "The
 * console"): for a tenant security admin, the tenant's OAuth switch, every
 * client of the tenant, "Enable OAuth" while it is off, and "New" (the
 * "Create OAuth 2.0 client" dialog).
 *
 * Like the rest of the console, every read and write is a `/v1` call with
 * the person's own token (plugin.ts `api`): the API decides who may do what,
 * and its refusals are what people see. Registered by plugin.ts with the
 * helpers it owns (session, CSRF, page sending), so this file adds routes
 * and screens only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { esc } from '../oidc/screens';
import type { ConsoleSession } from './session';
import { consoleErrorPage, consolePage, credentialsPage, type GroupChoice, type Viewer } from './views';

/** A `/v1` answer, as plugin.ts's `api` gives it. */
export interface AdminApiAnswer {
  status: number;
  json: any;
  etag?: string;
}

/** A route handler that runs with the person's session (plugin.ts `withSession`). */
export type SessionHandler = (s: ConsoleSession, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** What plugin.ts lends these routes: its session, `/v1`, CSRF and page helpers. */
export interface AdminContext {
  withSession(handler: SessionHandler): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
  api(s: ConsoleSession, method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown, headers?: Record<string, string>): Promise<AdminApiAnswer>;
  viewerOf(s: ConsoleSession): Promise<{ viewer: Viewer; groups: GroupChoice[] }>;
  send(reply: FastifyReply, status: number, html: string): FastifyReply;
  checkedForm(s: ConsoleSession, req: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined;
  /** The route options that make a route public for the service's bearer-token hook. */
  publicRoute: { readonly config: { readonly public: true } };
}

/** The tenant's OAuth settings (GET /v1/tenant/oauth-settings). */
interface Settings {
  oauth_enabled: boolean;
  sso_enabled: boolean;
  device_grant_allowed: boolean;
}

/** A client as the OAuth Clients table shows it (from GET /v1/apps). */
export interface ClientRow {
  id: string;
  name: string;
  group_id: string;
  client_id: string;
  grant_types: string[];
  enabled: boolean;
}

/** The "Type" of the "Create OAuth 2.0 client" dialog: one grant each. */
export type ClientType = 'authorization_code' | 'device_code';

/** What was typed into "Create OAuth 2.0 client", to show it again with the errors. */
export interface NewClientInput {
  name: string;
  type: ClientType;
  callbackUrls: string;
  groupId: string;
}

/** The fields of the dialog that errors show at. */
export type NewClientField = 'name' | 'type' | 'callback_urls' | 'group_id';

const CLIENTS_PATH = '/console/admin/oauth-clients';

/** How many pages of 200 the table reads at most: a tenant's clients, without letting one page load run unbounded. */
const MAX_LIST_PAGES = 25;

const GRANT_NAMES: Record<string, string> = { authorization_code: 'Authorization code', device_code: 'Device grant' };

/** The form field of an API error path (`callback_urls[1]` is "Callback URLs", line 2); undefined for a path the dialog has no field for. */
export function clientFieldOfPath(path: string): { field: NewClientField; line?: number } | undefined {
  const m = /^([a-z_]+)(?:\[(\d+)\])?/.exec(path);
  if (m === null) return undefined;
  const field: NewClientField | undefined =
    m[1] === 'name' ? 'name'
      : m[1] === 'callback_urls' ? 'callback_urls'
        : m[1] === 'grant_types' ? 'type'
          : m[1] === 'group_id' ? 'group_id'
            : undefined;
  if (field === undefined) return undefined;
  return { field, ...(m[2] !== undefined ? { line: Number(m[2]) + 1 } : {}) };
}

/** The registration body of the dialog, as POST /v1/groups/{id}/apps takes it. */
export function clientBody(i: NewClientInput): Record<string, unknown> {
  return {
    name: i.name,
    callback_urls: i.callbackUrls.split(/\r?\n/).map((u) => u.trim()).filter((u) => u !== ''),
    // The dialog of the product document has no scope: a tenant's OAuth client is usable in its own group.
    scope: 'group',
    grant_types: [i.type],
  };
}

/** The words of a refusal from the API. */
function refusal(r: AdminApiAnswer): string {
  const p = (r.json ?? {}) as { detail?: unknown; title?: unknown };
  return typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `The service answered ${r.status}.`;
}

function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
}

/** "Administration › Security › OAuth Clients", so people see where they are and can go up. */
function breadcrumbs(current: 'admin' | 'clients' | 'new'): string {
  const items = [
    current === 'admin' ? '<li aria-current="page">Administration</li>' : '<li><a href="/console/admin">Administration</a></li>',
    '<li>Security</li>',
    ...(current === 'clients'
      ? ['<li aria-current="page">OAuth Clients</li>']
      : current === 'new'
        ? [`<li><a href="${CLIENTS_PATH}">OAuth Clients</a></li>`, '<li aria-current="page">Create OAuth 2.0 client</li>']
        : []),
  ];
  return `<nav aria-label="Breadcrumb"><ol class="crumbs">${items.join('')}</ol></nav>`;
}

/** "Administration": its one section so far, "Security" > "OAuth Clients". */
export function administrationPage(viewer: Viewer): string {
  return consolePage('Administration', `${breadcrumbs('admin')}
<h1>Administration</h1>
<h2>Security</h2>
<ul>
<li><a href="${CLIENTS_PATH}">OAuth Clients</a>: the organization's OAuth 2.0 clients, and whether OAuth is enabled</li>
</ul>`, viewer);
}

/** "OAuth Clients": the switch, "Enable OAuth" while it is off, "New", and every client of the tenant. */
export function oauthClientsPage(o: { viewer: Viewer; settings: Settings; clients: readonly ClientRow[]; groups: readonly GroupChoice[]; message?: string; truncated?: boolean }): string {
  const groupName = new Map(o.groups.map((g) => [g.id, g.name]));
  const on = o.settings.oauth_enabled;
  const state = `<p id="oauth-state">OAuth is <strong>${on ? 'enabled' : 'disabled'}</strong> for this organization.${o.settings.sso_enabled ? ' The organization uses single sign-on, so the device grant is not available.' : ''}</p>`;
  const enable = on
    ? ''
    : `<form method="post" action="/console/admin/oauth-settings">
${csrfField(o.viewer.csrf)}
<p class="hint">OAuth must be enabled before the first client can be created.</p>
<button type="submit">Enable OAuth</button>
</form>`;
  const add = on ? `<a class="button" href="${CLIENTS_PATH}/new" aria-label="New OAuth 2.0 client">New</a>` : '';
  const rows = o.clients.length === 0
    ? '<p>No OAuth clients yet.</p>'
    : `<table>
<caption>OAuth clients of this organization</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Group</th><th scope="col">Client ID</th><th scope="col">Grant types</th><th scope="col">Enabled</th></tr></thead>
<tbody>
${o.clients.map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(groupName.get(c.group_id) ?? c.group_id)}</td><td class="code">${esc(c.client_id)}</td><td>${esc(c.grant_types.map((g) => GRANT_NAMES[g] ?? g).join(', '))}</td><td>${c.enabled ? 'Yes' : 'No'}</td></tr>`).join('\n')}
</tbody>
</table>${o.truncated === true ? '\n<p class="hint">Only the first clients are listed.</p>' : ''}`;
  return consolePage('OAuth Clients', `${breadcrumbs('clients')}
<h1>OAuth Clients</h1>
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}
${state}
${enable}
${add}
${rows}`, o.viewer);
}

/** aria-invalid and aria-describedby (hint first, then the message) of a field, and its message. */
function fieldState(field: NewClientField, errors: Partial<Record<NewClientField, string[]>>, hint?: string): { attrs: string; message: string } {
  const list = errors[field];
  const bad = list !== undefined && list.length > 0;
  const described = [...(hint !== undefined ? [hint] : []), ...(bad ? [`${field}-error`] : [])];
  return {
    attrs: `${bad ? ' aria-invalid="true"' : ''}${described.length > 0 ? ` aria-describedby="${described.join(' ')}"` : ''}`,
    message: bad ? `<p class="field-error" id="${field}-error">${list.map(esc).join('<br>')}</p>` : '',
  };
}

/** The "Create OAuth 2.0 client" dialog, on a page of its own (no script), each rule's message at its field. */
export function newClientPage(o: {
  viewer: Viewer;
  groups: readonly GroupChoice[];
  settings: Settings;
  input: NewClientInput;
  errors?: Partial<Record<NewClientField, string[]>>;
  message?: string;
}): string {
  const errors = o.errors ?? {};
  const name = fieldState('name', errors, 'name-hint');
  const type = fieldState('type', errors, o.settings.device_grant_allowed ? undefined : 'type-hint');
  const urls = fieldState('callback_urls', errors, 'callback_urls-hint');
  const group = fieldState('group_id', errors, 'group_id-hint');
  const i = o.input;
  const selected = (b: boolean): string => (b ? ' selected' : '');
  return consolePage('Create OAuth 2.0 client', `${breadcrumbs('new')}
<dialog open aria-labelledby="new-client-title">
<h1 id="new-client-title">Create OAuth 2.0 client</h1>
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}
<form method="post" action="${CLIENTS_PATH}/new">
${csrfField(o.viewer.csrf)}
<label for="name">Name</label>
<p class="hint" id="name-hint">Letters and digits, single spaces between words, and ? or !.</p>
<input type="text" id="name" name="name" required maxlength="100" value="${esc(i.name)}"${name.attrs}>
${name.message}
<label for="type">Type</label>
<select id="type" name="type"${type.attrs}>
<option value="authorization_code"${selected(i.type === 'authorization_code')}>Authorization code</option>
<option value="device_code"${selected(i.type === 'device_code')}${o.settings.device_grant_allowed ? '' : ' disabled'}>Device grant</option>
</select>
${o.settings.device_grant_allowed ? '' : '<p class="hint" id="type-hint">The device grant is not available while the organization uses single sign-on.</p>'}
${type.message}
<label for="callback_urls">Callback URLs</label>
<p class="hint" id="callback_urls-hint">One URL per line, up to 60; at least one, even for the device grant.</p>
<textarea id="callback_urls" name="callback_urls" rows="4" required${urls.attrs}>${esc(i.callbackUrls)}</textarea>
${urls.message}
<label for="group_id">Group</label>
<p class="hint" id="group_id-hint">The group the client is registered in.</p>
<select id="group_id" name="group_id"${group.attrs}>
${o.groups.map((g) => `<option value="${esc(g.id)}"${selected(g.id === i.groupId)}>${esc(g.name)}</option>`).join('\n')}
</select>
${group.message}
<button type="submit">Create</button>
<a class="button secondary" href="${CLIENTS_PATH}">Cancel</a>
</form>
</dialog>`, o.viewer);
}

/** The dialog's values from a urlencoded body. */
function clientInput(body: Record<string, unknown>, fallbackGroup: string): NewClientInput {
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    name: str(body.name),
    type: str(body.type) === 'device_code' ? 'device_code' : 'authorization_code',
    callbackUrls: str(body.callback_urls),
    groupId: str(body.group_id) === '' ? fallbackGroup : str(body.group_id),
  };
}

/** Registers the Administration routes on the console plugin (prefix `/console`). */
export function adminRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { withSession, api, viewerOf, send, checkedForm, publicRoute } = ctx;

  /**
   * The API's own refusal for a person who is not a security admin, as a
   * 403 page; undefined for a security admin. Every GET of the API these
   * screens read is open to any person (a member may read the settings,
   * and sees their groups' apps), so the refusal is asked of the write the
   * screens exist for: setting OAuth to the value it already has, with the
   * ETag just read as If-Match. It cannot change anything: the API refuses a
   * non-admin before looking at the body, and should the person be an admin
   * after all, the same value under If-Match is a no-op (or a 412).
   */
  const refusedPage = async (s: ConsoleSession, viewer: Viewer, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (viewer.securityAdmin) return undefined;
    const read = await api(s, 'GET', '/v1/tenant/oauth-settings');
    const probe = read.status === 200 && read.etag !== undefined
      ? await api(s, 'PUT', '/v1/tenant/oauth-settings', { oauth_enabled: (read.json as Settings).oauth_enabled }, { 'if-match': read.etag })
      : read;
    if (probe.status === 200) return undefined;
    return send(reply, probe.status === 403 ? 403 : probe.status, consoleErrorPage({
      title: probe.status === 403 ? 'Not allowed' : 'Administration is not available',
      message: refusal(probe),
      viewer,
      back: { href: '/console/apps', label: 'Back to Register Custom Apps' },
    }));
  };

  const settingsOf = async (s: ConsoleSession): Promise<Settings | AdminApiAnswer> => {
    const r = await api(s, 'GET', '/v1/tenant/oauth-settings');
    return r.status === 200 ? (r.json as Settings) : r;
  };

  /** Every client of the tenant (all groups), page by page. */
  const allClients = async (s: ConsoleSession): Promise<{ clients: ClientRow[]; truncated: boolean } | AdminApiAnswer> => {
    const clients: ClientRow[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < MAX_LIST_PAGES; n++) {
      const r = await api(s, 'GET', `/v1/apps?limit=200${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (r.status !== 200) return r;
      const page = r.json as { items: ClientRow[]; next_cursor?: string | null };
      clients.push(...page.items);
      if (typeof page.next_cursor !== 'string' || page.next_cursor === '') return { clients, truncated: false };
      cursor = page.next_cursor;
    }
    return { clients, truncated: true };
  };

  const apiErrorPage = (reply: FastifyReply, viewer: Viewer, r: AdminApiAnswer): FastifyReply =>
    send(reply, r.status >= 400 ? r.status : 502, consoleErrorPage({ title: r.status === 403 ? 'Not allowed' : 'Request refused', message: refusal(r), viewer, back: { href: CLIENTS_PATH, label: 'Back to OAuth Clients' } }));

  app.get('/admin', publicRoute, withSession(async (s, _req, reply) => {
    const { viewer } = await viewerOf(s);
    const refused = await refusedPage(s, viewer, reply);
    if (refused !== undefined) return refused;
    return send(reply, 200, administrationPage(viewer));
  }));

  app.get('/admin/oauth-clients', publicRoute, withSession(async (s, _req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const refused = await refusedPage(s, viewer, reply);
    if (refused !== undefined) return refused;
    const settings = await settingsOf(s);
    if ('status' in settings) return apiErrorPage(reply, viewer, settings);
    const list = await allClients(s);
    if ('status' in list) return apiErrorPage(reply, viewer, list);
    return send(reply, 200, oauthClientsPage({ viewer, settings, groups, clients: list.clients, truncated: list.truncated }));
  }));

  app.post('/admin/oauth-settings', publicRoute, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    // The only switch this page offers is turning OAuth on; turning it off is left to the API (and Terraform).
    const r = await api(s, 'PUT', '/v1/tenant/oauth-settings', { oauth_enabled: true });
    if (r.status !== 200) return apiErrorPage(reply, (await viewerOf(s)).viewer, r);
    // Post/redirect/get: a reload of the list does not post again.
    return reply.code(303).header('cache-control', 'no-store').redirect(CLIENTS_PATH);
  }));

  app.get('/admin/oauth-clients/new', publicRoute, withSession(async (s, _req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const refused = await refusedPage(s, viewer, reply);
    if (refused !== undefined) return refused;
    const settings = await settingsOf(s);
    if ('status' in settings) return apiErrorPage(reply, viewer, settings);
    return send(reply, 200, newClientPage({
      viewer,
      groups,
      settings,
      input: { name: '', type: 'authorization_code', callbackUrls: '', groupId: groups[0]?.id ?? '' },
      ...(settings.oauth_enabled ? {} : { message: 'OAuth is disabled for this organization: enable it on the OAuth Clients page first, or "Create" will be refused.' }),
    }));
  }));

  app.post('/admin/oauth-clients/new', publicRoute, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const { viewer, groups } = await viewerOf(s);
    // The same gate as the dialog's page: a group admin registers in "Register Custom Apps", not here.
    const refused = await refusedPage(s, viewer, reply);
    if (refused !== undefined) return refused;
    const settings = await settingsOf(s);
    if ('status' in settings) return apiErrorPage(reply, viewer, settings);
    const input = clientInput(body, groups[0]?.id ?? '');
    const errors: Partial<Record<NewClientField, string[]>> = {};
    // A group not offered is not sent on: the API would answer 404 for a group it hides, which reads worse at the field.
    if (!groups.some((g) => g.id === input.groupId)) {
      errors.group_id = ['Choose one of the groups listed.'];
      return send(reply, 422, newClientPage({ viewer, groups, settings, input, errors, message: 'The client was not created: correct the fields marked below.' }));
    }
    const r = await api(s, 'POST', `/v1/groups/${encodeURIComponent(input.groupId)}/apps`, clientBody(input));
    if (r.status === 201) {
      const created = r.json as { name: string; client_id: string; client_secret?: string };
      return send(reply, 201, credentialsPage({
        viewer,
        groupId: input.groupId,
        appName: created.name,
        clientId: created.client_id,
        ...(typeof created.client_secret === 'string' ? { clientSecret: created.client_secret } : {}),
        okHref: CLIENTS_PATH,
      }));
    }
    const other: string[] = [];
    for (const e of ((r.json ?? {}) as { errors?: Array<{ path?: unknown; message?: unknown }> }).errors ?? []) {
      const message = typeof e.message === 'string' ? e.message : 'is not valid';
      const at = clientFieldOfPath(typeof e.path === 'string' ? e.path : '');
      if (at === undefined) other.push(`${typeof e.path === 'string' ? e.path : 'request'}: ${message}`);
      else (errors[at.field] ??= []).push(at.line !== undefined ? `Line ${at.line}: ${message}` : message);
    }
    const message = Object.keys(errors).length > 0
      ? ['The client was not created: correct the fields marked below.', ...other].join(' ')
      : r.status === 403 ? `You may not do this: ${refusal(r)}` : refusal(r);
    return send(reply, r.status, newClientPage({ viewer, groups, settings, input, errors, message }));
  }));
}
