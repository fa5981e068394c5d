/**
 * Starting and stopping the service: open the database (migrating it),
 * listen, and on close stop taking requests, finish those in flight within
 * a grace period, then close the database.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { personTokenResolver } from './oidc/access';
import { checkIssuer, DISCOVERY_PATH, OIDC_PREFIX, type SignIn } from './oidc/mount';
import { openDatabase } from './storage/database';
import { buildServer } from './http/server';
import { checkRateLimit, DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_RATE_LIMIT } from './http/ratelimit';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  resolveTimeouts,
} from './http/timeouts';

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** A SQLite file path, or a `postgres://` URL. */
  db: string;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Requests per second per token; default 1000; 0 is off, else at least 1.
   * Per process: N instances on one database allow a token N × this.
   */
  rateLimit?: number;
  /**
   * Failed authentications (401) per minute per client address before it
   * gets 429 without its token being looked up; default
   * {@link DEFAULT_AUTH_FAILURE_LIMIT}; 0 is off, else at least 1. Per process.
   */
  authFailureLimit?: number;
  /**
   * Limit failed authentications from loopback addresses too; default false.
   * Behind a reverse proxy on the same host every client arrives from
   * 127.0.0.1, and one client's failures would lock out all of them; with no
   * such proxy, set this (`--auth-failure-limit-loopback`) to limit local clients as well.
   */
  authFailureLimitLoopback?: boolean;
  /** Time for a whole request (headers and body) to arrive, ms; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. Then 408, connection closed. */
  requestTimeoutMs?: number;
  /** Time for the request headers to arrive, ms; at most requestTimeoutMs; default {@link DEFAULT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Idle time after which a keep-alive connection is closed, ms; default {@link DEFAULT_KEEP_ALIVE_TIMEOUT_MS}. */
  keepAliveTimeoutMs?: number;
  /**
   * How long close() waits for requests in flight before it closes their
   * connections (and cuts off their database work), ms; 0 cuts at once;
   * default {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}.
   */
  shutdownTimeoutMs?: number;
  /** Where JSON log lines go; default stderr; false for no log (tests that do not look at it). */
  log?: NodeJS.WritableStream | false;
  /**
   * Also be the OpenID Connect provider of the registered apps (oidc/provider.ts):
   * discovery, `/oauth/...` and the sign-in screens. `appreg serve` turns it
   * on; off by default here, since it loads `oidc-provider`, an ES module that
   * some hosts of this library (jest 29) cannot load.
   */
  signIn?: boolean | {
    /** The issuer: an origin such as `https://login.example.com`; default the service's own URL. */
    issuer?: string;
  };
}

/** A service that is listening. */
export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  /**
   * Stops accepting requests, lets those in flight finish within the
   * shutdown grace period, then closes every connection still open and the
   * database. Safe to call twice.
   */
  close(): Promise<void>;
}

export {
  DEFAULT_AUTH_FAILURE_LIMIT,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
};

/** The host of an address as it goes in a URL (IPv6 in brackets). */
function urlHost(addr: AddressInfo): string {
  return addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
}

/**
 * Puts the OpenID Connect provider in front of Fastify: its paths go to
 * oidc-provider (a Koa app) with the request untouched (its own body
 * parsing, cookies and redirects), everything else to the service's routes.
 * The server's timeouts and connection handling apply to both.
 */
function mountSignIn(app: FastifyInstance, ready: Promise<SignIn>): void {
  const server = app.server;
  const routes = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  let provider: SignIn | undefined;
  let unavailable = false;
  ready.then((p) => (provider = p), () => (unavailable = true));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const oidcPath = path === DISCOVERY_PATH || path.startsWith(OIDC_PREFIX);
    if (!oidcPath) {
      for (const route of routes) route.call(server, req, res);
      return;
    }
    const started = Date.now();
    // One log line per request, like the service's: the path only, never the query (codes, user codes).
    res.on('finish', () => app.log.info({ method: req.method, path, status: res.statusCode, ms: Date.now() - started, oidc: true }, 'request'));
    if (provider !== undefined) return provider.handle(req, res);
    if (unavailable) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }).end('Sign-in is not available.');
      return;
    }
    ready.then((p) => p.handle(req, res), () => res.writeHead(503, { 'retry-after': '1' }).end('Sign-in is not available.'));
  });
}

