/**
 * Starting and stopping the service: open the database (migrating it),
 * listen, and on close stop taking requests, finish those in flight within
 * a grace period, then close the database.
 */
import type { AddressInfo } from 'node:net';
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
  const db = await openDatabase(opts.db);
  let app;
  try {
    app = await buildServer({
      db,
      rateLimit,
      authFailureLimit,
      authFailureLimitLoopback: opts.authFailureLimitLoopback === true,
      timeouts,
      log: opts.log ?? process.stderr,
    });
    const host = opts.host ?? '127.0.0.1';
    await app.listen({
      host,
      port: opts.port ?? 0,
      listenTextResolver: (address) => `appreg serve listening on ${address}`,
    });
  } catch (err) {
    await app?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
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
