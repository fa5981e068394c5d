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
 *
 * People (DOMAIN.md "People and sign-in"): a person calling with an access
 * token the OpenID Connect provider issued to an app has the rights of the
 * roles above, taken from their own record at each request, never from the
 * token or the app it was issued to:
 * - `--security-admin` is a `tenant_security_admin`, whatever their groups.
 * - Admin of a group (`--admin-of G`) is a `group_admin` of G, for each such
 *   group: writes there, sees G, its apps, its consents, and the
 *   organization-scoped apps of other groups.
 * - Member of a group (`--member G`) reads what a `group_admin` of G reads
 *   and writes nothing there (403 with a detail naming the membership).
 * So someone admin of G1 and member of G2 writes in G1 only and reads both;
 * a group they are in neither way is another group (404, rule 2).
 *
 * Edge cases for people, decided here:
 * 10. A person in no group who is not a security admin sees no group, app or
 *     consent (lists are empty; organization-scoped apps are seen from a
 *     group, and they have none). They may read the tenant OAuth settings
 *     (rule 5) and `GET /v1/me`.
 * 11. The audit log is for the security admin among people; group admins
 *     and members get 403 (rule 6: a person is never an auditor).
 * 12. A person's consents list without `group_id=` shows the consents of
 *     every group they are in; with `app_id=` of an app of one of their
 *     groups, every consent to that app (as a `group_admin` token's list
 *     does for its own group's apps), for each of their groups.
 * 13. The browse list defaults to the person's group when they are in
 *     exactly one (like a `group_admin` token); with several, or none, they
 *     say `group_id=` (422 without it): guessing among groups would show a
 *     different `consented` than the one they meant.
 * 14. The order of checks is rule 1's for people too: a member writing to
 *     their group's app gets 403, to a group-scoped app of a group they are
 *     not in 404.
 * 15. `GET /v1/me` describes a person; a service token, authenticated but
 *     with no person to describe, gets 403 (not 404: the route exists).
 */
import type { App, Consent, Group, PersonPrincipal, Principal } from './model';

/**
 * The groups whose objects a principal reads, or `'all'` for the whole
 * tenant. A `group_admin` token without a group (which the admin CLI never
 * makes) reads nothing: missing data fails closed.
 */
export function readableGroups(p: Principal): 'all' | readonly string[] {
  if (p.kind === 'person') return p.security_admin ? 'all' : p.groups.map((g) => g.id);
  if (p.role !== 'group_admin') return 'all';
  return p.group_id === null ? [] : [p.group_id];
}

/** The groups in which a principal changes apps and consents, or `'all'`. */
export function writableGroups(p: Principal): 'all' | readonly string[] {
  if (p.kind === 'person') return p.security_admin ? 'all' : p.groups.filter((g) => g.role === 'admin').map((g) => g.id);
  if (p.role === 'tenant_security_admin') return 'all';
  if (p.role === 'group_admin' && p.group_id !== null) return [p.group_id];
  return [];
}

function covers(groups: 'all' | readonly string[], groupId: string): boolean {
  return groups === 'all' || groups.includes(groupId);
}

/** May the principal see this group? */
export function canSeeGroup(p: Principal, g: Group): boolean {
  return g.tenant_id === p.tenant_id && covers(readableGroups(p), g.id);
}

/** May the principal create apps in, or change consents of, this (visible) group? */
export function canWriteInGroup(p: Principal, g: Group): boolean {
  return canSeeGroup(p, g) && covers(writableGroups(p), g.id);
}

/** May the principal see this app? */
export function canSeeApp(p: Principal, a: App): boolean {
  if (a.tenant_id !== p.tenant_id) return false;
  const readable = readableGroups(p);
  // Organization-scoped apps are what other groups browse: seen from any group of one's own (rule 10).
  if (covers(readable, a.group_id)) return true;
  return a.scope === 'organization' && readable !== 'all' && readable.length > 0;
}

/** May the principal change (PATCH, DELETE, rotate) this app? */
export function canChangeApp(p: Principal, a: App): boolean {
  return canSeeApp(p, a) && covers(writableGroups(p), a.group_id);
}

/** May the principal see this consent? */
export function canSeeConsent(p: Principal, c: Consent): boolean {
  return c.tenant_id === p.tenant_id && covers(readableGroups(p), c.group_id);
}

/** May the principal read the tenant's OAuth settings? */
export function canReadSettings(_p: Principal): boolean {
  return true;
}

/** May the principal change the tenant's OAuth settings? */
export function canChangeSettings(p: Principal): boolean {
  return p.kind === 'person' ? p.security_admin : p.role === 'tenant_security_admin';
}

/** May the principal read the audit log? */
export function canReadAudit(p: Principal): boolean {
  if (p.kind === 'person') return p.security_admin;
  return p.role === 'tenant_security_admin' || p.role === 'auditor';
}

/**
 * The restriction to put on app lists: a group admin (or a person) sees
 * their groups' apps and organization-scoped ones; tenant-wide roles see
 * the whole tenant.
 */
export function appListRestriction(p: Principal): { visibleToGroups?: readonly string[] } {
  const readable = readableGroups(p);
  return readable === 'all' ? {} : { visibleToGroups: readable };
}

/** The restriction to put on group lists: only the groups the principal may see. */
export function groupListRestriction(p: Principal): { onlyIds?: readonly string[] } {
  const readable = readableGroups(p);
  return readable === 'all' ? {} : { onlyIds: readable };
}

/**
 * The group the browse list is seen from when the request names none: a
 * `group_admin` token's group, or a person's only group (rule 13).
 */
export function defaultBrowseGroup(p: Principal): string | undefined {
  if (p.kind === 'person') return p.groups.length === 1 ? p.groups[0]!.id : undefined;
  return p.role === 'group_admin' && p.group_id !== null ? p.group_id : undefined;
}

/** Why `GET /v1/browse` needs `group_id=` from this principal, for a 422. */
export function browseGroupRequired(p: Principal): string {
  if (p.kind === 'person') {
    if (p.groups.length > 1) {
      return `is required: the browse list is seen from one group, and you are in ${p.groups.length} (${p.groups.map((g) => g.name).join(', ')}); name one`;
    }
    return p.security_admin
      ? 'is required: the browse list is seen from one group; as a security admin, name any group of the tenant'
      : 'is required: the browse list is seen from one group, and you are in none';
  }
  return 'is required: the browse list is seen from one group (a group_admin token defaults to its own)';
}

function groupLabel(p: PersonPrincipal, groupId: string): string {
  const g = p.groups.find((x) => x.id === groupId);
  return g === undefined ? `group ${groupId}` : `group ${g.name} (${g.id})`;
}

/**
 * Why a write was refused, as one sentence for a 403 `detail`.
 * @param groupId the group the object belongs to, so that a person is told
 *   their role there (tokens' messages do not need it)
 */
export function writeRefusal(p: Principal, what: string, groupId?: string): string {
  if (p.kind === 'person') {
    const role = groupId === undefined ? undefined : p.groups.find((g) => g.id === groupId)?.role;
    if (role === 'member' && groupId !== undefined) {
      return `${p.username} is a member of ${groupLabel(p, groupId)}, which lets them read its apps and consents but not change them; ` +
        `${what} can be changed by an admin of that group or a security admin.`;
    }
    return `${p.username} is not an admin of ${groupId === undefined ? 'the owning group' : groupLabel(p, groupId)}, so cannot change ${what}; ` +
      'an admin of that group or a security admin can.';
  }
  if (p.role === 'auditor') return `An auditor token is read-only; it cannot change ${what}.`;
  if (p.role === 'group_admin') {
    return `A group_admin token may change only its own group's apps and consents; ${what} belongs elsewhere. ` +
      'Use a token of the owning group or a tenant_security_admin token.';
  }
  return `This token may not change ${what}.`;
}

/** Why a change of the tenant OAuth settings was refused, for a 403 `detail`. */
export function settingsRefusal(p: Principal): string {
  if (p.kind === 'person') {
    return `Only a security admin (or a tenant_security_admin token) may change the tenant OAuth settings, and ${p.username} is not one. ` +
      'Ask a security admin to make the change.';
  }
  return `Only a tenant_security_admin may change the tenant OAuth settings, and this is ${p.role === 'auditor' ? 'an auditor' : `a ${p.role}`} token. ` +
    'Use a tenant_security_admin token, or ask a tenant security admin to make the change.';
}

/** Why reading the audit log was refused, for a 403 `detail`. */
export function auditRefusal(p: Principal): string {
  if (p.kind === 'person') {
    return `Only a security admin among people (and tenant_security_admin and auditor tokens) may read the audit log; ${p.username} is not a security admin.`;
  }
  return 'Only tenant_security_admin and auditor tokens may read the audit log.';
}
