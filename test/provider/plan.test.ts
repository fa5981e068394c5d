import { planFromSpec } from '../../src/framework/plan';
import { appConsent, oauthClient, tenantOauthSetting } from '../../src/schema';
import { Unknown, type TfValue } from '../../src/tfplugin/types';

type S = { [k: string]: TfValue };
const nulls = (names: string[]): S => Object.fromEntries(names.map((n) => [n, null]));
const clientAttrs = Object.keys(oauthClient.attributes);

const config: S = {
  ...nulls(clientAttrs),
  group_id: 'grp_a', name: 'Billing', callback_urls: ['https://b.example/cb'], scope: 'group',
};
const created: S = {
  ...config, id: 'app_1', client_id: 'cid', client_secret: 's3cret', secret_version: 1, created_at: '2026-01-01T00:00:00Z',
  grant_types: ['authorization_code'], public_client: false, require_pkce: false, enabled: true,
};

describe('planning from the schema', () => {
  it('on create, plans defaults for unset optional attributes and unknown for computed ones', () => {
    const { planned, requiresReplace } = planFromSpec(oauthClient, null, config, config);
    expect(planned.grant_types).toEqual(['authorization_code']);
    expect(planned.public_client).toBe(false);
    expect(planned.enabled).toBe(true);
    for (const name of ['id', 'client_id', 'client_secret', 'secret_version', 'created_at', 'require_pkce']) {
      expect(planned[name]).toBe(Unknown.value);
    }
    expect(requiresReplace).toEqual([]);
  });

  it('on update, keeps prior computed values (no perpetual diff) and plans no replacement for a rename', () => {
    const renamed = { ...config, name: 'Billing Two' };
    const proposed = { ...created, name: 'Billing Two' };
    const { planned, requiresReplace } = planFromSpec(oauthClient, created, proposed, renamed);
    expect(planned).toEqual({ ...created, name: 'Billing Two' });
    expect(requiresReplace).toEqual([]);
  });

  it('names scope and group_id when they change, and an unknown new group id', () => {
    const moved = { ...config, scope: 'organization' };
    expect(planFromSpec(oauthClient, created, { ...created, scope: 'organization' }, moved).requiresReplace).toEqual([['scope']]);
    const unknownGroup = { ...created, group_id: Unknown.value };
    expect(planFromSpec(oauthClient, created, unknownGroup, { ...config, group_id: Unknown.value }).requiresReplace).toEqual([['group_id']]);
  });

  it('goes back to the default when an optional attribute is removed from the configuration', () => {
    const prior = { ...created, enabled: false };
    const { planned } = planFromSpec(oauthClient, prior, { ...prior }, config);
    expect(planned.enabled).toBe(true);
  });

  it('replaces a consent whose app id becomes unknown (its app is being replaced)', () => {
    const prior = { id: 'grp_b/app_1', group_id: 'grp_b', app_id: 'app_1', created_at: 't' };
    const proposed = { ...prior, app_id: Unknown.value };
    expect(planFromSpec(appConsent, prior, proposed, { ...nulls(['id', 'created_at']), group_id: 'grp_b', app_id: Unknown.value }).requiresReplace).toEqual([['app_id']]);
  });
});

// Value equality (sets, maps, unknowns) is tested with the framework: test/framework/framework.test.ts.

describe('useStateForUnknown', () => {
  const spec = {
    typeName: 'toy',
    version: 0,
    description: 'toy',
    attributes: {
      name: { type: 'string', required: true, description: 'n' },
      kept: { type: 'string', computed: true, useStateForUnknown: true, description: 'k' },
      fresh: { type: 'string', computed: true, description: 'f' },
    },
  } as const;
  const prior = { name: 'a', kept: 'k1', fresh: 'f1' };

  it('keeps the prior value only where the schema says so', () => {
    const { planned } = planFromSpec(spec, prior, { ...prior, name: 'b' }, { name: 'b', kept: null, fresh: null });
    expect(planned).toEqual({ name: 'b', kept: 'k1', fresh: Unknown.value });
  });

  it('plans every computed value unknown on create', () => {
    const { planned } = planFromSpec(spec, null, { name: 'b', kept: null, fresh: null }, { name: 'b', kept: null, fresh: null });
    expect(planned).toEqual({ name: 'b', kept: Unknown.value, fresh: Unknown.value });
  });

  it('is set on every computed attribute of the appreg resources without a default, so their updates plan as before', () => {
    for (const s of [oauthClient, appConsent, tenantOauthSetting]) {
      const missing = Object.entries(s.attributes).filter(([, a]) => 'computed' in a && a.computed && !('default' in a) && !('useStateForUnknown' in a));
      expect(missing.map(([n]) => n)).toEqual([]);
    }
  });
});
