/**
 * Starting and stopping the service: open the database (migrating it),
 * listen, and on close stop taking requests, finish those in flight, then
 * close the database.
 */
import type { AddressInfo } from 'node:net';
import { openDatabase } from './storage/database';
import { buildServer } from './http/server';
import { DEFAULT_RATE_LIMIT } from './http/ratelimit';

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** A SQLite file path, or a `postgres://` URL. */
  db: string;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Requests per second per token; default 1000; 0 is off. */
  rateLimit?: number;
  /** Where JSON log lines go; default stderr; false for no log (tests that do not look at it). */
  log?: NodeJS.WritableStream | false;
}

/** A service that is listening. */
export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  /** Stops accepting requests, finishes those in flight, closes the database. Safe to call twice. */
  close(): Promise<void>;
}

export { DEFAULT_RATE_LIMIT };

/** Starts the registration service. */
export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const rateLimit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (!Number.isFinite(rateLimit) || rateLimit < 0) {
    throw new Error(`rate limit must be a number of requests per second, 0 or more (got ${String(opts.rateLimit)})`);
  }
  const db = await openDatabase(opts.db);
  let app;
  try {
    app = await buildServer({ db, rateLimit, log: opts.log ?? process.stderr });
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
        try {
          await server.close();
        } finally {
          await db.close();
        }
      })();
      return closing;
    },
  };
}
