/** Groups (`GET /v1/groups`) and the audit log (`GET /v1/audit`): read-only lists. */
import type { FastifyInstance } from 'fastify';
import { auditRefusal, canReadAudit, groupListRestriction } from '../../authz';
import { auditJson, groupJson } from '../../model';
import { listAudit, listGroups } from '../../storage/repo';
import { principalOf, type RouteDeps, schemaOf } from '../context';
import { buildPage, pageRequest } from '../pagination';
import { forbidden } from '../problem';
import { AuditOut, AuditQuery, GroupOut, GroupsQuery, pageOf } from '../schemas';
import { parseQuery } from '../validation';

/** Registers the group list and the audit log. */
export function groupRoutes(app: FastifyInstance, { db }: RouteDeps): void {
  app.get('/v1/groups', {
    schema: schemaOf({
      summary: 'List the groups the caller may see',
      description: 'A group_admin sees its own group, a person the groups they are in (every group for a security admin); ' +
        'the other roles see every group of the tenant. Filter by exact name with name=.',
      tags: ['groups'],
      query: GroupsQuery,
      ok: { 200: ['a page of groups', pageOf(GroupOut)] },
      errors: { 422: 'invalid query parameter' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    const q = parseQuery(GroupsQuery, req.query);
    const page = pageRequest('groups', q);
    const rows = await listGroups(db, {
      tenantId: p.tenant_id,
      ...groupListRestriction(p),
      ...(q.name !== undefined ? { name: q.name } : {}),
      after: page.after,
      limit: page.limit + 1,
    });
    return buildPage('groups', rows, page, groupJson);
  });

  app.get('/v1/audit', {
    schema: schemaOf({
      summary: 'Read the audit log, oldest first',
      description: 'Every change: who (a token by id and role, a person by user id and the client id of the app they used, or an operator), ' +
        'what, when, and the object before and after. Never a secret or token.',
      tags: ['audit'],
      query: AuditQuery,
      ok: { 200: ['a page of audit events', pageOf(AuditOut)] },
      errors: { 403: 'only tenant_security_admin and auditor tokens, and security admin people, may read the audit log', 422: 'invalid query parameter' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    if (!canReadAudit(p)) throw forbidden(auditRefusal(p));
    const q = parseQuery(AuditQuery, req.query);
    const page = pageRequest('audit', q);
    const rows = await listAudit(db, { tenantId: p.tenant_id, after: page.after, limit: page.limit + 1 });
    return buildPage('audit', rows, page, auditJson);
  });
}
