/**
 * The audit trail: who changed what, when, and the object before and after.
 * Events are written in the same transaction as the change they describe,
 * so there is never a change without its event (or the other way round).
 */
import { newId } from './crypto';
import type { AuditActor, Principal } from './model';
import { now } from './model';
import { insertAudit } from './storage/repo';
import type { Transaction } from './storage/database';

/**
 * The audit actor of a principal. A service token: its id and role, never
 * its value. A person: who they are and the app (client id) they acted
 * through; never the access token, nor its reference, which names a
 * credential that expires within minutes and would only invite lookups.
 */
export function actorOf(p: Principal): AuditActor {
  if (p.kind === 'person') return { type: 'person', user_id: p.user_id, username: p.username, client_id: p.client_id };
  return { type: 'token', token_id: p.token_id, role: p.role, group_id: p.group_id };
}

/** The audit actor of an operator command (`appreg admin ...`). */
export function operator(command: string): AuditActor {
  return { type: 'operator', command };
}

/** What changed, for {@link recordAudit}. */
export interface Change {
  tenant_id: string;
  actor: AuditActor;
  /** `<object>.<verb>`, e.g. `app.create`, `consent.delete`. */
  action: string;
  target_type: 'tenant' | 'group' | 'token' | 'app' | 'consent' | 'user';
  target_id: string;
  before: object | null;
  after: object | null;
}

/**
 * Keys that must never reach the audit log. The JSON forms that callers pass
 * do not have them; this is the second line of defence.
 */
const SECRET_KEYS = new Set([
  'client_secret', 'secret', 'secret_hash', 'token', 'token_hash', 'authorization', 'password', 'password_hash',
  // What a person's sign-in carries (the OpenID Connect provider audits sign-ins and tokens issued).
  'access_token', 'refresh_token', 'id_token', 'authorization_code', 'code_verifier', 'device_code', 'user_code',
]);

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrub);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !SECRET_KEYS.has(k)).map(([k, x]) => [k, scrub(x)]));
  }
  return v;
}

/** Appends an audit event for `c` inside the caller's transaction. */
export async function recordAudit(tx: Transaction, c: Change): Promise<void> {
  await insertAudit(tx, {
    id: newId('evt'),
    tenant_id: c.tenant_id,
    at: now(),
    // The actor is scrubbed too: every actor type is built field by field
    // (actorOf, operator), but one made elsewhere must not carry a credential either.
    actor: scrub(c.actor) as AuditActor,
    action: c.action,
    target_type: c.target_type,
    target_id: c.target_id,
    before: c.before === null ? null : scrub(c.before),
    after: c.after === null ? null : scrub(c.after),
  });
}
