/**
 * Errors as RFC 9457 problem details (`application/problem+json`).
 *
 * Handlers throw {@link ProblemError}; the error handler turns it (and every
 * framework error) into a problem document, so no code path answers with a
 * bare stack trace or a 500 for bad input.
 */
import { violationPath, type RuleViolation } from '../../rules';

/** One invalid field: its path (`name`, `callback_urls[2]`) and what is wrong. */
export interface FieldError {
  path: string;
  message: string;
}

/** A rule violation as a field error of a problem document. */
export function fieldErrorOf(v: RuleViolation): FieldError {
  return { path: violationPath(v), message: v.message };
}

/** A problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

/** The media type of problem documents. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Problem kinds: the `type` URI is `urn:appreg:problem:<kind>`, a stable name clients may switch on. */
const KINDS = {
  'bad-request': ['Bad request', 400],
  unauthorized: ['Unauthorized', 401],
  forbidden: ['Forbidden', 403],
  'not-found': ['Not found', 404],
  conflict: ['Conflict', 409],
  'request-timeout': ['Request timeout', 408],
  'precondition-failed': ['Precondition failed', 412],
  'payload-too-large': ['Payload too large', 413],
  'unsupported-media-type': ['Unsupported media type', 415],
  'invalid-request': ['Invalid request', 422],
  'too-many-requests': ['Too many requests', 429],
  'request-header-fields-too-large': ['Request header fields too large', 431],
  'internal-error': ['Internal error', 500],
  unavailable: ['Service unavailable', 503],
} as const satisfies Record<string, readonly [string, number]>;

/** A problem kind. */
export type ProblemKind = keyof typeof KINDS;

/** An error that the service answers with a problem document. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(kind: ProblemKind, detail: string, opts: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail);
    const [title, status] = KINDS[kind];
    this.problem = { type: `urn:appreg:problem:${kind}`, title, status, detail };
    if (opts.errors && opts.errors.length > 0) this.problem.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }

  /** HTTP status. */
  get status(): number {
    return this.problem.status;
  }
}

/** 404 for anything the caller may not see; says nothing about whether it exists elsewhere. */
export function notFound(what: string): ProblemError {
  return new ProblemError('not-found', `${what} was not found, or this token may not see it.`);
}

/** 403: the caller sees the object but may not change it. */
export function forbidden(detail: string): ProblemError {
  return new ProblemError('forbidden', detail);
}

/** 422 with one entry per invalid field. */
export function invalid(errors: FieldError[], detail?: string): ProblemError {
  const paths = [...new Set(errors.map((e) => e.path || '(body)'))];
  return new ProblemError('invalid-request', detail ?? `The request has invalid fields: ${paths.join(', ')}. See errors[] for each.`, {
    errors,
  });
}

/** 409. */
export function conflict(detail: string): ProblemError {
  return new ProblemError('conflict', detail);
}

/** 412 on a stale If-Match. */
export function preconditionFailed(detail: string): ProblemError {
  return new ProblemError('precondition-failed', detail);
}
