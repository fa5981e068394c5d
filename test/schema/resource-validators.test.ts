/**
 * Resource-level validators: declared in the schema next to the attribute
 * validators, built from src/rules, identified by rule code, and run by the
 * framework's generic validation after the attribute validators.
 */
import { validateConfig, validateResourceRules } from '../../src/framework/validate';
import { RULE_CODES } from '../../src/rules';
import { appregProvider, oauthClient, type ResourceValidator, type TypeSpec } from '../../src/schema';
import { Unknown } from '../../src/tfplugin/types';

describe('resource-level validators', () => {
  it('are declared by rule codes of src/rules, and appreg_oauth_client declares the cross-field rules', () => {
    for (const t of [...appregProvider.resources, ...appregProvider.dataSources, appregProvider.provider]) {
      for (const v of t.validators ?? []) {
        expect(v.codes.filter((c) => !(RULE_CODES as readonly string[]).includes(c))).toEqual([]);
      }
    }
    expect(oauthClient.validators.flatMap((v) => v.codes)).toEqual(expect.arrayContaining(['require_pkce.public_client', 'grant_types.unknown', 'grant_types.device_grant_disabled']));
  });

  it('run after the attribute validators, in order, and only the rules asked for when asked', () => {
    const toy: ResourceValidator = {
      codes: ['require_pkce.public_client', 'grant_types.repeated'],
      summary: (code) => `toy ${code}`,
      check: (config) => [
        { code: 'require_pkce.public_client', attribute: 'b', message: 'b is wrong' },
        ...(config.a === 'x' ? [{ code: 'grant_types.repeated' as const, attribute: 'a', message: 'is repeated', element: 'x\n' }] : []),
      ],
    };
    const spec: TypeSpec = {
      typeName: 'toy',
      version: 0,
      description: '',
      attributes: {
        a: { type: 'string', optional: true, description: '', validators: [{ code: 'name.empty', summary: 'attr', description: '', check: () => [{ message: 'attr first' }] }] },
        b: { type: 'string', optional: true, description: '' },
      },
      validators: [toy],
    };
    expect(validateConfig(spec, { a: 'x', b: null }).map((d) => [d.summary, d.detail, d.attribute])).toEqual([
      ['attr', 'a attr first.', ['a']],
      ['toy require_pkce.public_client', 'b b is wrong.', ['b']],
      ['toy grant_types.repeated', 'a element "x\\n" is repeated.', ['a']],
    ]);
    expect(validateResourceRules(spec, { a: 'x', b: null }, {}, ['grant_types.repeated']).map((d) => d.summary)).toEqual(['toy grant_types.repeated']);
  });

  it('see unknown values as neither strings nor booleans, so they trip no rule', () => {
    const config = { public_client: Unknown.value, require_pkce: false, grant_types: [Unknown.value, 'device_code'] };
    expect(validateResourceRules(oauthClient, config, { deviceGrantAllowed: true })).toEqual([]);
  });
});
