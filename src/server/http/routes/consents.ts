/**
 * Consents (a group enabling an organization-scoped app of another group)
 * and the browse list they are chosen from.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, recordAudit } from '../../audit';
import { browseGroupRequired, canSeeConsent, canWriteInGroup, defaultBrowseGroup, readableGroups, writeRefusal } from '../../authz';
import { type Consent, type Principal, appJson, consentJson, now } from '../../model';
import { tenantTransaction, type SqlExecutor } from '../../storage/database';
import { deleteConsent, getApp, getConsent, insertConsent, listBrowse, listConsents } from '../../storage/repo';
import { isId } from '../../crypto';
import { checkConsentTarget } from '../../../rules';
import {
  checkIfMatch,
  etag,
  param,
  principalOf,
  type RouteDeps,
  schemaOf,
  visibleApp,
  visibleGroup,
} from '../context';
import { buildPage, pageRequest } from '../pagination';
import { type FieldError, forbidden, invalid, notFound, ProblemError } from '../problem';
import { BrowseItemOut, BrowseQuery, ConsentOut, ConsentsQuery, EmptyBody, pageOf } from '../schemas';
import { isObject, parseQuery, schemaErrors, throwIfInvalid } from '../validation';

const PATH_PARAMS = { group_id: 'the consenting group', app_id: 'an organization-scoped app of another group' };

/** The consent ETag: its surrogate key, so a consent deleted and given again gets a new one. */
function consentEtag(c: Consent): string {
  return etag(c.seq);
}

/** A consent the caller may see, or 404. */
async function visibleConsent(x: SqlExecutor, p: Principal, groupId: string, appId: string): Promise<Consent> {
  const group = await visibleGroup(x, p, groupId);
  const c = await getConsent(x, p.tenant_id, group.id, appId);
  if (!c || !canSeeConsent(p, c)) throw notFound(`Consent ${JSON.stringify(`${groupId}/${appId}`)}`);
  return c;
}

function checkEmptyBody(req: FastifyRequest): void {
  if (req.body === undefined) return;
  if (!isObject(req.body)) throw new ProblemError('invalid-request', 'This route takes no body, or {}.');
  throwIfInvalid(schemaErrors(EmptyBody, req.body));
}

