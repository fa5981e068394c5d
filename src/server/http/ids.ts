/**
 * The one gate between request ids and storage.
 *
 * Every path parameter and every query value passes through
 * {@link checkRequestIds} (a hook in server.ts) before a handler runs, so no
 * route has to remember it and no hostile value reaches a query: PostgreSQL
 * refuses a NUL byte in a text parameter with an error (a 500 if it got that
 * far), SQLite quietly stores or compares it, and the two back ends must
 * answer alike. The tables below are the only place that says which
 * parameters are ids; server.ts refuses at startup a route whose path names
 * a parameter that is not in {@link PATH_ID_PARAMS}, so a new route cannot
 * skip the check by accident.
 */
import { type IdPrefix, isId } from '../crypto';
import { type FieldError, invalid, notFound } from './problem';

/**
 * Path parameter name → the prefix of the ids it holds. A path id of any
 * other shape cannot name an existing object, so it is answered 404, as an
 * unknown well-formed id is.
 */
export const PATH_ID_PARAMS: Readonly<Record<string, IdPrefix>> = Object.freeze({
  group_id: 'grp',
  app_id: 'app',
  // `/v1/apps/:id` is the only route with a bare `:id`.
  id: 'app',
});

/**
 * Query parameter name → the prefix of the ids it holds. Every other query
 * value (`name`, `scope`, `limit`, `cursor`, and unknown ones, which the
 * routes refuse by name) only has to be plain text; the routes check its
 * meaning.
 */
export const QUERY_ID_PARAMS: Readonly<Record<string, IdPrefix>> = Object.freeze({
  group_id: 'grp',
  app_id: 'app',
});

/** How the 404 and 422 messages name an object of each id kind. */
const KIND_NAMES: Record<IdPrefix, string> = { ten: 'Tenant', grp: 'Group', app: 'App', tok: 'Token', evt: 'Event', usr: 'Person' };

/** Longest piece of a refused value echoed back: enough to recognise it, never kilobytes. */
const ECHO_LIMIT = 64;

// C0 controls (NUL, line breaks, ESC...), DEL and the C1 controls: nothing a
// name, id, cursor or number contains, and the stuff of log and terminal injection.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True for text both databases store and compare unchanged and that is safe
 * to echo and log: no control characters (NUL included) and no unpaired
 * UTF-16 surrogates. Other Unicode is fine.
 */
export function isPlainText(s: string): boolean {
  return !CONTROL.test(s) && !LONE_SURROGATE.test(s);
}

/**
 * A refused value as it may be quoted in a message: cut short, and
 * JSON-escaped (control characters and lone surrogates become `\u` escapes,
 * so nothing hostile reaches a log or a terminal as is).
 */
export function echo(value: string): string {
  return JSON.stringify(value.length > ECHO_LIMIT ? `${value.slice(0, ECHO_LIMIT)}...` : value);
}

/** What an id of `prefix` looks like, for messages. */
export function idShape(prefix: IdPrefix): string {
  return `"${prefix}_" followed by 26 lower-case letters and digits`;
}

/** The parameter names in a route path (`/v1/groups/:group_id/apps` → `group_id`). */
export function pathParamNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/** Parameters of a route path that {@link PATH_ID_PARAMS} does not know (to refuse the route at startup). */
export function unknownPathParams(url: string): string[] {
  return pathParamNames(url).filter((n) => !Object.hasOwn(PATH_ID_PARAMS, n));
}

/**
 * Checks the path parameters of a request: every one must be an id of the
 * kind its name says, else 404 (it cannot exist). Parameters the table does
 * not know are refused too (404), so nothing unchecked gets through even if
 * the startup check were bypassed.
 */
export function checkPathIds(params: unknown): void {
  if (params === null || typeof params !== 'object') return;
  for (const [name, raw] of Object.entries(params as Record<string, unknown>)) {
    const value = typeof raw === 'string' ? raw : String(raw);
    const prefix = Object.hasOwn(PATH_ID_PARAMS, name) ? PATH_ID_PARAMS[name] : undefined;
    if (prefix === undefined) throw notFound(`The object ${echo(value)}`);
    if (!isId(prefix, value)) throw notFound(`${KIND_NAMES[prefix]} ${echo(value)}`);
  }
}

/**
 * Checks the query string of a request. Every name and value must be plain
 * text (else 422 naming the parameter, as the routes answer any other bad
 * query value). Then the ids: a `group_id` of the wrong shape is 404, as a
 * group_id naming no group has always been (the group cannot exist); an
 * `app_id` of the wrong shape is 422 at `app_id` (it is a filter, and a
 * filter value that can never be an app id is a mistake worth saying).
 * Repeated parameters (arrays) are left to the routes, which refuse them.
 */
export function checkQuery(query: unknown): void {
  if (query === null || typeof query !== 'object') return;
  const errors: FieldError[] = [];
  const ids: Array<[string, IdPrefix, string]> = [];
  for (const [name, raw] of Object.entries(query as Record<string, unknown>)) {
    const values = Array.isArray(raw) ? raw : [raw];
    const path = isPlainText(name) ? (name.length > ECHO_LIMIT ? `${name.slice(0, ECHO_LIMIT)}...` : name) : echo(name);
    if (!isPlainText(name)) {
      errors.push({ path, message: 'is not a usable query parameter name: it contains control characters or unpaired UTF-16 surrogates' });
      continue;
    }
    if (values.some((v) => typeof v !== 'string' || !isPlainText(v))) {
      errors.push({
        path,
        message: 'must be plain text: no control characters (such as NUL, tab or line breaks) and no unpaired UTF-16 surrogates',
      });
      continue;
    }
    const prefix = Object.hasOwn(QUERY_ID_PARAMS, name) ? QUERY_ID_PARAMS[name] : undefined;
    if (prefix !== undefined && typeof raw === 'string') ids.push([name, prefix, raw]);
  }
  for (const [name, prefix, value] of ids) {
    if (prefix !== 'grp' && !isId(prefix, value)) {
      errors.push({ path: name, message: `is not ${prefix === 'app' ? 'an' : 'a'} ${KIND_NAMES[prefix].toLowerCase()} id: those are ${idShape(prefix)}` });
    }
  }
  if (errors.length > 0) throw invalid(errors);
  for (const [, prefix, value] of ids) {
    if (prefix === 'grp' && !isId(prefix, value)) throw notFound(`Group ${echo(value)}`);
  }
}

/** Checks path and query ids of a request (see {@link checkPathIds} and {@link checkQuery}). */
export function checkRequestIds(req: { params: unknown; query: unknown }): void {
  checkPathIds(req.params);
  checkQuery(req.query);
}
