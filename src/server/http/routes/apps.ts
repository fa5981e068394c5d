/**
 * App registrations: register, list, read, change, delete, rotate the secret.
 * The secret leaves the service only in the answers to register and rotate.
 */
import type { FastifyInstance } from 'fastify';
import { actorOf, recordAudit } from '../../audit';
import { appListRestriction, canChangeApp, canWriteInGroup, writeRefusal } from '../../authz';
import { hashCredential, newClientId, newClientSecret, newId } from '../../crypto';
import { type App, appJson, consentJson, now } from '../../model';
import { consentsOfApp, deleteApp, deleteConsent, getTenant, insertApp, listApps, updateApp } from '../../storage/repo';
import { tenantTransaction, type SqlExecutor, type Transaction } from '../../storage/database';
import { patchIsNoop, validateCreate, validatePatch } from '../app-input';
import {
  checkIfMatch,
  etag,
  param,
  principalOf,
  type RouteDeps,
  schemaOf,
  sendOutcome,
  tenantGroup,
  visibleApp,
  visibleGroup,
} from '../context';
import { idempotencyContext, runIdempotent } from '../idempotency';
import { buildPage, pageRequest } from '../pagination';
import { conflict, forbidden, preconditionFailed, ProblemError } from '../problem';
import { AppCreatedOut, AppOut, AppsQuery, CreateAppBody, EmptyBody, PatchAppBody, pageOf, RotateOut } from '../schemas';
import { isObject, parseQuery, schemaErrors, throwIfInvalid } from '../validation';

const IF_MATCH = { 'if-match': 'optional ETag ("<version>"); 412 when the app changed since' };
const IDEMPOTENCY_KEY = {
  'idempotency-key': 'optional; a retry with the same key replays the first answer (24 h) and never repeats the change',
};

async function tenantOf(tx: SqlExecutor, tenantId: string) {
  const t = await getTenant(tx, tenantId);
  if (!t) throw new Error(`bug: tenant ${tenantId} of a valid token is missing`);
  return t;
}

/** Inserts an app, turning a name clash into 409. */
async function insertUnique(tx: Transaction, a: App, secretHash: string | null): Promise<void> {
  try {
    await insertApp(tx, a, secretHash);
  } catch (err) {
    if (tx.dialect.isUniqueViolation(err)) throw nameTaken(a);
    throw err;
  }
}

function nameTaken(a: Pick<App, 'name' | 'group_id'>): ProblemError {
  return conflict(`Group ${a.group_id} already has an app named ${JSON.stringify(a.name)}; names are unique per group. Choose another name.`);
}

