/**
 * Turns anything a resource throws into diagnostics a user can act on: the
 * service's field errors at their attribute paths, its problem details with
 * what to do, and a clearly labelled bug for everything unexpected. No
 * message built here contains a token or a secret: client errors carry
 * neither, and nothing here adds one.
 *
 * The shape of every diagnostic: the summary says what failed, in the
 * user's terms ("Could not create the OAuth client"; Terraform prefixes the
 * resource address); the detail says why, in the service's own sentence,
 * then what to do, then, set apart at the end, the HTTP status and call for
 * whoever has to look into it. Every piece goes through {@link asSentence},
 * so pieces that already end in a full stop never get a second one.
 */
import { AppregError, asSentence, ServiceError } from '../client/errors';
import { attributeOfFieldPath, DiagnosticError, type Diagnostic } from '../framework';

/** What to do, by status, when the service's own explanation does not say. */
const HINTS: Record<number, string> = {
  401: 'Check the token in the provider block or APPREG_TOKEN; an operator makes tokens with appreg admin token create.',
  403: "Use a token whose role may make this change: a tenant_security_admin token, or a group_admin token of the owning group.",
  404: 'Check the id, or use a token that may see the object (a group_admin token sees only its own group and organization-scoped apps).',
  409: 'Run terraform plan to see the current state, and change the configuration (or the conflicting object) to fit it.',
  412: 'Run terraform plan again and apply the new plan.',
  413: 'Make the configuration of this resource smaller.',
  422: 'Correct the configuration and apply again.',
  429: 'Try again later, or ask the operator of the service to raise --rate-limit.',
};
const SERVER_ERROR_HINT = 'Try again; if it keeps failing, tell the operator of the registration service (its log has the details).';
const UNREACHABLE_HINT = 'Check the provider endpoint (or APPREG_ENDPOINT) and that the registration service is running.';

/**
 * Whether `text` already tells the reader what to do: a sentence that starts
 * with an instruction. The service's explanations often do ("Choose another
 * name."); adding a generic hint after them would say it twice.
 */
function saysWhatToDo(text: string): boolean {
  return /(^|[.;:]\s+|\(\s*)(use|choose|set|run|check|retry|try|remove|add|ask|turn|create|change|delete|import|rotate|send|pass|keep|leave)\b/i.test(text);
}

/** Joins sentences into one paragraph, each ending cleanly. */
function paragraph(...parts: Array<string | undefined>): string {
  return parts.map((p) => asSentence(p ?? '')).filter((p) => p !== '').join(' ');
}

function hintFor(err: AppregError): string {
  if (err instanceof ServiceError) return HINTS[err.status] ?? (err.status >= 500 ? SERVER_ERROR_HINT : '');
  return UNREACHABLE_HINT;
}

/**
 * Diagnostics for an error thrown while doing `action`, which completes
 * "Could not …", e.g. "create the OAuth client" or "read the group".
 */
export function diagnosticsFor(err: unknown, action: string): Diagnostic[] {
  if (err instanceof DiagnosticError) return err.diagnostics;
  const summary = `Could not ${action}`;
  if (err instanceof ServiceError && err.fieldErrors.length > 0) {
    return err.fieldErrors.map((f) => ({
      severity: 'error' as const,
      summary,
      detail: `${paragraph(`${f.path}: ${f.message}`, saysWhatToDo(f.message) ? undefined : HINTS[422])}\n\n${err.exchange}`,
      attribute: attributeOfFieldPath(f.path),
    }));
  }
  if (err instanceof AppregError) {
    const reason = err.reason;
    return [{ severity: 'error', summary, detail: `${paragraph(reason, saysWhatToDo(reason) ? undefined : hintFor(err))}\n\n${err.exchange}` }];
  }
  const message = err instanceof Error ? err.message : String(err);
  return [{
    severity: 'error',
    summary: `${summary}: internal error`,
    detail: paragraph('This is a bug in the appreg provider; please report it with the message below', message),
  }];
}
