/**
 * Terraform validates every configuration twice (ValidateResourceConfig, then
 * PlanResourceChange), and the callback URL rule remembers the lists it
 * checked. A repeated check must give the same diagnostics as the first, and
 * lists that differ in any way must not share an answer.
 */
import { validateConfig, asModel, modelMismatches } from '../../src/framework';
import { oauthClient } from '../../src/schema/definitions';
import { Unknown } from '../../src/tfplugin/types';

const config = (callback_urls: unknown) => ({
  id: null, group_id: 'grp_1', name: 'Portal', description: null, callback_urls, scope: 'group', grant_types: null,
  public_client: null, require_pkce: null, enabled: null, rotation_triggers: null, client_id: null, client_secret: null,
  secret_version: null, created_at: null,
}) as never;

describe('validation repeated on the same configuration', () => {
  test('the second check of a list gives the same diagnostics, every time', () => {
    const bad = ['http://example.com/cb', 'https://ok.example.com/cb', 'https://ok.example.com/cb'];
    const first = validateConfig(oauthClient, config(bad));
    expect(first.length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(validateConfig(oauthClient, config([...bad]))).toEqual(first);
  });

  test('lists that differ get their own answers', () => {
    const ok = validateConfig(oauthClient, config(['https://a.example.com/cb']));
    const bad = validateConfig(oauthClient, config(['https://a.example.com/cb ']));
    const joined = validateConfig(oauthClient, config(['https://a.example.com/cb", "https://b.example.com/cb']));
    expect(ok).toEqual([]);
    expect(bad).not.toEqual([]);
    expect(joined).not.toEqual(ok);
    expect(validateConfig(oauthClient, config(['https://a.example.com/cb']))).toEqual([]);
  });

  test('unknown elements are checked with their stand-ins, as before', () => {
    expect(validateConfig(oauthClient, config(['https://a.example.com/cb', Unknown.value]))).toEqual([]);
    const tooMany = Array.from({ length: 61 }, (_, i) => (i % 2 ? Unknown.value : `https://h${i}.example.com/`));
    expect(validateConfig(oauthClient, config(tooMany))).toHaveLength(1);
  });
});

describe('model checks', () => {
  test('a state that fits, and one that does not, named by attribute', () => {
    const state = {
      id: 'app_1', group_id: 'grp_1', name: 'Portal', description: null, callback_urls: ['https://a.example.com/cb'], scope: 'group',
      grant_types: ['authorization_code'], public_client: false, require_pkce: true, enabled: true, rotation_triggers: null,
      client_id: 'c', client_secret: null, secret_version: 1, created_at: 't',
    };
    expect(modelMismatches(oauthClient, state, 'state')).toEqual([]);
    expect(asModel(oauthClient, { ...state }, 'state')).toEqual(state);
    expect(modelMismatches(oauthClient, { ...state, scope: 'galaxy', grant_types: ['authorization_code', 'nope'], id: Unknown.value }, 'state')).toEqual(['id', 'scope', 'grant_types']);
    expect(modelMismatches(oauthClient, { ...state, id: Unknown.value }, 'planned')).toEqual([]);
    // A sparse list was let through by `every`, and still is.
    // eslint-disable-next-line no-sparse-arrays
    expect(modelMismatches(oauthClient, { ...state, grant_types: [, 'authorization_code'] as never }, 'state')).toEqual([]);
  });
});