/** Registers the app routes. */
export function appRoutes(app: FastifyInstance, { db }: RouteDeps): void {
  app.post('/v1/groups/:group_id/apps', {
    schema: schemaOf({
      summary: 'Register an app in a group',
      description: 'Answers 201 with the app and, for a confidential client, its client_secret. The secret is shown this once.',
      tags: ['apps'],
      params: { group_id: 'the owning group' },
      body: CreateAppBody,
      headers: IDEMPOTENCY_KEY,
      ok: { 201: ['the new app, with client_secret for confidential clients; ETag and Location headers', AppCreatedOut] },
      errors: {
        403: 'this token may not register apps in the group',
        404: 'no such group visible to this token',
        409: 'OAuth is off for the tenant, or the name is taken in the group',
        413: 'body too large',
        415: 'body is not application/json',
        422: 'invalid fields (each in errors[]), device grant under SSO, or an Idempotency-Key reused for another request',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const groupId = param(req, 'group_id');
    const out = await runIdempotent(db, p.tenant_id, idempotencyContext(req, p), async (tx) => {
      const group = await visibleGroup(tx, p, groupId);
      if (!canWriteInGroup(p, group)) throw forbidden(writeRefusal(p, `the apps of group ${group.id}`, group.id));
      const tenant = await tenantOf(tx, p.tenant_id);
      const input = validateCreate(req.body, tenant);
      if (!tenant.oauth_enabled) {
        throw conflict(
          'OAuth is switched off for this tenant. A tenant_security_admin must enable it first: ' +
            'PUT /v1/tenant/oauth-settings {"oauth_enabled": true}.',
        );
      }
      const t = now();
      const a: App = {
        seq: 0,
        id: newId('app'),
        tenant_id: p.tenant_id,
        group_id: group.id,
        client_id: newClientId(),
        ...input,
        secret_version: input.public_client ? 0 : 1,
        created_at: t,
        updated_at: t,
        version: 1,
      };
      const secret = input.public_client ? null : newClientSecret();
      await insertUnique(tx, a, secret === null ? null : hashCredential(secret));
      await recordAudit(tx, {
        tenant_id: p.tenant_id,
        actor: actorOf(p),
        action: 'app.create',
        target_type: 'app',
        target_id: a.id,
        before: null,
        after: appJson(a),
      });
      return {
        status: 201,
        headers: { etag: etag(a.version), location: `/v1/apps/${a.id}` },
        body: secret === null ? appJson(a) : { ...appJson(a), client_secret: secret },
        target: { app_id: a.id, secret_version: a.secret_version },
      };
    });
    return sendOutcome(reply, out);
  });

  app.get('/v1/apps', {
    schema: schemaOf({
      summary: 'List the apps the caller may see',
      description: 'In registration order. A group_admin sees its own group\'s apps and the organization-scoped apps of other groups; ' +
        'a person the apps of the groups they are in and, when in any, the organization-scoped apps of other groups (every app for a security admin).',
      tags: ['apps'],
      query: AppsQuery,
      ok: { 200: ['a page of apps', pageOf(AppOut)] },
      errors: { 404: 'group_id names no group of this tenant', 422: 'invalid query parameter' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    const q = parseQuery(AppsQuery, req.query);
    const page = pageRequest('apps', q);
    if (q.group_id !== undefined) await tenantGroup(db, p, q.group_id);
    const rows = await listApps(db, {
      tenantId: p.tenant_id,
      ...appListRestriction(p),
      ...(q.group_id !== undefined ? { groupId: q.group_id } : {}),
      ...(q.scope !== undefined ? { scope: q.scope } : {}),
      ...(q.name !== undefined ? { name: q.name } : {}),
      after: page.after,
      limit: page.limit + 1,
    });
    return buildPage('apps', rows, page, appJson);
  });

  app.get('/v1/apps/:id', {
    schema: schemaOf({
      summary: 'Read an app (never its secret)',
      tags: ['apps'],
      params: { id: 'app id' },
      ok: { 200: ['the app; ETag is its version', AppOut] },
      errors: { 404: 'no such app visible to this token' },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const a = await visibleApp(db, p, param(req, 'id'));
    reply.header('etag', etag(a.version));
    return appJson(a);
  });

  app.patch('/v1/apps/:id', {
    schema: schemaOf({
      summary: 'Change an app',
      description: 'Takes any of name, description, callback_urls, grant_types, require_pkce, enabled. ' +
        'scope, public_client and group_id are fixed at registration (422): create a new registration instead.',
      tags: ['apps'],
      params: { id: 'app id' },
      body: PatchAppBody,
      headers: IF_MATCH,
      ok: { 200: ['the app after the change', AppOut] },
      errors: {
        403: 'the app is visible but this token may not change it',
        404: 'no such app visible to this token',
        409: 'the new name is taken in the group',
        412: 'stale If-Match',
        413: 'body too large',
        415: 'body is not application/json',
        422: 'invalid fields, or a field fixed at registration',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const id = param(req, 'id');
    const after = await tenantTransaction(db, p.tenant_id, async (tx) => {
      const a = await visibleApp(tx, p, id, true);
      if (!canChangeApp(p, a)) throw forbidden(writeRefusal(p, `app ${a.id}`, a.group_id));
      checkIfMatch(req, a.version, `App ${a.id}`);
      const patch = validatePatch(req.body, a, await tenantOf(tx, p.tenant_id));
      if (patchIsNoop(a, patch)) return a;
      const next: App = { ...a, ...patch, version: a.version + 1, updated_at: now() };
      let ok: boolean;
      try {
        ok = await updateApp(tx, next, a.version);
      } catch (err) {
        if (tx.dialect.isUniqueViolation(err)) throw nameTaken(next);
        throw err;
      }
      if (!ok) throw preconditionFailed(`App ${a.id} was changed by another request at the same time; read it again and retry.`);
      await recordAudit(tx, {
        tenant_id: p.tenant_id,
        actor: actorOf(p),
        action: 'app.update',
        target_type: 'app',
        target_id: a.id,
        before: appJson(a),
        after: appJson(next),
      });
      return next;
    });
    reply.header('etag', etag(after.version));
    return appJson(after);
  });

  app.delete('/v1/apps/:id', {
    schema: schemaOf({
      summary: 'Delete an app and every consent to it',
      tags: ['apps'],
      params: { id: 'app id' },
      headers: IF_MATCH,
      ok: { 204: ['deleted', null] },
      errors: {
        403: 'the app is visible but this token may not change it',
        404: 'no such app visible to this token',
        412: 'stale If-Match',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const id = param(req, 'id');
    await tenantTransaction(db, p.tenant_id, async (tx) => {
      const a = await visibleApp(tx, p, id, true);
      if (!canChangeApp(p, a)) throw forbidden(writeRefusal(p, `app ${a.id}`, a.group_id));
      checkIfMatch(req, a.version, `App ${a.id}`);
      // Consents go first, each with its own audit event, so the trail shows which groups lost the app.
      for (const c of await consentsOfApp(tx, a.id)) {
        await deleteConsent(tx, c.group_id, c.app_id);
        await recordAudit(tx, {
          tenant_id: p.tenant_id,
          actor: actorOf(p),
          action: 'consent.delete',
          target_type: 'consent',
          target_id: consentJson(c).id,
          before: consentJson(c),
          after: null,
        });
      }
      await deleteApp(tx, a.id);
      await recordAudit(tx, {
        tenant_id: p.tenant_id,
        actor: actorOf(p),
        action: 'app.delete',
        target_type: 'app',
        target_id: a.id,
        before: appJson(a),
        after: null,
      });
    });
    return reply.code(204).send();
  });

  app.post('/v1/apps/:id/rotate-secret', {
    schema: schemaOf({
      summary: 'Issue a new client secret',
      description: 'The old secret stops working. The new secret is in this answer only. Public clients have no secret (409).',
      tags: ['apps'],
      params: { id: 'app id' },
      body: EmptyBody,
      headers: { ...IF_MATCH, ...IDEMPOTENCY_KEY },
      ok: { 200: ['the app after the rotation with its new client_secret (shown this once); ETag is the app\'s new version', RotateOut] },
      errors: {
        403: 'the app is visible but this token may not change it',
        404: 'no such app visible to this token',
        409: 'the app is a public client, which has no secret',
        412: 'stale If-Match',
        422: 'a body other than nothing or {}',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const id = param(req, 'id');
    const out = await runIdempotent(db, p.tenant_id, idempotencyContext(req, p), async (tx) => {
      const a = await visibleApp(tx, p, id, true);
      if (!canChangeApp(p, a)) throw forbidden(writeRefusal(p, `app ${a.id}`, a.group_id));
      checkIfMatch(req, a.version, `App ${a.id}`);
      if (req.body !== undefined) {
        if (!isObject(req.body)) throw new ProblemError('invalid-request', 'rotate-secret takes no body, or {}.');
        throwIfInvalid(schemaErrors(EmptyBody, req.body));
      }
      if (a.public_client) {
        throw conflict(`App ${a.id} is a public client: it cannot keep a secret and has none to rotate.`);
      }
      const secret = newClientSecret();
      const next: App = { ...a, secret_version: a.secret_version + 1, version: a.version + 1, updated_at: now() };
      if (!(await updateApp(tx, next, a.version, hashCredential(secret)))) {
        throw preconditionFailed(`App ${a.id} was changed by another request at the same time; retry.`);
      }
      await recordAudit(tx, {
        tenant_id: p.tenant_id,
        actor: actorOf(p),
        action: 'app.rotate_secret',
        target_type: 'app',
        target_id: a.id,
        before: { secret_version: a.secret_version, version: a.version },
        after: { secret_version: next.secret_version, version: next.version },
      });
      // The whole app comes back with the secret, so a caller needs no second read (which could fail
      // and lose the secret) to know the app's new version.
      return {
        status: 200,
        headers: { etag: etag(next.version) },
        body: { ...appJson(next), client_secret: secret },
        target: { app_id: a.id, secret_version: next.secret_version },
      };
    });
    return sendOutcome(reply, out);
  });
}
