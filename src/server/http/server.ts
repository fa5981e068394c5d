/**
 * The Fastify instance of the registration service: hooks (authentication,
 * rate limits, the id gate, request log), body parsing, error mapping,
 * timeouts, and the routes.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import { consolePlugin } from '../console/plugin';
import { CONSOLE_PREFIX } from '../console/paths';
import type { PersonTokenResolver } from '../oidc/access';
import type { SignIn } from '../oidc/mount';
import type { Database } from '../storage/database';
import { authenticate } from './auth';
import { schemaOf } from './context';
import { checkRequestIds, unknownPathParams } from './ids';
import { type Problem, PROBLEM_CONTENT_TYPE, ProblemError, type ProblemKind } from './problem';
import { clientAddressKey, DEFAULT_AUTH_FAILURE_LIMIT, isLoopbackAddress, RateLimiter } from './ratelimit';
import { appRoutes } from './routes/apps';
import { consentRoutes } from './routes/consents';
import { groupRoutes } from './routes/groups';
import { meRoutes } from './routes/me';
import { tenantRoutes } from './routes/tenant';
import { HealthOut } from './schemas';
import { checkingIntervalMs, resolveTimeouts, type Timeouts } from './timeouts';

/** Largest accepted request body. 60 callback URLs of 2048 characters fit with room to spare. */
export const BODY_LIMIT = 256 * 1024;

/** Options of {@link buildServer}. */
export interface BuildOptions {
  db: Database;
  /** Requests per second per token; 0 is off, else at least 1. */
  rateLimit: number;
  /** Failed authentications per minute per client address; 0 is off, else at least 1. Default {@link DEFAULT_AUTH_FAILURE_LIMIT}. */
  authFailureLimit?: number;
  /** Apply the failed-authentication limit to loopback clients too; default false (see {@link isLoopbackAddress}). */
  authFailureLimitLoopback?: boolean;
  /** Client and shutdown timeouts; default those of timeouts.ts. */
  timeouts?: Timeouts;
  /** Where JSON log lines go; false for none. */
  log: NodeJS.WritableStream | false;
  /**
   * Resolves people's access tokens (the OpenID Connect provider's). Without
   * it, only service tokens (`art_…`) are accepted and any other bearer token is 401.
   */
  personTokens?: PersonTokenResolver;
  /**
   * Serve the console at `/console` (src/server/console), signing people in
   * through this provider (resolved once the server listens and the issuer
   * is known). Needs `personTokens`: the console calls `/v1` with the
   * person's access token.
   */
  console?: { signIn: () => Promise<SignIn> };
}

/** Milliseconds in a minute: the period of the failed-authentication limit. */
const MINUTE_MS = 60_000;

/** Problems for errors Node's HTTP parser reports before Fastify sees a request (see `clientErrorHandler`). */
function clientErrorProblem(code: string | undefined, t: Timeouts): { kind: ProblemKind; detail: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        kind: 'request-timeout',
        detail: `The request did not arrive in time (headers within ${t.headersMs / 1000} s, the whole request within ${t.requestMs / 1000} s); ` +
          'the connection is closed. Send the whole request without pausing.',
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        kind: 'request-header-fields-too-large',
        detail: `The request line and headers are larger than the ${http.maxHeaderSize} bytes this service accepts; send fewer or shorter headers.`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { kind: 'payload-too-large', detail: 'The chunk extensions of the request body are too large; send the body without them.' };
    default:
      return {
        kind: 'bad-request',
        detail: `The request is not valid HTTP/1.1${code ? ` (${code})` : ''}; the connection is closed. Check the request line and headers.`,
      };
  }
}

/**
 * Writes a problem document straight to a socket, as a whole HTTP/1.1
 * response that closes the connection.
 */
function writeRawProblem(socket: Socket, problem: Problem): void {
  const body = JSON.stringify(problem);
  const head = [
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status] ?? problem.title}`,
    `content-type: ${PROBLEM_CONTENT_TYPE}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    '',
  ].join('\r\n');
  // Destroy once written; a client that does not read at all is dropped after a second regardless.
  const force = setTimeout(() => socket.destroy(), 1000);
  force.unref();
  socket.end(head + body, () => {
    clearTimeout(force);
    socket.destroy();
  });
}

function sendProblem(reply: FastifyReply, err: ProblemError): FastifyReply {
  reply.code(err.status).header('content-type', PROBLEM_CONTENT_TYPE);
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  // A string payload skips the route's response serializer, which only knows the success shapes.
  return reply.send(JSON.stringify(err.problem));
}

