/**
 * Diagnostics as data: `{severity, summary, detail, attribute}`, collected
 * and returned together. The shape itself is the protocol's
 * ({@link Diagnostic}); this module adds what every resource shares on top
 * of it: the error type that carries diagnostics out of a resource method,
 * and the helpers to build, merge and test them.
 */
import { hasErrors } from '../tfplugin/diagnostics';
import type { AttributePath, Diagnostic } from '../tfplugin/types';

export type { Diagnostic } from '../tfplugin/types';
export { hasErrors };

/** An error diagnostic; `attribute` is left out when the problem is about no one attribute. */
export function errorDiagnostic(summary: string, detail: string, attribute?: AttributePath): Diagnostic {
  return attribute === undefined ? { severity: 'error', summary, detail } : { severity: 'error', summary, detail, attribute };
}

/** A warning diagnostic. */
export function warningDiagnostic(summary: string, detail: string, attribute?: AttributePath): Diagnostic {
  return attribute === undefined ? { severity: 'warning', summary, detail } : { severity: 'warning', summary, detail, attribute };
}

/** The identity of a diagnostic: two with the same key say the same thing about the same place. */
function diagnosticKey(d: Diagnostic): string {
  return JSON.stringify([d.severity, d.summary, d.detail ?? '', d.attribute ?? []]);
}

/**
 * The diagnostics without repeats, first occurrence kept, order otherwise
 * unchanged: when two phases find the same problem a user should read it once.
 */
export function dedupDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = diagnosticKey(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * An error with diagnostics a user can act on. A resource throws it from
 * any method; the provider returns its diagnostics as they are, where any
 * other error becomes a generic "Could not …" diagnostic.
 */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.summary}: ${d.detail ?? ''}`).join('; '));
    this.name = 'DiagnosticError';
  }
}
