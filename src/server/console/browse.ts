/**
 * "Browse App Registrations" (DOMAIN.md "The console"): the
 * organization-scoped apps of other groups, seen from the current group
 * (GET /v1/browse?group_id=), each with "Add Consent", or shown as
 * consented with "Remove Consent" (after a confirmation page). A group
 * administrator acts; anyone else reads, and a forced POST by them shows
 * the API's 403.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { esc } from '../oidc/screens';
import { apiProblemText, type ConsoleContext, formString } from './context';
import type { ConsoleSession } from './session';
import { consoleErrorPage, consolePage, type GroupChoice, type Viewer } from './views';

/** Console routes are public for the service's bearer-token hook: the console checks its own session. */
const PUBLIC = { config: { public: true } } as const;

/** An entry of the browse list (the parts the page uses). */
export interface BrowseItem {
  id: string;
  name: string;
  client_id: string;
  group_id: string;
  consented: boolean;
}

/** The most entries the page reads (pages of 100 from the API): more than any group browses by hand. */
const MAX_PAGES = 10;

function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
}

/** The "Browse App Registrations" page. */
export function browsePage(o: { viewer: Viewer; groups: readonly GroupChoice[]; group: GroupChoice | undefined; items: readonly BrowseItem[]; message?: string; status?: string }): string {
  const head = `<h1>Browse App Registrations</h1>
${o.status !== undefined ? `<p role="status">${esc(o.status)}</p>` : ''}
${o.message !== undefined ? `<p class="alert" role="alert">${esc(o.message)}</p>` : ''}`;
  if (o.group === undefined) {
    return consolePage('Browse App Registrations', `${head}
<p>You are not in any group yet: a group administrator or the security administrator adds you to one.</p>`, o.viewer);
  }
  const g = o.group;
  const picker = o.groups.length < 2
    ? `<p>Group: <strong>${esc(g.name)}</strong></p>`
    : `<form method="get" action="/console/browse">
<label for="group_id">Group</label>
<select id="group_id" name="group_id">
${o.groups.map((x) => `<option value="${esc(x.id)}"${x.id === g.id ? ' selected' : ''}>${esc(x.name)}</option>`).join('\n')}
</select>
<button type="submit" class="secondary">Show</button>
</form>`;
  const ownerName = (id: string): string => o.groups.find((x) => x.id === id)?.name ?? id;
  const action = (a: BrowseItem): string => {
    if (!g.admin) return a.consented ? 'Consented' : 'Not consented';
    if (a.consented) {
      // Removing asks first (a GET to the confirmation page changes nothing).
      return `Consented
<form method="get" action="/console/browse/remove">
<input type="hidden" name="group_id" value="${esc(g.id)}">
<input type="hidden" name="app_id" value="${esc(a.id)}">
<button type="submit" class="secondary" aria-label="Remove Consent to ${esc(a.name)}">Remove Consent</button>
</form>`;
    }
    return `<form method="post" action="/console/browse/consent">
${csrfField(o.viewer.csrf)}
<input type="hidden" name="group_id" value="${esc(g.id)}">
<input type="hidden" name="app_id" value="${esc(a.id)}">
<button type="submit" aria-label="Add Consent to ${esc(a.name)}">Add Consent</button>
</form>`;
  };
  const rows = o.items.length === 0
    ? '<p>No other group has an organization-scoped app registration yet.</p>'
    : `<table>
<caption>Organization apps of other groups, seen from ${esc(g.name)}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Client ID</th><th scope="col">Owner group</th><th scope="col">Consent</th></tr></thead>
<tbody>
${o.items.map((a) => `<tr><td>${esc(a.name)}</td><td class="code">${esc(a.client_id)}</td><td>${esc(ownerName(a.group_id))}</td><td>${action(a)}</td></tr>`).join('\n')}
</tbody>
</table>`;
  return consolePage('Browse App Registrations', `${head}
${picker}
${g.admin ? '' : `<p>Only a group administrator of ${esc(g.name)} adds or removes consents; you see them read-only.</p>`}
${rows}
<p><a href="/console/apps?group_id=${encodeURIComponent(g.id)}">Back to Register Custom Apps</a></p>`, o.viewer);
}

