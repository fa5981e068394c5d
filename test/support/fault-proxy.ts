/**
 * A fault-injecting reverse proxy for tests: put it between a client and the
 * real service, and program what goes wrong with which request.
 *
 * The case that matters most is {@link faults.dropAfterForward}: the service
 * has done the work (made the app) but the client never hears of it, which
 * is what a retry with an Idempotency-Key must survive. It listens on
 * 127.0.0.1, on a free port, and knows nothing of appreg, so the provider
 * tests can use it too.
 *
 * @example
 * const proxy = await startFaultProxy({ target: service.url });
 * proxy.inject(faults.dropAfterForward(), { method: 'POST', path: /\/apps$/ });
 * // ... point the client at proxy.url ...
 * await proxy.close();
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /** Forward it and relay the answer (optionally after a delay). */
  | { kind: 'pass'; delayMs?: number }
  /** Read the request, then close the connection without forwarding: the service never sees it. */
  | { kind: 'drop-before-forward' }
  /** Forward it, let the service answer, then close the connection without answering: the work is done, unseen. */
  | { kind: 'drop-after-forward' }
  /**
   * Forward it, let the service answer, then keep the client waiting with no
   * answer until the proxy closes: the work is done and the client is still
   * waiting, which is where a test kills the client (`status` tells when).
   */
  | { kind: 'withhold-after-forward' }
  /** Forward it, then send the status line, the headers and half the body, and close: a cut answer. */
  | { kind: 'truncate-after-forward' }
  /** Answer by itself without forwarding: a 429, a 502, a 503 from a gateway. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Wait, then apply another fault (a pass by default). */
  | { kind: 'delay'; ms: number; then?: Fault };

/** Builders for {@link Fault}s, so a test reads as what happens. */
export const faults = {
  pass: (): Fault => ({ kind: 'pass' }),
  dropBeforeForward: (): Fault => ({ kind: 'drop-before-forward' }),
  dropAfterForward: (): Fault => ({ kind: 'drop-after-forward' }),
  truncateAfterForward: (): Fault => ({ kind: 'truncate-after-forward' }),
  withholdAfterForward: (): Fault => ({ kind: 'withhold-after-forward' }),
  respond: (status: number, headers?: Record<string, string>, body?: string): Fault => ({ kind: 'respond', status, headers, body }),
  /** 429 with `Retry-After` (seconds, or an HTTP date string). */
  tooManyRequests: (retryAfter: string | number): Fault => ({
    kind: 'respond',
    status: 429,
    headers: { 'retry-after': String(retryAfter), 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'rate limit (fault proxy)' }),
  }),
  /** A gateway error such as 502 or 503, with a body that is not a problem document. */
  gatewayError: (status = 502): Fault => ({
    kind: 'respond',
    status,
    headers: { 'content-type': 'text/html' },
    body: `<html><body>${status} from the fault proxy</body></html>`,
  }),
  delay: (ms: number, then?: Fault): Fault => ({ kind: 'delay', ms, then }),
};

/** Which requests a rule applies to. Absent fields match everything. */
export interface Match {
  /** HTTP method, upper case. */
  method?: string;
  /** The path with its query: equal to a string, or tested by a RegExp. */
  path?: string | RegExp;
  /** Any other condition. */
  when?: (req: SeenRequest) => boolean;
}

/** A programmed fault, and how often it struck. */
export interface Rule {
  match: Match;
  fault: Fault;
  /** How many more requests it applies to; Infinity for all. */
  remaining: number;
  /** How many requests it applied to so far. */
  hits: number;
}

