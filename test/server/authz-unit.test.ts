/**
 * The rules of src/server/authz.ts for principals built by hand: people
 * (each kind of membership) beside the token roles they map to, on objects
 * of their groups, another group and another tenant. Pure logic; the same
 * rules through HTTP on both back ends are in person-rights.test.ts and
 * authz.test.ts.
 */
import {
  appListRestriction,
  canChangeApp,
  canChangeSettings,
  canReadAudit,
  canSeeApp,
  canSeeConsent,
  canSeeGroup,
  canWriteInGroup,
  defaultBrowseGroup,
  groupListRestriction,
  readableGroups,
  writableGroups,
  writeRefusal,
} from '../../src/server/authz';
import type { App, Consent, Group, PersonPrincipal, Principal, TokenPrincipal } from '../../src/server/model';

const T = 'ten_a';
const group = (id: string, tenant_id = T): Group => ({ seq: 1, id, tenant_id, name: id.slice(4), created_at: '' });
const app = (group_id: string, scope: 'group' | 'organization', tenant_id = T): App => ({
  seq: 1, id: `app_${group_id}_${scope}`, tenant_id, group_id, client_id: 'c', name: 'n', description: null, callback_urls: [],
  scope, grant_types: ['authorization_code'], public_client: false, require_pkce: false, enabled: true, secret_version: 1,
  created_at: '', updated_at: '', version: 1,
});
const consent = (group_id: string, tenant_id = T): Consent => ({ seq: 1, tenant_id, group_id, app_id: 'app_x', created_at: '' });

const token = (role: TokenPrincipal['role'], group_id: string | null = null): TokenPrincipal => ({ kind: 'token', token_id: 'tok_1', tenant_id: T, role, group_id });
const person = (o: Partial<PersonPrincipal> = {}): PersonPrincipal => ({
  kind: 'person', token_id: 'pat_1', token_ref: 'pat_1', tenant_id: T, user_id: 'usr_1', username: 'ann', app_id: 'app_c', client_id: 'c',
  security_admin: false, groups: [], ...o,
});

const G1 = 'grp_one';
const G2 = 'grp_two';
const G3 = 'grp_three';
const mixed = person({ groups: [{ id: G1, name: 'one', role: 'admin' }, { id: G2, name: 'two', role: 'member' }] });
const secAdmin = person({ security_admin: true, groups: [{ id: G2, name: 'two', role: 'member' }] });
const loner = person();
const foreign = person({ tenant_id: 'ten_b', security_admin: true });

describe('a person has the rights of the token roles their memberships map to', () => {
  it.each<[string, Principal, Principal]>([
    ['admin of one group = group_admin of it', person({ groups: [{ id: G1, name: 'one', role: 'admin' }] }), token('group_admin', G1)],
    ['security admin = tenant_security_admin', person({ security_admin: true }), token('tenant_security_admin')],
  ])('%s', (_name, p, t) => {
    const groups = [group(G1), group(G2), group('grp_x', 'ten_b')];
    const apps = [app(G1, 'group'), app(G1, 'organization'), app(G2, 'group'), app(G2, 'organization'), app(G2, 'organization', 'ten_b')];
    const consents = [consent(G1), consent(G2), consent(G1, 'ten_b')];
    for (const g of groups) expect([canSeeGroup(p, g), canWriteInGroup(p, g)]).toEqual([canSeeGroup(t, g), canWriteInGroup(t, g)]);
    for (const a of apps) expect([canSeeApp(p, a), canChangeApp(p, a)]).toEqual([canSeeApp(t, a), canChangeApp(t, a)]);
    for (const c of consents) expect(canSeeConsent(p, c)).toBe(canSeeConsent(t, c));
    expect([canChangeSettings(p), canReadAudit(p)]).toEqual([canChangeSettings(t), canReadAudit(t)]);
    expect(appListRestriction(p)).toEqual(appListRestriction(t));
    expect(groupListRestriction(p)).toEqual(groupListRestriction(t));
  });
});

describe('admin of G1, member of G2', () => {
  it('writes in G1 only, reads G1 and G2, not G3', () => {
    expect([G1, G2, G3].map((g) => [canSeeGroup(mixed, group(g)), canWriteInGroup(mixed, group(g))])).toEqual([[true, true], [true, false], [false, false]]);
    expect(readableGroups(mixed)).toEqual([G1, G2]);
    expect(writableGroups(mixed)).toEqual([G1]);
  });

  it('sees the apps of G1 and G2 and organization-scoped apps of G3; changes G1\'s', () => {
    const seen = (a: App) => [canSeeApp(mixed, a), canChangeApp(mixed, a)];
    expect(seen(app(G1, 'group'))).toEqual([true, true]);
    expect(seen(app(G2, 'group'))).toEqual([true, false]);
    expect(seen(app(G3, 'group'))).toEqual([false, false]);
    expect(seen(app(G3, 'organization'))).toEqual([true, false]);
    expect(appListRestriction(mixed)).toEqual({ visibleToGroups: [G1, G2] });
  });

  it('sees the consents of G1 and G2 only; neither settings nor audit', () => {
    expect([G1, G2, G3].map((g) => canSeeConsent(mixed, consent(g)))).toEqual([true, true, false]);
    expect([canChangeSettings(mixed), canReadAudit(mixed)]).toEqual([false, false]);
  });

  it('is told why a write in G2 is refused (member), and in G3 (not an admin)', () => {
    expect(writeRefusal(mixed, 'app app_1', G2)).toMatch(/^ann is a member of group two \(grp_two\), which lets them read/);
    expect(writeRefusal(mixed, 'app app_1', G3)).toMatch(/^ann is not an admin of group grp_three, so cannot change app app_1/);
  });

  it('has no default browse group (two groups)', () => {
    expect(defaultBrowseGroup(mixed)).toBeUndefined();
    expect(defaultBrowseGroup(person({ groups: [{ id: G2, name: 'two', role: 'member' }] }))).toBe(G2);
  });
});

describe('edge cases', () => {
  it('a security admin is tenant-wide whatever their memberships', () => {
    expect(canWriteInGroup(secAdmin, group(G2))).toBe(true);
    expect(canChangeApp(secAdmin, app(G3, 'group'))).toBe(true);
    expect([canChangeSettings(secAdmin), canReadAudit(secAdmin)]).toEqual([true, true]);
    expect(appListRestriction(secAdmin)).toEqual({});
  });

  it('a person in no group sees nothing, not even organization-scoped apps', () => {
    expect(canSeeGroup(loner, group(G1))).toBe(false);
    expect(canSeeApp(loner, app(G1, 'organization'))).toBe(false);
    expect(canSeeConsent(loner, consent(G1))).toBe(false);
    expect(appListRestriction(loner)).toEqual({ visibleToGroups: [] });
    expect(groupListRestriction(loner)).toEqual({ onlyIds: [] });
  });

  it('another tenant\'s objects are invisible even to a security admin', () => {
    expect(canSeeGroup(foreign, group(G1))).toBe(false);
    expect(canSeeApp(foreign, app(G1, 'organization'))).toBe(false);
    expect(canSeeConsent(foreign, consent(G1))).toBe(false);
  });

  it('token messages are unchanged by the group argument', () => {
    expect(writeRefusal(token('auditor'), 'app app_1', G1)).toBe('An auditor token is read-only; it cannot change app app_1.');
  });
});
