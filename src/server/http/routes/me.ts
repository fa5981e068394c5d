/**
 * `GET /v1/me`: who a person's access token speaks for, as an app that
 * signed them in needs it (DOMAIN.md "People and sign-in").
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { PersonPrincipal } from '../../model';
import { principalOf, type RouteDeps, schemaOf } from '../context';
import { forbidden } from '../problem';
import { MeOut } from '../schemas';

/** The JSON of `GET /v1/me`: its response schema's type, so the two cannot drift apart. */
export type MeJson = z.infer<typeof MeOut>;

/**
 * The JSON form of a person principal, field by field. The groups are those
 * authentication has just read from the database, so the answer is the
 * person's rights for this very request.
 */
export function meJson(p: PersonPrincipal): MeJson {
  return {
    user_id: p.user_id,
    username: p.username,
    tenant_id: p.tenant_id,
    groups: p.groups.map((g) => ({ id: g.id, name: g.name, role: g.role })),
  };
}

/** Registers `GET /v1/me`. */
export function meRoutes(app: FastifyInstance, _deps: RouteDeps): void {
  app.get('/v1/me', {
    schema: schemaOf({
      summary: 'The person an access token was issued for',
      description: 'For an access token an app obtained by signing a person in: the person, their tenant, and their groups with ' +
        'their role in each (admin or member). A service token describes no person (403).',
      tags: ['people'],
      ok: { 200: ['the person and their groups', MeOut] },
      errors: { 403: 'a service token, which describes no person' },
    }),
  }, async (req) => {
    const p = principalOf(req);
    // A decision: a service token gets 403, not 404. The route exists and
    // the caller is authenticated; it is the kind of credential that has no
    // person to describe (rule 1 of authz.ts: 403 for what a visible caller
    // may not do). A 404 would read as a missing route or a typo.
    if (p.kind !== 'person') {
      throw forbidden(`GET /v1/me describes a person signed in through an app; this is a service token (role ${p.role}).`);
    }
    return meJson(p);
  });
}