/** Maps framework errors (body parsing, limits) to problems; anything unknown is a 500 and a bug. */
function problemFromError(err: FastifyError): ProblemError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError('payload-too-large', `The request body is larger than ${BODY_LIMIT} bytes.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError('unsupported-media-type', 'Send request bodies as application/json.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ProblemError('bad-request', 'The Content-Length header does not match the body.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ProblemError('bad-request', 'The body is empty but Content-Type says JSON.');
    default:
      break;
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ProblemError('bad-request', err.message);
  }
  return undefined;
}

/** Builds the service (not yet listening). */
export async function buildServer(opts: BuildOptions): Promise<FastifyInstance> {
  const timeouts = opts.timeouts ?? resolveTimeouts();
  // Set right below; the client error handler only runs once the server listens.
  let log: FastifyInstance['log'] | undefined;
  const app = Fastify({
    logger: {
      level: opts.log === false ? 'silent' : 'info',
      ...(opts.log === false ? {} : { stream: opts.log }),
      // Nothing we log carries these, but a future log line must not leak them either.
      redact: {
        paths: ['req.headers.authorization', 'req.headers["idempotency-key"]', 'headers.authorization', 'authorization'],
        censor: '[redacted]',
      },
    },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Slow or stalled clients are cut off (see timeouts.ts). The headers
    // timeout and the period of Node's timeout check are not Fastify options:
    // only the http.Server constructor takes them, through `http`.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: checkingIntervalMs(timeouts),
    },
    // Node answers a malformed request, oversized headers (431) and a timeout
    // (408) itself, before any route: answer those as problem documents too.
    clientErrorHandler: (err, socket) => {
      // A reset connection, or one already gone, has nobody to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { kind, detail } = clientErrorProblem(err.code, timeouts);
      const problem = new ProblemError(kind, detail).problem;
      // The code only: err.rawPacket holds the raw request, which may carry a token.
      log?.info({ status: problem.status, code: err.code }, 'client error');
      // As Node does: never write into a response that has already started on this connection.
      const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && !(inFlight?.headersSent ?? false)) writeRawProblem(socket, problem);
      else socket.destroy();
    },
    forceCloseConnections: 'idle',
    // Our own onRequest hook answers while closing, as a problem document like every other error.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: (err, _req, reply) => {
      // A path that cannot be decoded, or an id far longer than any we issue, cannot name an existing object.
      if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return void sendProblem(reply, new ProblemError('not-found', 'No object has such an id: the path cannot be decoded or the id is far too long.'));
      }
      return void sendProblem(reply, problemFromError(err) ?? new ProblemError('bad-request', 'The request cannot be parsed.'));
    },
  });

  log = app.log;

  // Every path parameter must be in the id table (ids.ts), so that no route
  // can reach storage with an unchecked id: a new route with a new parameter
  // fails here, at startup, until the table says what its ids look like.
  app.addHook('onRoute', (route) => {
    const unknown = unknownPathParams(route.url);
    if (unknown.length > 0) {
      throw new Error(`bug: route ${route.url} has path parameters ${unknown.join(', ')} that PATH_ID_PARAMS in src/server/http/ids.ts does not know`);
    }
  });

  // Validation runs in the handlers, after authorization (see authz.ts for the order of checks);
  // the route schemas are there for openapi.json and response serialization.
  app.setValidatorCompiler(() => () => true);

  // Only JSON bodies. An empty body is "no body" (rotate-secret, consent PUT
  // take none), and __proto__/constructor keys are refused outright.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    req.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    parseJson(req, text, (err, value) => {
      if (err) return done(new ProblemError('bad-request', `The request body is not valid JSON: ${err.message}`), undefined);
      return done(null, value);
    });
  });

  app.decorateRequest('principal', null);
  app.decorateRequest('rawBody', undefined);
  const limiter = new RateLimiter(opts.rateLimit);
  const authFailureLimit = opts.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT;
  const authFailures = new RateLimiter(authFailureLimit, () => Date.now(), MINUTE_MS);

  // Set when close() begins. Requests still arriving on open connections
  // (keep-alive, pipelined) are refused so that the in-flight ones can finish.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (req) => {
    if (closing) {
      throw new ProblemError('unavailable', 'The service is shutting down; retry in a moment (another instance may answer).', {
        headers: { 'retry-after': '1', connection: 'close' },
      });
    }
    if (req.routeOptions.config.public === true || req.is404) return;
    // An address over its failed-authentication limit is refused before its
    // token is even looked up: guessing costs the guesser, not the database.
    // Loopback clients are left alone unless asked: behind a reverse proxy on
    // the same host they are everyone, and one bad client would lock out all.
    const address = opts.authFailureLimitLoopback === true || !isLoopbackAddress(req.ip) ? clientAddressKey(req.ip) : undefined;
    const blocked = address === undefined ? { allowed: true as const } : authFailures.peek(address);
    if (!blocked.allowed) {
      throw new ProblemError(
        'too-many-requests',
        `This address sent more than ${authFailureLimit} requests with a missing or invalid token in a minute; ` +
          `retry after ${blocked.retryAfterSeconds} s with a valid token.`,
        { headers: { 'retry-after': String(blocked.retryAfterSeconds) } },
      );
    }
    let principal;
    try {
      principal = await authenticate(
        opts.db,
        req.headers.authorization,
        (err) => req.log.warn({ err }, 'could not record the token\'s last use'),
        opts.personTokens,
      );
    } catch (err) {
      // Only failures count: a client that authenticates is never slowed by this.
      if (address !== undefined && err instanceof ProblemError && err.status === 401) authFailures.take(address);
      throw err;
    }
    req.principal = principal;
    const d = limiter.take(principal.token_id);
    if (!d.allowed) {
      throw new ProblemError('too-many-requests', `This token sent more than ${opts.rateLimit} requests per second; retry after ${d.retryAfterSeconds} s.`, {
        headers: { 'retry-after': String(d.retryAfterSeconds) },
      });
    }
  });

  // The id gate (ids.ts): after authentication (401 comes first, and an
  // outsider learns nothing), before the body is read and before any handler
  // can pass an id to storage.
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.routeOptions.config.public !== true && !req.is404) checkRequestIds(req);
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    // One line per request. Ids only: never a token, secret or body.
    req.log.info(
      {
        method: req.method,
        // The console's callback carries an authorization code in its query: console paths are logged without it.
        path: req.url.startsWith(`${CONSOLE_PREFIX}/`) || req.url.startsWith(`${CONSOLE_PREFIX}?`) ? req.url.split('?')[0] : req.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(req.principal === null
          ? {}
          : req.principal.kind === 'person'
            // A person's token_id is their access token's reference (pat_…), never the token.
            ? { tenant_id: req.principal.tenant_id, token_id: req.principal.token_id, user_id: req.principal.user_id, client_id: req.principal.client_id }
            : { tenant_id: req.principal.tenant_id, token_id: req.principal.token_id, role: req.principal.role }),
      },
      'request',
    );
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ProblemError) return sendProblem(reply, err);
    const mapped = problemFromError(err);
    if (mapped) return sendProblem(reply, mapped);
    req.log.error({ err }, 'internal error');
    return sendProblem(reply, new ProblemError('internal-error', 'An internal error occurred; this is a bug in appreg. The log has the details.'));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    return sendProblem(reply, new ProblemError('not-found', `There is no route ${req.method} ${path}; GET /openapi.json lists them.`));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'appreg registration service',
        version: '1',
        description: 'OAuth 2.0 app registrations, consents and tenant OAuth settings. Errors are application/problem+json.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  app.get('/healthz', {
    config: { public: true },
    schema: schemaOf({
      summary: 'Liveness and database check',
      tags: ['meta'],
      auth: false,
      ok: { 200: ['the service and its database answer', HealthOut] },
      errors: { 503: 'the database does not answer' },
    }),
  }, async () => {
    try {
      await opts.db.get('SELECT 1 AS ok');
    } catch {
      throw new ProblemError('unavailable', 'The database does not answer.');
    }
    return { status: 'ok' };
  });

  app.get('/openapi.json', {
    config: { public: true },
    schema: schemaOf({ summary: 'This description of the API (OpenAPI 3.1)', tags: ['meta'], auth: false, ok: {} }),
  }, async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify(app.swagger());
  });

  const deps = { db: opts.db };
  tenantRoutes(app, deps);
  groupRoutes(app, deps);
  appRoutes(app, deps);
  consentRoutes(app, deps);
  meRoutes(app, deps);
  if (opts.console !== undefined) {
    // Encapsulated: its form parser, cookies and HTML error pages stay inside /console.
    await app.register(consolePlugin, { prefix: CONSOLE_PREFIX, db: opts.db, signIn: opts.console.signIn, service: app });
  }
  return app;
}