/** The console's browse routes. */
export function registerBrowse(app: FastifyInstance, ctx: ConsoleContext): void {
  const { api, withSession, checkedForm, viewerOf, send, pickGroup } = ctx;

  /** The whole browse list of a group (following the API's pages), or the API's refusal. */
  const browseOf = async (s: ConsoleSession, groupId: string): Promise<{ items: BrowseItem[]; message?: string }> => {
    const items: BrowseItem[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const r = await api(s, 'GET', `/v1/browse?group_id=${encodeURIComponent(groupId)}&limit=100${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (r.status !== 200) return { items, message: apiProblemText(r) };
      const page = r.json as { items: BrowseItem[]; next_cursor?: string | null };
      items.push(...page.items);
      if (typeof page.next_cursor !== 'string' || page.next_cursor === '') break;
      cursor = page.next_cursor;
    }
    return { items };
  };

  /** Renders the browse page of a group, with what just happened. */
  const render = async (s: ConsoleSession, reply: FastifyReply, code: number, o: { viewer: Viewer; groups: GroupChoice[]; group: GroupChoice | undefined; message?: string; status?: string }): Promise<FastifyReply> => {
    const b = o.group === undefined ? { items: [] } : await browseOf(s, o.group.id);
    const message = o.message ?? b.message;
    return send(reply, code, browsePage({ ...o, items: b.items, ...(message !== undefined ? { message } : {}) }));
  };

  /** The group and app of a consent form, or undefined once an error page has been sent. */
  const target = (viewer: Viewer, groups: GroupChoice[], groupId: unknown, appId: unknown, reply: FastifyReply): { group: GroupChoice; appId: string } | undefined => {
    const group = groups.find((g) => g.id === formString(groupId));
    const id = formString(appId);
    if (group === undefined || id === '') {
      void send(reply, 404, consoleErrorPage({ title: 'No such group', message: 'That group does not exist or you are not in it.', viewer, back: { href: '/console/browse', label: 'Back to Browse App Registrations' } }));
      return undefined;
    }
    return { group, appId: id };
  };

  app.get('/browse', PUBLIC, withSession(async (s, req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const group = pickGroup(groups, (req.query as { group_id?: unknown }).group_id);
    return render(s, reply, 200, { viewer, groups, group });
  }));

  app.post('/browse/consent', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const { viewer, groups } = await viewerOf(s);
    const t = target(viewer, groups, body.group_id, body.app_id, reply);
    if (t === undefined) return reply;
    const r = await api(s, 'PUT', `/v1/groups/${encodeURIComponent(t.group.id)}/consents/${encodeURIComponent(t.appId)}`);
    if (r.status === 200 || r.status === 201) {
      const name = (await browseOf(s, t.group.id)).items.find((a) => a.id === t.appId)?.name ?? t.appId;
      return render(s, reply, 200, { viewer, groups, group: t.group, status: `${t.group.name} consented to ${name}.` });
    }
    return render(s, reply, r.status, { viewer, groups, group: t.group, message: apiProblemText(r) });
  }));

  app.get('/browse/remove', PUBLIC, withSession(async (s, req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const q = req.query as { group_id?: unknown; app_id?: unknown };
    const t = target(viewer, groups, q.group_id, q.app_id, reply);
    if (t === undefined) return reply;
    if (!t.group.admin) {
      return render(s, reply, 403, { viewer, groups, group: t.group, message: `You may not do this: only a group administrator of ${t.group.name} removes its consents.` });
    }
    const item = (await browseOf(s, t.group.id)).items.find((a) => a.id === t.appId && a.consented);
    if (item === undefined) {
      return render(s, reply, 404, { viewer, groups, group: t.group, message: `${t.group.name} has no consent to that app.` });
    }
    return send(reply, 200, consolePage('Remove Consent?', `<h1>Remove consent to ${esc(item.name)}?</h1>
<p>${esc(t.group.name)} stops using ${esc(item.name)}: its people can no longer sign in to it through this group until a group administrator adds consent again.</p>
<form method="post" action="/console/browse/remove">
${csrfField(viewer.csrf)}
<input type="hidden" name="group_id" value="${esc(t.group.id)}">
<input type="hidden" name="app_id" value="${esc(item.id)}">
<button type="submit">Remove Consent</button>
</form>
<form method="get" action="/console/browse">
<input type="hidden" name="group_id" value="${esc(t.group.id)}">
<button type="submit" class="secondary">Cancel</button>
</form>`, viewer));
  }));

  app.post('/browse/remove', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const { viewer, groups } = await viewerOf(s);
    const t = target(viewer, groups, body.group_id, body.app_id, reply);
    if (t === undefined) return reply;
    const name = (await browseOf(s, t.group.id)).items.find((a) => a.id === t.appId)?.name ?? t.appId;
    const r = await api(s, 'DELETE', `/v1/groups/${encodeURIComponent(t.group.id)}/consents/${encodeURIComponent(t.appId)}`);
    if (r.status === 204 || r.status === 200) {
      return render(s, reply, 200, { viewer, groups, group: t.group, status: `${t.group.name} no longer consents to ${name}.` });
    }
    return render(s, reply, r.status, { viewer, groups, group: t.group, message: apiProblemText(r) });
  }));
}

