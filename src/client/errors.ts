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

/**
 * `text` as a sentence: trimmed, a lower-case first word capitalized, and
 * exactly one closing mark. Texts from the service already end in a full
 * stop and texts built here may not; joining them blindly is how a message
 * ends up with "..". A first word that is an identifier (`callback_urls[0]`)
 * keeps its case. Empty text stays empty.
 */
export function asSentence(text: string): string {
  let t = text.trim().replace(/(\s*[.;:,])+$/, '');
  if (t === '') return '';
  if (/^[a-z]+(\s|$)/.test(t)) t = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
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

  /**
   * What went wrong, in sentences for a person, without the route: the
   * service's own explanation for an error answer, else what happened to
   * the connection. Ends with exactly one full stop.
   */
  abstract get reason(): string;

  /**
   * The call and its outcome as one sentence, for the end of a diagnostic
   * (where a person reporting a problem finds the status and the route), e.g.
   * "The service answered 409 Conflict to POST /v1/groups/grp_1/apps."
   */
  get exchange(): string {
    return `Request: ${this.route}${suffix(this.attempts)}.`;
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

  get reason(): string {
    const p = this.problem;
    const detail = p.detail.trim();
    if (detail !== '' && detail !== p.title) return asSentence(detail);
    // No explanation (a proxy's page, say): the status is all there is.
    return asSentence(`The registration service answered ${statusText(p)}`);
  }

  override get exchange(): string {
    return `The service answered ${statusText(this.problem)} to ${this.route}${suffix(this.attempts)}.`;
  }

  /** True for a 404: the object does not exist, or the caller may not see it. */
  get isNotFound(): boolean {
    return this.status === 404;
  }

  protected override details(): Record<string, unknown> {
    return { ...super.details(), status: this.status, problem: this.problem };
  }
}

function statusText(p: ProblemDetails): string {
  return [String(p.status), p.title].filter((x) => x !== '').join(' ');
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

  override get reason(): string {
    return 'The object changed since it was read, so the change was not made. Run terraform plan again and apply the new plan.';
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
    this.#why = reason;
  }

  readonly #why: string;

  get reason(): string {
    const why = this.#why.trim() === '' || this.#why.includes(this.code) ? this.#why.trim() : `${this.code}: ${this.#why.trim()}`;
    return asSentence(`The registration service could not be reached (${why.replace(/[.\s]+$/, '') || this.code})`);
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

  get reason(): string {
    return `The registration service did not answer within ${this.timeoutMs} ms.`;
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

  get reason(): string {
    return 'The request was cancelled (Terraform is stopping).';
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

  get reason(): string {
    const list = this.issues.map((i) => (i.path === '' ? i.message : `${i.path} ${i.message}`)).join('; ');
    return asSentence(`The registration service's answer (status ${this.status}) is not what this provider expects: ${list.replace(/[.\s]+$/, '')}`);
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
