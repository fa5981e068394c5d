/**
 * One call to the service: send, retry what is safe to retry, and turn the
 * answer into a parsed value or one of the client's errors.
 *
 * axios and the HTTP(S) agent are loaded on the first call, not at import
 * (together some 130 ms): the provider imports the client at every start,
 * and many starts (schema, validate) never call out.
 */
import type { Agent } from 'node:http';
import type { AxiosInstance } from 'axios';
import type { z } from 'zod';
import {
  AbortedError,
  type CallInfo,
  ResponseValidationError,
  TimeoutError,
  TransportError,
  serviceError,
} from './errors';
import { isReplaySafe, isRetryableCode, neverSent, parseRetryAfter, retryDelay, type RetryPolicy } from './retry';
import { ProblemSchema, type ProblemDetails } from './schemas';

/** HTTP methods the service uses. */
export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** Options every call takes. */
export interface CallOptions {
  /** Cancels this call (and any wait between its attempts). */
  signal?: AbortSignal;
  /** Per-attempt timeout in milliseconds, instead of the client's. */
  timeoutMs?: number;
}

/** A request, as {@link AppregClient.request} takes it. */
export interface RequestSpec<T> {
  method: HttpMethod;
  /** Path below the endpoint, already encoded, e.g. `/v1/apps/app_1`. */
  path: string;
  /** Query parameters; undefined ones are left out. */
  query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** JSON body. */
  body?: unknown;
  /** Extra headers such as `If-Match` or `Idempotency-Key`; they decide whether a write may be retried. */
  headers?: Readonly<Record<string, string>>;
  /** Schema of a successful answer's body; undefined when none is expected (204). */
  schema?: z.ZodType<T>;
}

/** A successful answer. */
export interface Reply<T> {
  status: number;
  data: T;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
}

/** Any answer the service gave, error statuses included. */
interface Exchange {
  status: number;
  headers: Record<string, string>;
  text: string;
  info: CallInfo;
  /**
   * True when an earlier attempt of this call may have taken effect without
   * us seeing the answer, so an error now (404 after a DELETE, 412 after a
   * PATCH) may be the echo of our own success.
   */
  uncertain: boolean;
}

type Attempt =
  | { kind: 'answer'; status: number; headers: Record<string, string>; text: string }
  | { kind: 'transport'; code: string; reason: string }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

const TIMEOUT = Symbol('timeout');

let axiosInstance: Promise<AxiosInstance> | undefined;
function loadAxios(): Promise<AxiosInstance> {
  axiosInstance ??= import('axios').then((m) =>
    m.default.create({
      // The transport decides about every status itself, and reads bodies as
      // text so that a body that is not JSON becomes a typed error, not a crash.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      // A redirect would be a misconfigured endpoint; following it could hand
      // the token to another host.
      maxRedirects: 0,
    }),
  );
  return axiosInstance;
}

/** Settings of a {@link Transport}. */
export interface TransportOptions {
  endpoint: string;
  token: string;
  timeoutMs: number;
  retry: RetryPolicy;
  userAgent: string;
  /** Aborts every call of this transport (client-wide cancel). */
  signal: AbortSignal;
}

/** Sends requests for one client. Holds the token; never puts it in anything it throws. */
export class Transport {
  readonly #token: string;
  readonly #options: Omit<TransportOptions, 'token'>;
  /** Keep-alive agent of the endpoint's protocol, made on the first call. */
  #agent: Promise<Agent> | undefined;

  constructor(options: TransportOptions) {
    const { token, ...rest } = options;
    this.#token = token;
    this.#options = rest;
  }

  /** Sends a request and parses a successful answer; an error status throws the matching {@link ServiceError}. */
  async request<T>(spec: RequestSpec<T>, call: CallOptions = {}): Promise<Reply<T>> {
    return this.parse(spec, await this.exchange(spec, call));
  }