/** A request the proxy received, in arrival order. */
export interface SeenRequest {
  /** 0 for the first request the proxy saw. */
  index: number;
  method: string;
  /** Path with its query. */
  path: string;
  /** Request headers, names in lower case. */
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The fault applied (`pass` when none). */
  fault: Fault['kind'];
  /** Status relayed or sent, when the client got one (for a withheld answer: the status the service sent). */
  status?: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, to give the client as its endpoint. */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, in order. */
  readonly requests: readonly SeenRequest[];
  /**
   * Applies `fault` to the next `times` (default 1) requests that match.
   * Rules are tried in the order they were added; the first with requests
   * left wins.
   */
  inject(fault: Fault, match?: Match, times?: number): Rule;
  /** Forgets rules and the request log. */
  reset(): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Base URL of the real service, e.g. `http://127.0.0.1:41234`. */
  target: string;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** Starts a proxy in front of `target` on 127.0.0.1 and a free port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  let rules: Rule[] = [];
  let requests: SeenRequest[] = [];
  let index = 0;
  // Fires on close, so a long delay does not keep the process (or jest) alive.
  const closing = new AbortController();
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      closing.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  const pick = (seen: SeenRequest): Fault => {
    for (const rule of rules) {
      if (rule.remaining <= 0 || !matches(rule.match, seen)) continue;
      rule.remaining--;
      rule.hits++;
      return rule.fault;
    }
    return faults.pass();
  };

  const forward = (seen: SeenRequest, body: Buffer) =>
    new Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(seen.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      headers.host = target.host;
      headers['content-length'] = String(body.length);
      const up = http.request(
        { host: target.hostname, port: target.port, method: seen.method, path: seen.path, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const out: http.OutgoingHttpHeaders = {};
            for (const [k, v] of Object.entries(res.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
            const buf = Buffer.concat(chunks);
            out['content-length'] = String(buf.length);
            resolve({ status: res.statusCode ?? 502, headers: out, body: buf });
          });
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const apply = async (fault: Fault, seen: SeenRequest, body: Buffer, res: http.ServerResponse): Promise<void> => {
    switch (fault.kind) {
      case 'delay':
        await wait(fault.ms);
        if (closing.signal.aborted) {
          res.socket?.destroy();
          return;
        }
        return apply(fault.then ?? faults.pass(), seen, body, res);
      case 'drop-before-forward':
        res.socket?.destroy();
        return;
      case 'respond':
        seen.status = fault.status;
        res.writeHead(fault.status, { 'content-length': Buffer.byteLength(fault.body ?? ''), ...fault.headers });
        res.end(fault.body ?? '');
        return;
      case 'pass':
      case 'drop-after-forward':
      case 'withhold-after-forward':
      case 'truncate-after-forward': {
        if (fault.kind === 'pass' && fault.delayMs) await wait(fault.delayMs);
        const answer = await forward(seen, body);
        if (fault.kind === 'drop-after-forward') {
          res.socket?.destroy();
          return;
        }
        seen.status = answer.status;
        // The service's answer is known (status), the client never gets it; close() ends the wait.
        if (fault.kind === 'withhold-after-forward') return;
        res.writeHead(answer.status, answer.headers);
        if (fault.kind === 'truncate-after-forward') {
          // Flush the head and half the body, then cut the connection.
          res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)), () => res.socket?.destroy());
          return;
        }
        res.end(answer.body);
        return;
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const seen: SeenRequest = {
        index: index++,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: body.toString('utf8'),
        fault: 'pass',
      };
      requests.push(seen);
      const fault = pick(seen);
      seen.fault = fault.kind === 'delay' ? (fault.then ?? faults.pass()).kind : fault.kind;
      apply(fault, seen, body, res).catch((err: Error) => {
        // The service itself is unreachable: answer like a gateway would.
        if (!res.headersSent && !res.destroyed) {
          seen.status = 502;
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: upstream failed: ${err.message}`);
        } else {
          res.socket?.destroy();
        }
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    inject(fault, match = {}, times = 1) {
      const rule: Rule = { match, fault, remaining: times, hits: 0 };
      rules.push(rule);
      return rule;
    },
    reset() {
      rules = [];
      requests = [];
      index = 0;
    },
    close() {
      closing.abort();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function matches(m: Match, seen: SeenRequest): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== seen.method) return false;
  if (typeof m.path === 'string' && m.path !== seen.path) return false;
  if (m.path instanceof RegExp && !m.path.test(seen.path)) return false;
  return m.when === undefined || m.when(seen);
}
