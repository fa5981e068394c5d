/**
 * What the console plugin (plugin.ts) hands to the files that add screens of
 * their own (app-actions.ts, browse.ts): the session, the in-process `/v1`
 * call and the page sender. Kept in a file of its own so that each screen
 * file is registered from plugin.ts with one line, and the plugin's
 * closures (keys, cookies, tokens) stay private to it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleSession } from './session';
import type { GroupChoice, Viewer } from './views';

/** A `/v1` answer as the console sees it. */
export interface ConsoleApiAnswer {
  status: number;
  /** The parsed JSON body, or undefined for an empty or non-JSON one. */
  json: any;
  /** The `ETag` header, when the API sent one. */
  etag?: string;
}

/** Methods the console uses on `/v1`. */
export type ConsoleApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A console route handler that runs with a session. */
export type SessionHandler = (s: ConsoleSession, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** The console's shared machinery, for screen files. */
export interface ConsoleContext {
  /**
   * A `/v1` call with the person's access token, in-process, so the API
   * decides exactly as it does for any client. `headers` carries `If-Match`.
   * Throws (and the session ends) when the token no longer works.
   */
  api: (s: ConsoleSession, method: ConsoleApiMethod, url: string, payload?: unknown, headers?: Record<string, string>) => Promise<ConsoleApiAnswer>;
  /** Wraps a handler: without a session the person goes back to sign in. */
  withSession: (handler: SessionHandler) => (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
  /** A POST's form body with its CSRF token checked; undefined once a 403 page has been sent. */
  checkedForm: (s: ConsoleSession, req: FastifyRequest, reply: FastifyReply) => Record<string, unknown> | undefined;
  /** Who is signed in and the groups they may pick. */
  viewerOf: (s: ConsoleSession) => Promise<{ viewer: Viewer; groups: GroupChoice[] }>;
  /** Sends an HTML page with the console's headers (CSP, no-store). */
  send: (reply: FastifyReply, status: number, html: string) => FastifyReply;
  /** The group a page works in: the one asked for if the person may pick it, else their first. */
  pickGroup: (groups: readonly GroupChoice[], asked: unknown) => GroupChoice | undefined;
}

/** The words of a refusal from the API, for a message at the top of a page. */
export function apiProblemText(r: Pick<ConsoleApiAnswer, 'status' | 'json'>): string {
  const p = (r.json ?? {}) as { detail?: unknown; title?: unknown };
  const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `The service answered ${r.status}.`;
  if (r.status === 403) return `You may not do this: ${detail}`;
  return detail;
}

/** A form value as one string (a urlencoded body gives arrays for repeated names). */
export function formString(v: unknown): string {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}
