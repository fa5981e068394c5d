/**
 * Who may see and change what. Every route asks these functions; none
 * decides on its own.
 *
 * The contract (DOMAIN.md): 401 without a valid token; 404 for anything the
 * caller may not see (another tenant's objects always); 403 for an object
 * the caller sees but may not change, or a role that may not write.
 *
 * Roles:
 * - `tenant_security_admin` sees and changes everything in its tenant,
 *   including apps in any group, consents of any group and tenant settings.
 * - `group_admin` sees its own group, every app of its group, the
 *   organization-scoped apps of other groups (the browse list), and its
 *   group's consents; it changes only its own group's apps and consents.
 * - `auditor` sees everything in its tenant, including the audit log, and
 *   changes nothing.
 *
 * Edge cases decided here (the contract leaves them open):
 * 1. Order of checks: 401, then 404 (not visible), then 403 (visible but not
 *    changeable), then 412 (stale If-Match), then 422 (invalid body), then
 *    409 (state conflicts such as a taken name or OAuth switched off). So an
 *    auditor writing to an app that exists gets 403, to one that does not
 *    exist 404, and nobody learns anything from a 422 about an object they
 *    may not change.
 * 2. Groups other than its own are not visible to a `group_admin` (GET
 *    /v1/groups lists only its group). So registering an app in, or
 *    consenting for, another group is 404, not 403.
 * 3. A group-scoped app of another group is invisible to a `group_admin`
 *    (404); an organization-scoped one is visible and read-only (403 on
 *    PATCH, DELETE, rotate-secret).
 * 4. Consents belong to the consenting group: a `group_admin` sees and
 *    changes only the consents of its own group, even consents that other
 *    groups gave to its apps (those are another group's decisions).
 * 5. Everyone in the tenant may read the tenant OAuth settings (a group
 *    admin's provider needs `device_grant_allowed` for plan-time checks);
 *    only `tenant_security_admin` may change them (others 403).
 * 6. The audit log is readable by `tenant_security_admin` and `auditor`; a
 *    `group_admin` gets 403 (the log exists, its role may not read it).
 * 7. List filters that name a group (`group_id=`) must name a group of the
 *    caller's tenant, else 404. The apps list then shows what the caller may
 *    see of that group (for a group admin and another group: its
 *    organization-scoped apps). The consents list and the browse list for a
 *    group the caller may not see are 404.
 * 8. The browse list is per group: a `group_admin` browses for its own group
 *    by default; the other roles must say `group_id=` (422 without it),
 *    because "other groups" and `consented` need a point of view.
 * 9. The admin CLI (operators with database access) is outside this model:
 *    it manages tenants, groups and tokens, and is audited as `operator`.
 */
import type { App, Consent, Group, Principal } from './model';

/** May the principal see this group? */
export function canSeeGroup(p: Principal, g: Group): boolean {
  if (g.tenant_id !== p.tenant_id) return false;
  return p.role !== 'group_admin' || g.id === p.group_id;
}

/** May the principal create apps in, or change consents of, this (visible) group? */
export function canWriteInGroup(p: Principal, g: Group): boolean {
  if (!canSeeGroup(p, g)) return false;
  return p.role === 'tenant_security_admin' || (p.role === 'group_admin' && g.id === p.group_id);
}

/** May the principal see this app? */
export function canSeeApp(p: Principal, a: App): boolean {
  if (a.tenant_id !== p.tenant_id) return false;
  return p.role !== 'group_admin' || a.group_id === p.group_id || a.scope === 'organization';
}

/** May the principal change (PATCH, DELETE, rotate) this app? */
export function canChangeApp(p: Principal, a: App): boolean {
  if (!canSeeApp(p, a)) return false;
  return p.role === 'tenant_security_admin' || (p.role === 'group_admin' && a.group_id === p.group_id);
}

/** May the principal see this consent? */
export function canSeeConsent(p: Principal, c: Consent): boolean {
  if (c.tenant_id !== p.tenant_id) return false;
  return p.role !== 'group_admin' || c.group_id === p.group_id;
}

/** May the principal read the tenant's OAuth settings? */
export function canReadSettings(_p: Principal): boolean {
  return true;
}

/** May the principal change the tenant's OAuth settings? */
export function canChangeSettings(p: Principal): boolean {
  return p.role === 'tenant_security_admin';
}

/** May the principal read the audit log? */
export function canReadAudit(p: Principal): boolean {
  return p.role === 'tenant_security_admin' || p.role === 'auditor';
}

/**
 * The restriction to put on app lists: a group admin sees its own group's
 * apps and organization-scoped ones; the other roles see the whole tenant.
 */
export function appListRestriction(p: Principal): { visibleToGroup?: string } {
  return p.role === 'group_admin' && p.group_id !== null ? { visibleToGroup: p.group_id } : {};
}

/** Why a write was refused, as one sentence for a 403 `detail`. */
export function writeRefusal(p: Principal, what: string): string {
  if (p.role === 'auditor') return `An auditor token is read-only; it cannot change ${what}.`;
  if (p.role === 'group_admin') {
    return `A group_admin token may change only its own group's apps and consents; ${what} belongs elsewhere. ` +
      'Use a token of the owning group or a tenant_security_admin token.';
  }
  return `This token may not change ${what}.`;
}
