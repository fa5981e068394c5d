/**
 * `appreg serve`: runs the registration service until SIGTERM or SIGINT,
 * then finishes the requests in flight (within the shutdown grace period)
 * and exits 0.
 */
import type { Command } from 'commander';
// Modules without dependencies: `--help` and other commands do not load the service.
import { checkRateLimit, DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_RATE_LIMIT } from '../server/http/ratelimit';
import { checkIssuer } from '../server/oidc/mount';
import {
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  FLAG_NAMES,
  resolveTimeouts,
  type Timeouts,
} from '../server/http/timeouts';

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--port must be a port number 0-65535 (got ${JSON.stringify(v)})`);
  return n;
}

/** A non-negative decimal number as typed on the command line, or an error naming the flag. */
function parseNumber(flag: string, v: string, what: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) {
    throw new Error(`${flag} must be ${what} (got ${JSON.stringify(v)})`);
  }
  return n;
}

function parseRate(v: string): number {
  const what = 'requests per second per token: 0 (off) or a number of at least 1';
  return checkRateLimit(parseNumber('--rate-limit', v, what), '--rate-limit');
}

function parseAuthFailureLimit(v: string): number {
  const per = 'failed authentications per minute per client address';
  return checkRateLimit(parseNumber('--auth-failure-limit', v, `${per}: 0 (off) or a number of at least 1`), '--auth-failure-limit', per);
}

/** Seconds as typed on the command line, in milliseconds. */
function parseSeconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return parseNumber(flag, v, 'a number of seconds, such as 30 or 2.5') * 1000;
}

/** The timeout flags, checked together (the headers timeout may not exceed the request timeout). */
function parseTimeouts(o: { requestTimeout?: string; headersTimeout?: string; keepAliveTimeout?: string; shutdownTimeout?: string }): Timeouts {
  const requestMs = parseSeconds('--request-timeout', o.requestTimeout);
  const headersMs = parseSeconds('--headers-timeout', o.headersTimeout);
  const keepAliveMs = parseSeconds('--keep-alive-timeout', o.keepAliveTimeout);
  const shutdownMs = parseSeconds('--shutdown-timeout', o.shutdownTimeout);
  return resolveTimeouts(
    {
      ...(requestMs !== undefined ? { requestMs } : {}),
      ...(headersMs !== undefined ? { headersMs } : {}),
      ...(keepAliveMs !== undefined ? { keepAliveMs } : {}),
      ...(shutdownMs !== undefined ? { shutdownMs } : {}),
    },
    FLAG_NAMES,
  );
}

interface ServeFlags {
  db: string;
  host: string;
  port: string;
  rateLimit: string;
  authFailureLimit: string;
  authFailureLimitLoopback?: boolean;
  requestTimeout?: string;
  headersTimeout?: string;
  keepAliveTimeout?: string;
  shutdownTimeout?: string;
  issuer?: string;
  signIn: boolean;
}

/** Registers `serve` on the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the registration service (logs JSON lines on stderr)')
    .option('--db <db>', 'SQLite file, or a postgres:// URL (env APPREG_DB)', process.env.APPREG_DB ?? './appreg.db')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8787')
    .option(
      '--rate-limit <n>',
      'requests per second per token, 0 is off, else at least 1; counted per process, so N instances on one ' +
        'database allow a token N times this (env APPREG_RATE_LIMIT)',
      process.env.APPREG_RATE_LIMIT ?? String(DEFAULT_RATE_LIMIT),
    )
    .option(
      '--auth-failure-limit <n>',
      'requests with a missing or invalid token per minute per client address before it gets 429 ' +
        '(without its token being looked up), 0 is off; per process',
      String(DEFAULT_AUTH_FAILURE_LIMIT),
    )
    .option(
      '--auth-failure-limit-loopback',
      'apply --auth-failure-limit to loopback clients too (by default they are exempt, since behind a reverse proxy ' +
        'on the same host every client arrives from 127.0.0.1)',
    )
    .option('--request-timeout <s>', `seconds for a whole request (headers and body) to arrive, else 408 (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000})`)
    .option(
      '--headers-timeout <s>',
      `seconds for the request headers to arrive, else 408; at most --request-timeout (default ${DEFAULT_HEADERS_TIMEOUT_MS / 1000})`,
    )
    .option('--keep-alive-timeout <s>', `seconds an idle keep-alive connection stays open (default ${DEFAULT_KEEP_ALIVE_TIMEOUT_MS / 1000})`)
    .option(
      '--shutdown-timeout <s>',
      `seconds a stop waits for requests in flight before closing their connections, 0 is at once (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000})`,
    )
    .option(
      '--issuer <url>',
      'the OpenID Connect issuer: the origin apps and people reach this service at, e.g. https://login.example.com ' +
        '(default http://<host>:<port>; env APPREG_ISSUER)',
      process.env.APPREG_ISSUER,
    )
    .option('--no-sign-in', 'do not serve the OpenID Connect provider and its sign-in screens (the /v1 API only)')
    .action(async (o: ServeFlags) => {
      // Every flag is checked before anything starts, so a typo names its flag and nothing is left half-open.
      const port = parsePort(o.port);
      const rateLimit = parseRate(o.rateLimit);
      const authFailureLimit = parseAuthFailureLimit(o.authFailureLimit);
      const timeouts = parseTimeouts(o);
      if (o.issuer !== undefined) checkIssuer(o.issuer);
      // Loaded here, not at the top, so that other commands do not pay for loading the service.
      const { startService } = await import('../server/service');
      const service = await startService({
        db: o.db,
        host: o.host,
        port,
        rateLimit,
        authFailureLimit,
        authFailureLimitLoopback: o.authFailureLimitLoopback === true,
        requestTimeoutMs: timeouts.requestMs,
        headersTimeoutMs: timeouts.headersMs,
        keepAliveTimeoutMs: timeouts.keepAliveMs,
        shutdownTimeoutMs: timeouts.shutdownMs,
        signIn: o.signIn ? { ...(o.issuer !== undefined ? { issuer: o.issuer } : {}) } : false,
      });
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          // A second signal means "now": give up on the requests in flight.
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: `appreg serve stopping on ${signal}` })}\n`);
        service.close().then(
          () => {
            process.exitCode = 0;
          },
          (err: unknown) => {
            process.stderr.write(`appreg: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
