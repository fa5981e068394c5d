/** The validators the schema declares: built from src/rules, run at plan time, and said in the docs. */
import { validateAttributes } from '../../src/framework/validate';
import { appregProvider, type AttributeSpec } from '../../src/schema';
import { RULE_CODES } from '../../src/rules';
import { Unknown } from '../../src/tfplugin/types';

const everyAttribute = (): Array<[string, string, AttributeSpec]> =>
  [appregProvider.provider, ...appregProvider.resources, ...appregProvider.dataSources]
    .flatMap((t) => Object.entries<AttributeSpec>(t.attributes).map(([n, a]): [string, string, AttributeSpec] => [t.typeName, n, a]));

describe('schema validators', () => {
  it('have rule codes, and where a description says the rule it is the validator\'s own words', () => {
    for (const [, , a] of everyAttribute()) {
      for (const v of a.validators ?? []) expect(RULE_CODES).toContain(v.code);
    }
    const client = appregProvider.resources.find((t) => t.typeName === 'appreg_oauth_client')!;
    for (const name of ['name', 'description', 'callback_urls', 'scope']) {
      const a: AttributeSpec = client.attributes[name]!;
      expect(a.description).toContain(a.validators![0]!.description);
    }
  });

  it('check known values and stand in for unknown set elements', () => {
    const client = appregProvider.resources.find((t) => t.typeName === 'appreg_oauth_client')!;
    const config = { name: 'a,b', callback_urls: ['http://x.example/cb', Unknown.value], scope: Unknown.value };
    expect(validateAttributes(client, config).map((d) => [d.summary, d.attribute])).toEqual([
      ['Invalid app name', ['name']],
      ['Invalid callback URLs', ['callback_urls']],
    ]);
    const many = Array.from({ length: 61 }, () => Unknown.value);
    expect(validateAttributes(client, { callback_urls: many }).map((d) => d.detail)).toEqual(['callback_urls at most 60 callback URLs are allowed (got 61).']);
  });
});