/** Starts the registration service. */
export async function startService(opts: ServiceOptions): Promise<RunningService> {
  // Every option is checked before the database is opened: a typo fails at once, with nothing to clean up.
  const rateLimit = checkRateLimit(opts.rateLimit ?? DEFAULT_RATE_LIMIT, 'rateLimit');
  const authFailureLimit = checkRateLimit(
    opts.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT,
    'authFailureLimit',
    'failed authentications per minute per client address',
  );
  const timeouts = resolveTimeouts({
    ...(opts.requestTimeoutMs !== undefined ? { requestMs: opts.requestTimeoutMs } : {}),
    ...(opts.headersTimeoutMs !== undefined ? { headersMs: opts.headersTimeoutMs } : {}),
    ...(opts.keepAliveTimeoutMs !== undefined ? { keepAliveMs: opts.keepAliveTimeoutMs } : {}),
    ...(opts.shutdownTimeoutMs !== undefined ? { shutdownMs: opts.shutdownTimeoutMs } : {}),
  });
  const signIn = opts.signIn === undefined || opts.signIn === false ? undefined : opts.signIn === true ? {} : opts.signIn;
  // A bad issuer fails before anything opens, like every other option.
  const configuredIssuer = signIn?.issuer === undefined ? undefined : checkIssuer(signIn.issuer);
  const db = await openDatabase(opts.db);
  let app;
  let addr: AddressInfo;
  // The provider needs the issuer, which by default is the address we are about to get
  // (port 0): requests for it (and the console's) that arrive before it is built wait for it.
  let made: (s: SignIn) => void = () => undefined;
  let failed: (err: unknown) => void = () => undefined;
  const ready = new Promise<SignIn>((resolve, reject) => {
    made = resolve;
    failed = reject;
  });
  // Whoever waits on it handles a failure; this keeps an unawaited rejection from being "unhandled".
  ready.catch(() => undefined);
  try {
    app = await buildServer({
      db,
      rateLimit,
      authFailureLimit,
      authFailureLimitLoopback: opts.authFailureLimitLoopback === true,
      timeouts,
      log: opts.log ?? process.stderr,
      personTokens: personTokenResolver(db),
      // The console signs people in through the provider, so it is served only when sign-in is on.
      ...(signIn !== undefined ? { console: { signIn: () => ready } } : {}),
    });
    if (signIn !== undefined) mountSignIn(app, ready);
    const host = opts.host ?? '127.0.0.1';
    await app.listen({
      host,
      port: opts.port ?? 0,
      listenTextResolver: (address) => `appreg serve listening on ${address}`,
    });
    addr = app.server.address() as AddressInfo;
    if (signIn !== undefined) {
      const { createSignIn } = await import('./oidc/provider');
      const issuer = configuredIssuer ?? `http://${urlHost(addr)}:${addr.port}`;
      try {
        made(await createSignIn({ db, issuer, log: app.log }));
      } catch (err) {
        failed(err);
        throw err;
      }
      app.log.info({ issuer }, `OpenID Connect provider at ${issuer}/.well-known/openid-configuration`);
    }
  } catch (err) {
    await app?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
  const hostForUrl = urlHost(addr);
  let closing: Promise<void> | undefined;
  const server = app;
  return {
    url: `http://${hostForUrl}:${addr.port}`,
    port: addr.port,
    close(): Promise<void> {
      closing ??= (async () => {
        const deadline = Date.now() + timeouts.shutdownMs;
        // Requests in flight get the grace period; a client that holds a
        // request open (a body that never comes) or a handler that hangs
        // must not hold the process forever, so then every connection goes.
        const cut = setTimeout(() => {
          server.log.warn({ grace_ms: timeouts.shutdownMs }, 'shutdown grace period over: closing the connections still open');
          server.server.closeAllConnections();
        }, timeouts.shutdownMs);
        try {
          await server.close();
        } finally {
          clearTimeout(cut);
          // Handlers cut off above may still hold the database: they get what is left of the grace, then lose it.
          await db.close({ graceMs: Math.max(0, deadline - Date.now()) });
        }
      })();
      return closing;
    },
  };
}
