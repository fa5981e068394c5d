/** Rules are told apart by code: what a caller does with a violation never depends on its message. */
import { checkAppShape, checkConsentTarget, RULE_CODES } from '../../src/rules';

describe('rule codes', () => {
  it('names each cross-field rule by code', () => {
    const codes = checkAppShape({ public_client: true, require_pkce: false, grant_types: ['device_code', 'implicit', 'device_code'] }, false).map((v) => v.code);
    expect(codes).toEqual(['require_pkce.public_client', 'grant_types.unknown', 'grant_types.repeated', 'grant_types.device_grant_disabled']);
    expect(codes.every((c) => (RULE_CODES as readonly string[]).includes(c))).toBe(true);
  });

  it('gives the consent rule by code, scope first', () => {
    expect(checkConsentTarget({ scope: 'group', group_id: 'grp_a' }, 'grp_a')).toEqual(['consent.not_organization', 'consent.own_app']);
    expect(checkConsentTarget({ scope: 'organization', group_id: 'grp_a' }, 'grp_b')).toEqual([]);
  });
});
