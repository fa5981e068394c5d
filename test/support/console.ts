/**
 * Driving the console over real HTTP without a browser, as its tests do: a
 * headless person (scripts/lib/person-agent.ts) signs in through the
 * provider's screens, then the console's forms are submitted with plain
 * fetch and the person's cookies, redirects not followed (so each answer's
 * status is the console's own).
 *
 * The same steps as test/server/console-http.test.ts, made reusable for the
 * console's other suites.
 */
import { type AgentPage, buildSubmission, findButton, findField, type HtmlForm, parseHtml, PersonAgent } from '../../scripts/lib/person-agent';

/** A person who signs in with a password. */
export interface ConsolePerson {
  username: string;
  password: string;
}

/** An answer of the console, parsed as the person reads it. */
export interface ConsoleAnswer {
  res: Response;
  html: string;
  page: AgentPage;
}

/** Signs a person in to the console of `serviceUrl` for `organization`; the agent (their browser) and the page they land on. */
export async function consoleSignIn(serviceUrl: string, organization: string, p: ConsolePerson): Promise<{ agent: PersonAgent; page: AgentPage; screens: string[] }> {
  const agent = new PersonAgent({ username: p.username, password: p.password, issuer: serviceUrl });
  const first = await agent.open(`${serviceUrl}/console`);
  if (first.kind !== 'page') throw new Error(`the console's first page left for ${first.url}`);
  const form = first.page.forms.find((f) => findField(f, 'organization'));
  if (form === undefined) throw new Error('the first page has no "Organization" form');
  const sub = buildSubmission(form, { button: findButton(form, 'Continue')!, fill: { organization } });
  const out = await agent.authorize(sub.url, `${serviceUrl}/console/callback`);
  if (out.callbackUrl === undefined) throw new Error(`the sign-in did not come back (screens: ${out.screens.join(', ')})`);
  const landed = await agent.open(out.callbackUrl);
  if (landed.kind !== 'page') throw new Error(`the callback left for ${landed.url}`);
  return { agent, page: landed.page, screens: out.screens };
}

async function answer(agent: PersonAgent, url: string, res: Response): Promise<ConsoleAnswer> {
  agent.jar.storeAll(res.headers.getSetCookie(), url);
  const html = await res.text();
  return { res, html, page: { status: res.status, html, ...parseHtml(html, url) } as AgentPage };
}

/**
 * Submits a form of a page as the person's browser would (their cookies),
 * clicking `button`; `fill` sets fields, `drop` removes fields from the body
 * (to forge a request, e.g. without its CSRF token).
 */
export async function consoleSubmit(agent: PersonAgent, page: AgentPage, form: HtmlForm, fill: Record<string, string> = {}, button?: string, drop: string[] = []): Promise<ConsoleAnswer> {
  const clicked = button !== undefined ? findButton(form, button) : undefined;
  if (button !== undefined && clicked === undefined) throw new Error(`the form has no button ${JSON.stringify(button)}`);
  const sub = buildSubmission(form, { ...(clicked !== undefined ? { button: clicked } : {}), fill });
  let body = sub.body;
  if (body !== undefined && drop.length > 0) {
    const params = new URLSearchParams(body);
    for (const d of drop) params.delete(d);
    body = params.toString();
  }
  const headers: Record<string, string> = { accept: 'text/html' };
  const cookie = agent.jar.header(sub.url);
  if (cookie !== undefined) headers.cookie = cookie;
  if (sub.method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = new URL(page.url).origin;
  }
  const res = await fetch(sub.url, { method: sub.method, headers, redirect: 'manual', ...(sub.method === 'POST' ? { body: body ?? '' } : {}) });
  return answer(agent, sub.url, res);
}

/** A GET of a console path with the person's cookies, redirects not followed. */
export async function consoleGet(agent: PersonAgent, serviceUrl: string, path: string): Promise<ConsoleAnswer> {
  const url = `${serviceUrl}${path}`;
  const cookie = agent.jar.header(url);
  const res = await fetch(url, { headers: cookie !== undefined ? { cookie } : {}, redirect: 'manual' });
  return answer(agent, url, res);
}

/** A POST of a urlencoded body the person wrote by hand (no form on the page offers it), with their cookies. */
export async function consolePost(agent: PersonAgent, serviceUrl: string, path: string, fields: Record<string, string>): Promise<ConsoleAnswer> {
  const url = `${serviceUrl}${path}`;
  const headers: Record<string, string> = { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', origin: serviceUrl };
  const cookie = agent.jar.header(url);
  if (cookie !== undefined) headers.cookie = cookie;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(fields).toString(), redirect: 'manual' });
  return answer(agent, url, res);
}

/** The session's CSRF token, as every page carries it in the "Sign out" form. */
export function csrfOf(page: AgentPage): string {
  const form = page.forms.find((f) => f.action.endsWith('/console/signout'));
  const token = form !== undefined ? findField(form, 'csrf')?.value : undefined;
  if (token === undefined) throw new Error('the page has no "Sign out" form with a CSRF token');
  return token;
}

/** The form of a page with a button labelled `label`. */
export function formWithButton(page: AgentPage, label: string): HtmlForm | undefined {
  return page.forms.find((f) => findButton(f, label) !== undefined);
}
