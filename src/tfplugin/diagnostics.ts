/**
 * Diagnostics and attribute paths, between the provider-facing model and the
 * protocol messages.
 */
import type { AttributePath, Diagnostic, PathStep } from './types';
import { CodecError } from './tftype';
import type { WireAttributePath, WireDiagnostic, WireStep } from './wire';

/** Converts an attribute path to `tfplugin6.AttributePath`. */
export function pathToWire(path: AttributePath): WireAttributePath {
  return {
    steps: path.map((step): WireStep => {
      if (typeof step === 'string') return { attribute_name: step };
      if ('key' in step) return { element_key_string: step.key };
      return { element_key_int: step.index };
    }),
  };
}

/** Converts a `tfplugin6.AttributePath` back; a step with no selector set is an error. */
export function pathFromWire(path: WireAttributePath): AttributePath {
  return path.steps.map((step): PathStep => {
    // `selector` is filled by the decoder; messages built by hand may lack it.
    const which =
      step.selector ??
      (step.attribute_name !== undefined ? 'attribute_name' : step.element_key_string !== undefined ? 'element_key_string' : step.element_key_int !== undefined ? 'element_key_int' : undefined);
    switch (which) {
      case 'attribute_name':
        return step.attribute_name!;
      case 'element_key_string':
        return { key: step.element_key_string! };
      case 'element_key_int':
        return { index: Number(step.element_key_int) };
      default:
        throw new CodecError('attribute path step with no selector');
    }
  });
}

/** Converts a diagnostic to `tfplugin6.Diagnostic`. */
export function diagnosticToWire(d: Diagnostic): WireDiagnostic {
  const out: WireDiagnostic = {
    severity: d.severity === 'warning' ? 'WARNING' : 'ERROR',
    summary: d.summary,
    detail: d.detail ?? '',
  };
  if (d.attribute && d.attribute.length) out.attribute = pathToWire(d.attribute);
  return out;
}

/** Converts a `tfplugin6.Diagnostic` back (used by the test harness). */
export function diagnosticFromWire(d: WireDiagnostic): Diagnostic {
  const out: Diagnostic = { severity: d.severity === 'WARNING' ? 'warning' : 'error', summary: d.summary };
  if (d.detail) out.detail = d.detail;
  if (d.attribute && d.attribute.steps.length) out.attribute = pathFromWire(d.attribute);
  return out;
}

/** True when any diagnostic is an error. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/**
 * The diagnostic for an exception that escaped the implementation (or a value
 * it returned that does not fit its own schema): a bug, said plainly, with
 * enough context to report it.
 */
export function bugDiagnostic(rpc: string, typeName: string | undefined, err: unknown): Diagnostic {
  const message = err instanceof Error ? err.message : String(err);
  const where = typeName ? `${rpc} for ${typeName}` : rpc;
  const d: Diagnostic = {
    severity: 'error',
    summary: 'Internal error in the provider',
    detail:
      `${where} failed: ${message}\n\n` +
      'This is a bug in the provider, not in your configuration. Please report it with this message ' +
      '(and the provider log: set TF_LOG_PROVIDER=DEBUG).',
  };
  if (err instanceof CodecError && err.path.length) d.attribute = err.path;
  return d;
}
