/** What the service and the client take from the schema: the fields an update may change. */
import { z } from 'zod';
import { CreateAppBody, IMMUTABLE_APP_FIELDS, jsonSchema, PatchAppBody } from '../../src/server/http/schemas';
import { CREATE_APP_FIELDS, oauthClient, UPDATABLE_APP_FIELDS, type AttributeSpec, type CreateAppField, type UpdatableAppField } from '../../src/schema';
import type { GrantType, Scope } from '../../src/rules';
import type { CreateAppInput, UpdateAppInput } from '../../src/client';

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

  it('lists the create fields in schema order: the configurable ones the service has, not the group in the path', () => {
    expect(CREATE_APP_FIELDS).toEqual(['name', 'description', 'callback_urls', 'scope', 'grant_types', 'public_client', 'require_pkce', 'enabled']);
    const exact: Equal<CreateAppField, 'name' | 'description' | 'callback_urls' | 'scope' | 'grant_types' | 'public_client' | 'require_pkce' | 'enabled'> = true;
    expect(exact).toBe(true);
  });

  it('types the client\'s create input as the hand-written interface did', () => {
    interface HandWritten {
      name: string;
      callback_urls: string[];
      scope: Scope;
      description?: string | null;
      grant_types?: GrantType[];
      public_client?: boolean;
      require_pkce?: boolean;
      enabled?: boolean;
    }
    const same: Equal<CreateAppInput, HandWritten> = true;
    expect(same).toBe(true);
  });

  it('builds the POST body the service always took, descriptions and key order included', () => {
    // Captured from the hand-written CreateAppBody before it was derived. Compared as text too: the
    // published OpenAPI document (and docs/api.md generated from it) keeps the key order.
    const handWritten = {
    "type": "object",
    "properties": {
      "name": {
        "type": "string",
        "description": "letters, digits, \"?\" and \"!\", single spaces between words; unique in the group"
      },
      "description": {
        "type": [
          "string",
          "null"
        ]
      },
      "callback_urls": {
        "type": "array",
        "items": {
          "type": "string"
        },
        "description": "1 to 60 unique URLs, stored exactly as sent: https:// (http:// only for localhost, 127.0.0.1, [::1]), a DNS, IPv4 or [IPv6] host, optional port, ASCII only; no user info, fragment, backslash, whitespace or control characters"
      },
      "scope": {
        "type": "string",
        "enum": [
          "group",
          "organization"
        ],
        "description": "fixed at registration"
      },
      "grant_types": {
        "description": "default [\"authorization_code\"]; one or more of authorization_code, device_code",
        "type": "array",
        "items": {
          "type": "string"
        }
      },
      "public_client": {
        "description": "default false; fixed at registration",
        "type": "boolean"
      },
      "require_pkce": {
        "description": "default true for public clients (which must use PKCE), false otherwise",
        "type": "boolean"
      },
      "enabled": {
        "description": "default true",
        "type": "boolean"
      }
    },
    "required": [
      "name",
      "callback_urls",
      "scope"
    ],
    "additionalProperties": false
  };
    expect(jsonSchema(CreateAppBody, 'input')).toEqual(handWritten);
    expect(JSON.stringify(jsonSchema(CreateAppBody, 'input'))).toBe(JSON.stringify(handWritten));
    expect(CreateAppBody.safeParse({ name: 'A', callback_urls: ['https://a.example/cb'], scope: 'group', description: null }).success).toBe(true);
    expect(CreateAppBody.safeParse({ name: 'A', callback_urls: ['https://a.example/cb'], scope: 'tenant' }).success).toBe(false);
    expect(CreateAppBody.safeParse({ name: 'A', callback_urls: ['https://a.example/cb'] }).success).toBe(false);
    expect(CreateAppBody.safeParse({ name: 'A', callback_urls: ['https://a.example/cb'], scope: 'group', group_id: 'grp_1' }).success).toBe(false);
  });

  it('refuses by name exactly the app fields that force a replacement', () => {
    // The service keeps its own order of these (its 422 lists them in it); the set is the schema's.
    const replacing = Object.entries<AttributeSpec>(oauthClient.attributes).filter(([, a]) => a.requiresReplace && !a.stateOnly).map(([n]) => n);
    expect([...IMMUTABLE_APP_FIELDS].sort()).toEqual(replacing.sort());
  });
});
