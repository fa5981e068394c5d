/**
 * The provider's private data: kept by Terraform beside the state, never
 * shown to users. appreg keeps the service's version of the object there, to
 * send as `If-Match` so an update never overwrites a change it has not seen.
 */

/** What a resource keeps beside its state. */
export interface PrivateData {
  /** The service's version of the object when the state was written. */
  version?: number;
}

/** Decodes private bytes; empty or foreign bytes give an empty object, so old state keeps working. */
export function decodePrivate(bytes: Uint8Array | undefined): PrivateData {
  if (!bytes || bytes.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'version' in parsed) {
      return typeof parsed.version === 'number' ? { version: parsed.version } : {};
    }
  } catch {
    // Not ours: ignore rather than fail a plan over bookkeeping.
  }
  return {};
}

/** Encodes private data; nothing to keep gives no bytes. */
export function encodePrivate(data: PrivateData | undefined): Uint8Array | undefined {
  if (!data || data.version === undefined) return undefined;
  return Buffer.from(JSON.stringify({ version: data.version }), 'utf8');
}
