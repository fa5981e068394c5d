/** Encoding of the provider's private data (kept by Terraform beside the state, never shown). */
import type { PrivateData } from '../resources/resource';

/** Decodes private bytes; empty or foreign bytes give an empty object, so old state keeps working. */
export function decodePrivate(bytes: Uint8Array | undefined): PrivateData {
  if (!bytes || bytes.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const version = (parsed as { version?: unknown }).version;
      return typeof version === 'number' ? { version } : {};
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
