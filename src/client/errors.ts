/**
 * The errors the client throws. Every one carries the method and path of the
 * call, and how many attempts were made, so a diagnostic can say what failed.
 *
 * None of them ever holds the request configuration, its headers, or a
 * response body that could carry a secret: axios errors embed the whole
 * request (the `Authorization` header included), so the client never lets one
 * escape and builds these from plain values instead.
 */
import type { FieldError, ProblemDetails } from './schemas';

/** What every client error knows about the call that failed. */
export interface CallInfo {
  /** HTTP method, upper case. */
  method: string;
  /** Path of the route, with its query, e.g. `/v1/apps/app_123`. */
  path: string;
  /** How many attempts were made (more than 1 when the call was retried). */
  attempts: number;
}

function suffix(attempts: number): string {
  return attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
}

/** The base class of every error the client throws. */
export abstract class AppregError extends Error {
  /** HTTP method of the call. */
  readonly method: string;
  /** Path of the call, with its query. */
  readonly path: string;
  /** How many attempts were made. */
  readonly attempts: number;

  protected constructor(message: string, info: CallInfo) {
    super(message);
    this.name = new.target.name;
    this.method = info.method;
    this.path = info.path;
    this.attempts = info.attempts;
  }

  /** The call as `METHOD path`, the way messages name it. */
  get route(): string {
    return `${this.method} ${this.path}`;
  }

  /** A plain, secret-free copy for logs (`JSON.stringify(err)`). */
  toJSON(): Record<string, unknown> {
    // Own fields only: there is nothing else on these objects to leak, but an
    // explicit list keeps it that way when someone adds a field.
    return { name: this.name, message: this.message, ...this.details() };
  }

  /** Subclass fields for {@link toJSON}. */
  protected details(): Record<string, unknown> {
    return { method: this.method, path: this.path, attempts: this.attempts };
  }
}

/**
 * The service answered with an error status. `problem` holds its problem
 * details; `status` is the HTTP status. Subclasses exist for the statuses a
 * caller acts on: {@link NotFoundError}, {@link ConflictError},
 * {@link PreconditionFailedError}, {@link UnprocessableError}.
 */
export class ServiceError extends AppregError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The problem details the service sent (synthesized from the status when the body was not a problem document). */
  readonly problem: ProblemDetails;

  /** @internal use {@link serviceError}, which picks the subclass. */
  constructor(info: CallInfo, problem: ProblemDetails, lead?: string) {
    super(`${info.method} ${info.path}: ${lead ?? describe(problem)}${suffix(info.attempts)}`, info);
    this.status = problem.status;
    this.problem = problem;
  }

  /** The invalid fields the service listed (empty when none). */
  get fieldErrors(): FieldError[] {
    return this.problem.errors ?? [];
  }

  /** True for a 404: the object does not exist, or the caller may not see it. */
  get isNotFound(): boolean {
    return this.status === 404;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), status: this.status, problem: this.problem };
  }
}

function describe(p: ProblemDetails): string {
  const head = [String(p.status), p.title].filter((s) => s !== '').join(' ');
  const detail = p.detail !== '' && p.detail !== p.title ? `: ${p.detail}` : '';
  const fields = (p.errors ?? []).map((e) => `${e.path}: ${e.message}`);
  return `${head}${detail}${fields.length > 0 ? ` (${fields.join('; ')})` : ''}`;
}

/** 401: no token, or one the service does not know. */
export class UnauthorizedError extends ServiceError {}
/** 403: the caller sees the object but its role may not change it. */
export class ForbiddenError extends ServiceError {}
/** 404: the object does not exist or the caller may not see it (another tenant's objects always). */
export class NotFoundError extends ServiceError {}
/** 409: a conflict with the current state (duplicate name, OAuth off, rotating a public client, ...). */
export class ConflictError extends ServiceError {}
/** 422: invalid input; {@link ServiceError.fieldErrors} says which fields. */
export class UnprocessableError extends ServiceError {}
/** 429 after every retry: the token stayed over its rate. */
export class RateLimitedError extends ServiceError {}

/**
 * 412: the object changed since the version the caller sent in `If-Match`.
 * The message says what to do, so the provider can show it as is.
 */
export class PreconditionFailedError extends ServiceError {
  /** @internal */
  constructor(info: CallInfo, problem: ProblemDetails) {
    super(
      info,
      problem,
      'the object changed since it was read (412 Precondition Failed); ' +
        'run terraform refresh (or plan) again and apply the new plan',
    );
  }
}

const BY_STATUS: Record<number, typeof ServiceError> = {
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableError,
  429: RateLimitedError,
};

/** Builds the {@link ServiceError} subclass that fits the status. */
export function serviceError(info: CallInfo, problem: ProblemDetails): ServiceError {
  if (problem.status === 412) return new PreconditionFailedError(info, problem);
  const Cls = BY_STATUS[problem.status] ?? ServiceError;
  return new Cls(info, problem);
}

/**
 * No usable answer: the connection was refused, reset or dropped, or the
 * answer was garbled. `code` is the system code (`ECONNRESET`, ...).
 */
export class TransportError extends AppregError {
  /** The system or library error code, e.g. `ECONNRESET`, `ECONNREFUSED`. */
  readonly code: string;

  /** @internal */
  constructor(info: CallInfo, code: string, reason: string) {
    super(`${info.method} ${info.path}: connection failed (${code}: ${reason})${suffix(info.attempts)}`, info);
    this.code = code;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), code: this.code };
  }
}

/** No complete answer within the per-request timeout. */
export class TimeoutError extends AppregError {
  /** The per-request timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /** @internal */
  constructor(info: CallInfo, timeoutMs: number) {
    super(`${info.method} ${info.path}: no answer within ${timeoutMs} ms${suffix(info.attempts)}`, info);
    this.timeoutMs = timeoutMs;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), timeoutMs: this.timeoutMs };
  }
}

/** The call was cancelled through an AbortSignal or {@link AppregClient.cancel} (e.g. Terraform's StopProvider). */
export class AbortedError extends AppregError {
  /** @internal */
  constructor(info: CallInfo) {
    super(`${info.method} ${info.path}: cancelled`, info);
  }
}

/** The service answered, but not with what the route promises (a client/service version mismatch, or a bug). */
export class ResponseValidationError extends AppregError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** Each field that did not match, with what was wrong (never its value). */
  readonly issues: FieldError[];

  /** @internal */
  constructor(info: CallInfo, status: number, issues: FieldError[]) {
    const list = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ');
    super(`${info.method} ${info.path}: unexpected answer from the service (status ${status}): ${list}`, info);
    this.status = status;
    this.issues = issues;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), status: this.status, issues: this.issues };
  }
}

/** True when `err` is a 404 from the service: the object is gone or not visible. */
export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

/** True when `err` is a 412: the object changed since it was read. */
export function isPreconditionFailed(err: unknown): err is PreconditionFailedError {
  return err instanceof PreconditionFailedError;
}