/** Registers the consent and browse routes. */
export function consentRoutes(app: FastifyInstance, { db }: RouteDeps): void {
  app.put('/v1/groups/:group_id/consents/:app_id', {
    schema: schemaOf({
      summary: 'Consent: let a group use an organization-scoped app of another group',
      description: '201 when the consent is new, 200 when it existed. Takes no body (or {}).',
      tags: ['consents'],
      params: PATH_PARAMS,
      body: EmptyBody,
      headers: { 'if-match': 'optional ETag of the existing consent; 412 when it does not match or the consent does not exist' },
      ok: { 200: ['the consent existed', ConsentOut], 201: ['the consent was given', ConsentOut] },
      errors: {
        403: 'this token may not change the group\'s consents',
        404: 'no such group or app visible to this token',
        412: 'stale If-Match',
        422: 'the app is group-scoped, or belongs to the consenting group',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const groupId = param(req, 'group_id');
    const appId = param(req, 'app_id');
    const out = await tenantTransaction(db, p.tenant_id, async (tx) => {
      const group = await visibleGroup(tx, p, groupId);
      // Locking the app makes a concurrent delete of it wait for us (or us for it: then 404).
      const a = await visibleApp(tx, p, appId, true);
      if (!canWriteInGroup(p, group)) throw forbidden(writeRefusal(p, `the consents of group ${group.id}`, group.id));
      const existing = await getConsent(tx, p.tenant_id, group.id, a.id);
      checkIfMatch(req, existing?.seq, `Consent ${group.id}/${a.id}`);
      checkEmptyBody(req);
      const errors: FieldError[] = checkConsentTarget(a, group.id).map((code) => ({
        path: 'app_id',
        message: code === 'consent.not_organization'
          ? `app ${a.id} is group-scoped; only organization-scoped apps can be consented to`
          : `app ${a.id} belongs to group ${group.id} itself; consent is for apps of other groups`,
      }));
      if (errors.length > 0) throw invalid(errors);
      if (existing) return { created: false, consent: existing };
      const inserted = await insertConsent(tx, { tenant_id: p.tenant_id, group_id: group.id, app_id: a.id, created_at: now() });
      const c = await getConsent(tx, p.tenant_id, group.id, a.id);
      if (!c) throw new Error('bug: consent missing right after insert');
      if (inserted) {
        await recordAudit(tx, {
          tenant_id: p.tenant_id,
          actor: actorOf(p),
          action: 'consent.create',
          target_type: 'consent',
          target_id: consentJson(c).id,
          before: null,
          after: consentJson(c),
        });
      }
      return { created: inserted, consent: c };
    });
    reply.code(out.created ? 201 : 200).header('etag', consentEtag(out.consent));
    if (out.created) reply.header('location', `/v1/groups/${out.consent.group_id}/consents/${out.consent.app_id}`);
    return consentJson(out.consent);
  });

  app.get('/v1/groups/:group_id/consents/:app_id', {
    schema: schemaOf({
      summary: 'Read a consent',
      tags: ['consents'],
      params: PATH_PARAMS,
      ok: { 200: ['the consent', ConsentOut] },
      errors: { 404: 'no such consent visible to this token' },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const c = await visibleConsent(db, p, param(req, 'group_id'), param(req, 'app_id'));
    reply.header('etag', consentEtag(c));
    return consentJson(c);
  });

  app.delete('/v1/groups/:group_id/consents/:app_id', {
    schema: schemaOf({
      summary: 'Withdraw a consent',
      tags: ['consents'],
      params: PATH_PARAMS,
      headers: { 'if-match': 'optional ETag; 412 when stale' },
      ok: { 204: ['withdrawn', null] },
      errors: {
        403: 'this token may not change the group\'s consents',
        404: 'no such consent visible to this token',
        412: 'stale If-Match',
      },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    await tenantTransaction(db, p.tenant_id, async (tx) => {
      const c = await visibleConsent(tx, p, param(req, 'group_id'), param(req, 'app_id'));
      const group = await visibleGroup(tx, p, c.group_id);
      if (!canWriteInGroup(p, group)) throw forbidden(writeRefusal(p, `the consents of group ${group.id}`, group.id));
      checkIfMatch(req, c.seq, `Consent ${c.group_id}/${c.app_id}`);
      if (!(await deleteConsent(tx, c.group_id, c.app_id))) throw notFound(`Consent ${JSON.stringify(`${c.group_id}/${c.app_id}`)}`);
      await recordAudit(tx, {
        tenant_id: p.tenant_id,
        actor: actorOf(p),
        action: 'consent.delete',
        target_type: 'consent',
        target_id: consentJson(c).id,
        before: consentJson(c),
        after: null,
      });
    });
    return reply.code(204).send();
  });

  app.get('/v1/consents', {
    schema: schemaOf({
      summary: 'List consents',
      description: 'A group_admin sees its own group\'s consents, and with app_id= of one of its group\'s apps every consent to that app; ' +
        'a person likewise for each group they are in (every consent for a security admin); ' +
        'the other roles every consent of the tenant. Filter with group_id= and app_id=.',
      tags: ['consents'],
      query: ConsentsQuery,
      ok: { 200: ['a page of consents', pageOf(ConsentOut)] },
      errors: { 404: 'group_id names no group visible to this token', 422: 'invalid query parameter' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    const q = parseQuery(ConsentsQuery, req.query);
    const page = pageRequest('consents', q);
    let groupIds: readonly string[] | undefined;
    if (q.group_id !== undefined) await visibleGroup(db, p, q.group_id);
    else groupIds = await consentListGroups(db, p, q.app_id);
    const rows = await listConsents(db, {
      tenantId: p.tenant_id,
      ...(q.group_id !== undefined ? { groupId: q.group_id } : {}),
      ...(groupIds !== undefined ? { groupIds } : {}),
      ...(q.app_id !== undefined ? { appId: q.app_id } : {}),
      after: page.after,
      limit: page.limit + 1,
    });
    return buildPage('consents', rows, page, consentJson);
  });

  app.get('/v1/browse', {
    schema: schemaOf({
      summary: 'Browse the organization-scoped apps of other groups',
      description: 'Seen from one group (group_id=, default the group of a group_admin token or of a person in exactly one group), with consented telling ' +
        'whether that group has consented. Filter by exact name with name=.',
      tags: ['consents'],
      query: BrowseQuery,
      ok: { 200: ['a page of apps, each with consented', pageOf(BrowseItemOut)] },
      errors: { 404: 'group_id names no group visible to this token', 422: 'invalid query parameter, or group_id missing' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    const q = parseQuery(BrowseQuery, req.query);
    const page = pageRequest('browse', q);
    const groupId = q.group_id ?? defaultBrowseGroup(p);
    if (groupId === undefined) throw invalid([{ path: 'group_id', message: browseGroupRequired(p) }]);
    const group = await visibleGroup(db, p, groupId);
    const rows = await listBrowse(db, {
      tenantId: p.tenant_id,
      groupId: group.id,
      ...(q.name !== undefined ? { name: q.name } : {}),
      after: page.after,
      limit: page.limit + 1,
    });
    return buildPage('browse', rows.map((r) => ({ ...r, seq: r.app.seq })), page, (r) => ({ ...appJson(r.app), consented: r.consented }));
  });
}

/**
 * The groups a consents list without `group_id=` is limited to, or
 * undefined for none (tenant-wide roles). A group admin, or a person, sees
 * the consents of their own groups; and with `app_id=` of an app of one of
 * those groups, every consent to it (who uses it), not only their groups'
 * own: a plan that would change such an app's scope must be able to name
 * the consents it would break.
 */
async function consentListGroups(x: SqlExecutor, p: Principal, appId: string | undefined): Promise<readonly string[] | undefined> {
  const readable = readableGroups(p);
  if (readable === 'all') return undefined;
  if (appId !== undefined && isId('app', appId)) {
    const app = await getApp(x, p.tenant_id, appId);
    if (app !== undefined && readable.includes(app.group_id)) return undefined;
  }
  return readable;
}