  /**
   * Like {@link request}, but tells the caller whether an earlier attempt may
   * have taken effect unseen, so a route can recognise the echo of its own success.
   * @internal
   */
  async requestWithOutcome<T>(
    spec: RequestSpec<T>,
    call: CallOptions = {},
  ): Promise<{ reply?: Reply<T>; error?: Error; uncertain: boolean }> {
    const ex = await this.exchange(spec, call);
    try {
      return { reply: this.parse(spec, ex), uncertain: ex.uncertain };
    } catch (error) {
      return { error: error as Error, uncertain: ex.uncertain };
    }
  }

  /** Closes idle keep-alive connections, so a process (or a test) can exit. */
  close(): void {
    void this.#agent?.then((a) => a.destroy());
  }

  /** Removes the token from text that came from outside (error reasons, problem details). */
  redact(text: string): string {
    return this.#token.length >= 4 ? text.split(this.#token).join('[REDACTED]') : text;
  }

  private async exchange(spec: RequestSpec<unknown>, call: CallOptions): Promise<Exchange> {
    if (!call.signal) return this.retrying(spec, call, this.#options.signal);
    // Linked by hand rather than with AbortSignal.any, which on Node 20 keeps
    // a reference from the long-lived client signal to every call's signal.
    const sources = [this.#options.signal, call.signal];
    const linked = new AbortController();
    const onAbort = () => linked.abort();
    for (const s of sources) {
      if (s.aborted) linked.abort();
      else s.addEventListener('abort', onAbort, { once: true });
    }
    try {
      return await this.retrying(spec, call, linked.signal);
    } finally {
      for (const s of sources) s.removeEventListener('abort', onAbort);
    }
  }

  private async retrying(spec: RequestSpec<unknown>, call: CallOptions, signal: AbortSignal): Promise<Exchange> {
    const { retry } = this.#options;
    const path = spec.path + queryString(spec.query);
    const timeoutMs = call.timeoutMs ?? this.#options.timeoutMs;
    const headers = this.headers(spec);
    const replaySafe = isReplaySafe(spec.method, headers);
    let uncertain = false;

    for (let attempt = 1; ; attempt++) {
      const info: CallInfo = { method: spec.method, path, attempts: attempt };
      if (signal.aborted) throw new AbortedError({ ...info, attempts: attempt - 1 });
      const r = await this.attempt(spec, path, headers, signal, timeoutMs);

      // Decide whether to try again, and whether this attempt may have done something.
      let again: { reason: string; retryAfterMs?: number } | undefined;
      let final: () => Error | Exchange;
      switch (r.kind) {
        case 'aborted':
          throw new AbortedError(info);
        case 'answer': {
          // A closure, so `uncertain` is read after this attempt has updated it.
          final = () => ({ status: r.status, headers: r.headers, text: r.text, info, uncertain });
          if (r.status === 429) {
            // Refused before any work: safe to send again whatever the method.
            again = { reason: '429', retryAfterMs: parseRetryAfter(r.headers['retry-after']) };
          } else if (r.status >= 500) {
            if (replaySafe) again = { reason: String(r.status), retryAfterMs: parseRetryAfter(r.headers['retry-after']) };
            uncertain = true;
          }
          break;
        }
        case 'transport': {
          const sent = !neverSent(r.code);
          if (isRetryableCode(r.code) && (replaySafe || !sent)) again = { reason: r.code };
          if (sent) uncertain = true;
          final = () => new TransportError(info, r.code, this.redact(r.reason));
          break;
        }
        case 'timeout':
          if (replaySafe) again = { reason: 'TIMEOUT' };
          uncertain = true;
          final = () => new TimeoutError(info, timeoutMs);
          break;
      }

      if (again === undefined || attempt >= retry.maxAttempts) {
        const out = final();
        if (out instanceof Error) throw out;
        return out;
      }
      const delayMs = retryDelay(attempt, retry, again.retryAfterMs);
      retry.onRetry?.({ method: spec.method, path, attempt, delayMs, reason: again.reason });
      if (!(await sleep(delayMs, signal))) throw new AbortedError(info);
    }
  }

  private headers(spec: RequestSpec<unknown>): Record<string, string> {
    const h: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
      'User-Agent': this.#options.userAgent,
      ...spec.headers,
    };
    if (this.#token !== '') h.Authorization = `Bearer ${this.#token}`;
    if (spec.body !== undefined) h['Content-Type'] = 'application/json';
    return h;
  }

  private async attempt(
    spec: RequestSpec<unknown>,
    path: string,
    headers: Record<string, string>,
    outer: AbortSignal,
    timeoutMs: number,
  ): Promise<Attempt> {
    const axios = await loadAxios();
    // The promise is kept, not the agent: concurrent first calls share one.
    const agent = await (this.#agent ??= newAgent(this.#options.endpoint));
    if (outer.aborted) return { kind: 'aborted' };
    // One controller per attempt, so a timeout ends this attempt only and
    // the outer signal (cancel) can still be told apart from it.
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(TIMEOUT), timeoutMs);
    const onAbort = () => ctrl.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await axios.request<string>({
        method: spec.method,
        url: this.#options.endpoint + path,
        // Without a body, `false` keeps axios from labelling an empty POST or
        // PUT as a form, which the service refuses with 415.
        headers: spec.body === undefined ? { ...headers, 'Content-Type': false } : headers,
        data: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: ctrl.signal,
        httpAgent: agent,
        httpsAgent: agent,
      });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      return { kind: 'answer', status: res.status, headers: out, text: typeof res.data === 'string' ? res.data : '' };
    } catch (err) {
      // The axios error holds the whole request config, headers included:
      // only its code and message leave this function.
      if (ctrl.signal.aborted) return ctrl.signal.reason === TIMEOUT ? { kind: 'timeout' } : { kind: 'aborted' };
      const e = err as { code?: unknown; message?: unknown };
      const reason = typeof e.message === 'string' ? e.message : 'unknown error';
      const code = typeof e.code === 'string' && e.code !== '' ? e.code : reason === 'socket hang up' ? 'ECONNRESET' : 'EUNKNOWN';
      return { kind: 'transport', code, reason };
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    }
  }

  private parse<T>(spec: RequestSpec<T>, ex: Exchange): Reply<T> {
    if (ex.status < 200 || ex.status >= 300) throw serviceError(ex.info, this.problem(ex));
    if (spec.schema === undefined) return { status: ex.status, headers: ex.headers, data: undefined as T };
    let body: unknown;
    try {
      body = JSON.parse(ex.text);
    } catch {
      throw new ResponseValidationError(ex.info, ex.status, [{ path: '', message: 'the body is not JSON' }]);
    }
    const parsed = spec.schema.safeParse(body);
    if (!parsed.success) {
      // Paths and zod's messages only: a value could be a secret.
      const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
      throw new ResponseValidationError(ex.info, ex.status, issues);
    }
    return { status: ex.status, headers: ex.headers, data: parsed.data };
  }

  private problem(ex: Exchange): ProblemDetails {
    let body: unknown;
    try {
      body = JSON.parse(ex.text);
    } catch {
      body = undefined;
    }
    const parsed = ProblemSchema.safeParse(body);
    const p = parsed.success ? parsed.data : { type: 'about:blank', title: '', detail: '' };
    return {
      type: this.redact(p.type),
      title: this.redact(p.title || (STATUS_TEXT[ex.status] ?? '')),
      // The real status wins: a problem body that disagrees is not trusted for it.
      status: ex.status,
      detail: this.redact(p.detail),
      ...(parsed.success && parsed.data.errors
        ? { errors: parsed.data.errors.map((e) => ({ path: this.redact(e.path), message: this.redact(e.message) })) }
        : {}),
    };
  }
}

async function newAgent(endpoint: string): Promise<Agent> {
  const { Agent } = endpoint.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Agent({ keepAlive: true });
}

/** Reason phrases for error statuses whose body is not a problem document (a gateway's HTML page). */
const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function queryString(query: RequestSpec<unknown>['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

/** `items[0].callback_urls`, the way attribute paths read elsewhere in appreg. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out === '' ? String(step) : `.${String(step)}`;
  }
  return out;
}

/** Waits, unless the signal fires first. @returns false when aborted */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
