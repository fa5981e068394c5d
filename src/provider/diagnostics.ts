/**
 * Turns anything a resource throws into diagnostics a user can act on: the
 * service's field errors at their attribute paths, its problem details with
 * what to do, and a clearly labelled bug for everything unexpected. No
 * message built here contains a token or a secret: client errors carry
 * neither, and nothing here adds one.
 */
import { AppregError, ServiceError, TransportError, TimeoutError } from '../client/errors';
import { DiagnosticError } from '../resources/resource';
import type { Diagnostic } from '../tfplugin/types';

const HINTS: Record<number, string> = {
  401: 'The token was refused: check the provider token (or APPREG_TOKEN).',
  403: "The token's role may not make this change: use a tenant_security_admin token, or a group_admin token of the owning group.",
  404: 'The object does not exist, or the token may not see it.',
  409: 'The change conflicts with the current state in the service.',
  429: 'The service kept rate-limiting the token; try again later or raise --rate-limit.',
};

/** Diagnostics for an error thrown while doing `action` (e.g. "create the app registration"). */
export function diagnosticsFor(err: unknown, action: string): Diagnostic[] {
  if (err instanceof DiagnosticError) return err.diagnostics;
  if (err instanceof ServiceError) {
    const fields = err.fieldErrors;
    if (fields.length > 0) {
      return fields.map((f) => ({
        severity: 'error' as const,
        summary: `Could not ${action}: ${err.problem.title || 'invalid value'}`,
        detail: `${f.path}: ${f.message}`,
        // Terraform paths cannot point into a set element: stop at the attribute.
        attribute: [f.path.replace(/\[.*$/, '').split('.')[0]!],
      }));
    }
    const hint = HINTS[err.status] ?? '';
    return [{
      severity: 'error',
      summary: `Could not ${action}`,
      detail: `The registration service answered ${err.message}.${hint ? ` ${hint}` : ''}`,
    }];
  }
  if (err instanceof TransportError || err instanceof TimeoutError) {
    return [{
      severity: 'error',
      summary: `Could not ${action}`,
      detail: `The registration service could not be reached: ${err.message}. Check the provider endpoint (or APPREG_ENDPOINT) and that the service is running.`,
    }];
  }
  if (err instanceof AppregError) {
    return [{ severity: 'error', summary: `Could not ${action}`, detail: err.message }];
  }
  const message = err instanceof Error ? err.message : String(err);
  return [{
    severity: 'error',
    summary: `Could not ${action}: internal error`,
    detail: `This is a bug in the appreg provider; please report it. ${message}`,
  }];
}

/** Whether any diagnostic is an error. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
