/**
 * What every route module gets, and the small helpers they share: the
 * caller, route documentation, ETags, and the lookups that turn "not
 * visible" into 404.
 */
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { z } from 'zod';
import { canSeeApp, canSeeGroup } from '../authz';
import { isId } from '../crypto';
import type { App, Group, Principal } from '../model';
import type { Database, SqlExecutor } from '../storage/database';
import { getApp, getGroup } from '../storage/repo';
import type { Outcome } from './idempotency';
import { notFound, preconditionFailed } from './problem';
import { jsonSchema, ProblemOut } from './schemas';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the onRequest hook on every non-public route. */
    principal: Principal | null;
    /** The request body as received (JSON bodies only), for Idempotency-Key fingerprints. */
    rawBody: string | undefined;
  }
  interface FastifyContextConfig {
    /** True for routes that need no token (health, openapi). */
    public?: boolean;
  }
}

/** Dependencies of the route modules. */
export interface RouteDeps {
  db: Database;
}

/** The caller of an authenticated route. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new Error('bug: route reached without authentication');
  return req.principal;
}

/** A path parameter by name (Fastify gives strings). */
export function param(req: FastifyRequest, name: string): string {
  return String((req.params as Record<string, unknown>)[name] ?? '');
}

/** The ETag of a version: the number in quotes. */
export function etag(version: number): string {
  return `"${version}"`;
}

/**
 * Applies `If-Match` (RFC 9110 13.1.1): absent passes; `*` passes when the
 * object exists; otherwise one of the listed tags must be the current one
 * by strong comparison. A weak tag (`W/"1"`) never matches: it only claims
 * an equivalent representation, and If-Match guards a write against lost
 * updates, for which only the exact version will do.
 * @param current the current version, or undefined when the object does not exist
 */
export function checkIfMatch(req: FastifyRequest, current: number | undefined, what: string): void {
  const header = req.headers['if-match'];
  if (header === undefined) return;
  const tags = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (current === undefined) {
    throw preconditionFailed(`If-Match was sent but ${what} does not exist.`);
  }
  if (tags.includes('*')) return;
  const want = etag(current);
  if (tags.includes(want)) return;
  throw preconditionFailed(
    `${what} has changed since you read it: its ETag is ${want}, If-Match sent ${tags.join(', ') || '(nothing)'}. ` +
      `Read it again, reapply your change, and retry${tags.some((t) => t.startsWith('W/')) ? ' (with the ETag as sent, not a weak W/ tag: If-Match compares strongly)' : ''}.`,
  );
}

/** Resolves a path id to a group the caller may see, or throws 404. */
export async function visibleGroup(x: SqlExecutor, p: Principal, id: string): Promise<Group> {
  const g = isId('grp', id) ? await getGroup(x, p.tenant_id, id) : undefined;
  if (!g || !canSeeGroup(p, g)) throw notFound(`Group ${JSON.stringify(id)}`);
  return g;
}

/** Resolves a group id to a group of the caller's tenant (visible or not), or throws 404. */
export async function tenantGroup(x: SqlExecutor, p: Principal, id: string): Promise<Group> {
  const g = isId('grp', id) ? await getGroup(x, p.tenant_id, id) : undefined;
  if (!g) throw notFound(`Group ${JSON.stringify(id)}`);
  return g;
}

/** Resolves a path id to an app the caller may see, or throws 404. `lock` holds it for a change. */
export async function visibleApp(x: SqlExecutor, p: Principal, id: string, lock = false): Promise<App> {
  const a = isId('app', id) ? await getApp(x, p.tenant_id, id, lock) : undefined;
  if (!a || !canSeeApp(p, a)) throw notFound(`App ${JSON.stringify(id)}`);
  return a;
}

/** Sends an outcome (status, headers, body); marks replays. */
export function sendOutcome(reply: FastifyReply, out: Outcome): unknown {
  reply.code(out.status);
  for (const [k, v] of Object.entries(out.headers)) reply.header(k, v);
  if (out.replayed) reply.header('idempotent-replayed', 'true');
  return out.body;
}

/** Route documentation, turned into a Fastify schema (for openapi.json and response serialization). */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** False for the public routes. */
  auth?: boolean;
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Success responses: status → [description, schema or null for no body]. */
  ok: Record<number, [string, z.ZodType | null]>;
  /** Error statuses the route may answer, with when. */
  errors?: Record<number, string>;
  headers?: Record<string, string>;
}

const COMMON_ERRORS: Record<number, string> = {
  400: 'malformed request (for example invalid JSON)',
  401: 'no token, or a token this service does not know',
  429: 'this token is over its rate limit, or this client address sent too many requests with a missing or invalid token; ' +
    'retry after Retry-After seconds',
};

/** Builds the Fastify schema of a route from its documentation. */
export function schemaOf(doc: RouteDoc): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, [description, schema]] of Object.entries(doc.ok)) {
    response[status] = schema ? { description, ...jsonSchema(schema, 'output') } : { description, type: 'null' };
  }
  const problem = jsonSchema(ProblemOut, 'output');
  const errors = doc.auth === false ? (doc.errors ?? {}) : { ...COMMON_ERRORS, ...(doc.errors ?? {}) };
  for (const [status, description] of Object.entries(errors)) {
    response[status] = { description: `${description} (application/problem+json)`, ...problem };
  }
  const schema: Record<string, unknown> = {
    summary: doc.summary,
    tags: doc.tags,
    response,
  };
  if (doc.description) schema.description = doc.description;
  if (doc.auth !== false) schema.security = [{ bearer: [] }];
  if (doc.params) {
    schema.params = {
      type: 'object',
      properties: Object.fromEntries(Object.entries(doc.params).map(([k, d]) => [k, { type: 'string', description: d }])),
      required: Object.keys(doc.params),
    };
  }
  if (doc.query) schema.querystring = jsonSchema(doc.query, 'input');
  if (doc.body) schema.body = jsonSchema(doc.body, 'input');
  if (doc.headers) {
    schema.headers = {
      type: 'object',
      properties: Object.fromEntries(Object.entries(doc.headers).map(([k, d]) => [k, { type: 'string', description: d }])),
    };
  }
  return schema as FastifySchema;
}
