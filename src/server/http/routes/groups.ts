/** Groups (`GET /v1/groups`) and the audit log (`GET /v1/audit`): read-only lists. */
import type { FastifyInstance } from 'fastify';
import { canReadAudit } from '../../authz';
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
      description: 'A group_admin sees its own group; the other roles see every group of the tenant. Filter by exact name with name=.',
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
      ...(p.role === 'group_admin' && p.group_id !== null ? { onlyId: p.group_id } : {}),
      ...(q.name !== undefined ? { name: q.name } : {}),
      after: page.after,
      limit: page.limit + 1,
    });
    return buildPage('groups', rows, page, groupJson);
  });

  app.get('/v1/audit', {
    schema: schemaOf({
      summary: 'Read the audit log, oldest first',
      description: 'Every change: who (token id and role, or operator), what, when, and the object before and after. Never a secret or token.',
      tags: ['audit'],
      query: AuditQuery,
      ok: { 200: ['a page of audit events', pageOf(AuditOut)] },
      errors: { 403: 'only tenant_security_admin and auditor tokens may read the audit log', 422: 'invalid query parameter' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    if (!canReadAudit(p)) throw forbidden('Only tenant_security_admin and auditor tokens may read the audit log.');
    const q = parseQuery(AuditQuery, req.query);
    const page = pageRequest('audit', q);
    const rows = await listAudit(db, { tenantId: p.tenant_id, after: page.after, limit: page.limit + 1 });
    return buildPage('audit', rows, page, auditJson);
  });
}
