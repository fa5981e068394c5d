/**
 * Idempotency keys derived from what the provider is about to do, not drawn
 * at random. Terraform (or the provider) can be killed after the service
 * made an app but before the state recorded it; the next apply, in a new
 * process, then sends the same key for the same intent and the service
 * replays its answer, secret included, instead of answering 409 for the
 * name or making a second app. The service replays an answer only while
 * the app it shows exists with the secret it shows, so a create after the
 * app was deleted makes a new one.
 *
 * A derived key is guessable by anyone who knows the configuration, which is
 * why the service seals its stored replays with a key of its own as well,
 * and keeps replays per API token.
 */
import { createHash } from 'node:crypto';

/** A JSON value with object keys sorted at every level, so equal intents serialize to equal text. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/**
 * The Idempotency-Key of an intent: `appreg-<kind>-v1-` and the SHA-256 of
 * its canonical JSON (base64url), well within the service's 255 characters.
 * @param kind what is done, e.g. `create` or `rotate`
 * @param intent everything that makes two requests the same request; sets sorted by the caller
 */
export function intentKey(kind: string, intent: Record<string, unknown>): string {
  const digest = createHash('sha256').update(JSON.stringify(canonical({ kind, intent })), 'utf8').digest('base64url');
  return `appreg-${kind}-v1-${digest}`;
}
