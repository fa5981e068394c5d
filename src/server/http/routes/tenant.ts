/** Tenant OAuth settings: `GET`/`PUT /v1/tenant/oauth-settings`. */
import type { FastifyInstance } from 'fastify';
import { actorOf, recordAudit } from '../../audit';
import { canChangeSettings, canReadSettings, settingsRefusal } from '../../authz';
import { now, settingsJson } from '../../model';
import { tenantTransaction } from '../../storage/database';
import { getTenant, updateTenantSettings } from '../../storage/repo';
import { checkIfMatch, etag, principalOf, type RouteDeps, schemaOf } from '../context';
import { type FieldError, forbidden } from '../problem';
import { PutSettingsBody, READ_ONLY_SETTINGS_FIELDS, SettingsOut } from '../schemas';
import { requireObjectBody, schemaErrors, throwIfInvalid } from '../validation';

/** Registers the tenant settings routes. */
export function tenantRoutes(app: FastifyInstance, { db }: RouteDeps): void {
  app.get('/v1/tenant/oauth-settings', {
    schema: schemaOf({
      summary: 'Read the tenant OAuth settings',
      tags: ['tenant'],
      ok: { 200: ['the settings; ETag is their version', SettingsOut] },
      errors: { 403: 'this role may not read settings' },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    if (!canReadSettings(p)) throw forbidden('This token may not read the tenant settings.');
    const t = await getTenant(db, p.tenant_id);
    if (!t) throw new Error(`bug: tenant ${p.tenant_id} of a valid token is missing`);
    reply.header('etag', etag(t.settings_version));
    return settingsJson(t);
  });

  app.put('/v1/tenant/oauth-settings', {
    schema: schemaOf({
      summary: 'Switch OAuth on or off for the tenant',
      description: 'Only oauth_enabled can be set here; SSO is set by an operator (appreg admin tenant set). A new tenant starts with OAuth off.',
      tags: ['tenant'],
      body: PutSettingsBody,
      headers: { 'if-match': 'optional ETag from GET; 412 when the settings changed since' },
      ok: { 200: ['the settings after the change', SettingsOut] },
      errors: { 403: 'only a tenant_security_admin may change settings', 412: 'stale If-Match', 422: 'invalid body' },
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const out = await tenantTransaction(db, p.tenant_id, async (tx) => {
      const t = await getTenant(tx, p.tenant_id, true);
      if (!t) throw new Error(`bug: tenant ${p.tenant_id} of a valid token is missing`);
      if (!canChangeSettings(p)) throw forbidden(settingsRefusal(p));
      checkIfMatch(req, t.settings_version, 'The tenant OAuth settings');
      const body = requireObjectBody(req.body, '{"oauth_enabled": true|false}');
      const errors: FieldError[] = [];
      const rest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(body)) {
        if ((READ_ONLY_SETTINGS_FIELDS as readonly string[]).includes(k)) {
          errors.push({ path: k, message: 'is read-only; SSO is set by an operator with "appreg admin tenant set --sso"' });
        } else {
          rest[k] = v;
        }
      }
      errors.push(...schemaErrors(PutSettingsBody, rest));
      throwIfInvalid(errors);
      const { oauth_enabled } = PutSettingsBody.parse(rest);
      if (oauth_enabled === t.oauth_enabled) return t;
      const next = { ...t, oauth_enabled, settings_version: t.settings_version + 1, updated_at: now() };
      await updateTenantSettings(tx, next);
      await recordAudit(tx, {
        tenant_id: t.id,
        actor: actorOf(p),
        action: 'tenant.settings.update',
        target_type: 'tenant',
        target_id: t.id,
        before: settingsJson(t),
        after: settingsJson(next),
      });
      return next;
    });
    reply.header('etag', etag(out.settings_version));
    return settingsJson(out);
  });
}
