/** What the service and the client take from the schema: the fields an update may change. */
import { z } from 'zod';
import { IMMUTABLE_APP_FIELDS, jsonSchema, PatchAppBody } from '../../src/server/http/schemas';
import { oauthClient, UPDATABLE_APP_FIELDS, type AttributeSpec, type UpdatableAppField } from '../../src/schema';
import type { UpdateAppInput } from '../../src/client';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

describe('fields derived from the schema', () => {
  it('lists the updatable app fields in schema order', () => {
    expect(UPDATABLE_APP_FIELDS).toEqual(['name', 'description', 'callback_urls', 'grant_types', 'require_pkce', 'enabled']);
    const exact: Equal<UpdatableAppField, 'name' | 'description' | 'callback_urls' | 'grant_types' | 'require_pkce' | 'enabled'> = true;
    expect(exact).toBe(true);
    const client: Equal<keyof UpdateAppInput, UpdatableAppField> = true;
    expect(client).toBe(true);
  });

  it('builds the PATCH body the service always took', () => {
    const text = () => z.string().refine((s) => !s.includes('\u0000'), { message: 'x' });
    const handWritten = z.strictObject({
      name: text().optional(),
      description: text().nullable().optional(),
      callback_urls: z.array(text()).optional(),
      grant_types: z.array(text()).optional(),
      require_pkce: z.boolean().optional(),
      enabled: z.boolean().optional(),
    });
    expect(jsonSchema(PatchAppBody, 'input')).toEqual(jsonSchema(handWritten, 'input'));
    expect(PatchAppBody.safeParse({ description: null, name: 'A' }).success).toBe(true);
    expect(PatchAppBody.safeParse({ name: null }).success).toBe(false);
    expect(PatchAppBody.safeParse({ scope: 'group' }).success).toBe(false);
  });

  it('refuses by name exactly the app fields that force a replacement', () => {
    // The service keeps its own order of these (its 422 lists them in it); the set is the schema's.
    const replacing = Object.entries<AttributeSpec>(oauthClient.attributes).filter(([, a]) => a.requiresReplace && !a.stateOnly).map(([n]) => n);
    expect([...IMMUTABLE_APP_FIELDS].sort()).toEqual(replacing.sort());
  });
});
