/**
 * The provider executable's entry point: handshake, gRPC server, shutdown.
 *
 * Start-up time matters (Terraform starts a provider 3–4 times per command
 * and waits for each handshake), so this module itself loads almost nothing:
 * the environment is checked first, and `@grpc/grpc-js` is required only once
 * we know we are going to serve. Before the handshake line only what a
 * listening gRPC server needs is loaded: grpc-js, the certificate, and the
 * method table (plain JSON). protobufjs, the RPC handlers and the provider
 * implementation itself (when given as a factory) load right after the line
 * is out, while Terraform connects; msgpack with the first RPC that carries
 * a value.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as grpcTypes from '@grpc/grpc-js';
import { CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, checkHandshakeEnv, formatHandshakeLine, reattachConfig } from './handshake';
import { type Logger, levelFromEnv, stderrLogger } from './log';
import type { ProviderServer } from './types';

/** Options of {@link serveProvider}. */
export interface ServeOptions {
  /**
   * The provider's source address, as Terraform configurations name it
   * (used for the debug-mode reattach line). Default
   * `registry.terraform.io/appreg/appreg`.
   */
  providerAddress?: string;
  /** Serve in debug mode (see {@link serveProvider}). Default: `--debug` is among the arguments. */
  debug?: boolean;
  /** Command-line arguments. Default `process.argv.slice(2)`. */
  args?: string[];
  /** Environment. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Name in log lines. Default: the last part of the provider address. */
  logName?: string;
  /**
   * Exit the process once the server has shut down (default true): whatever
   * the implementation left open (keep-alive sockets, timers) must not keep
   * a provider Terraform has finished with running.
   */
  exitOnShutdown?: boolean;
}

/** gRPC message size limit; Terraform uses 256 MiB on its side, and grpc-js's default of 4 MiB is too small for big states. */
const MAX_MESSAGE_BYTES = 256 << 20;

/**
 * Serves a provider over Terraform plugin protocol 6 until Terraform shuts
 * it down; resolves then (unless the process exits first, see
 * {@link ServeOptions.exitOnShutdown}).
 *
 * Normal mode (Terraform started us): checks the magic cookie (without it,
 * prints that this is a plugin and exits 1), makes a throwaway key and
 * certificate, serves gRPC over mutual TLS on a unix socket in a fresh temp
 * dir, requiring Terraform's certificate from `PLUGIN_CLIENT_CERT`, and
 * prints the one handshake line on stdout. Interrupts are ignored (Terraform
 * handles Ctrl-C and calls StopProvider); the process exits when Terraform
 * calls `GRPCController.Shutdown`, on SIGTERM, or when Terraform is gone.
 *
 * Debug mode (`--debug`): for running the provider under a debugger. No
 * cookie, no TLS; prints a `TF_REATTACH_PROVIDERS='…'` line to export in the
 * shell that runs Terraform, which then uses this process instead of
 * starting its own, for as many commands as you like. Ctrl-C stops it.
 *
 * `impl` may be a function that makes the implementation: it is then called
 * after the handshake line, so whatever the implementation loads does not
 * delay the line (an error it throws fails the RPCs, and is logged).
 */
export async function serveProvider(impl: ProviderServer | (() => ProviderServer), opts: ServeOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const args = opts.args ?? process.argv.slice(2);
  const debug = opts.debug ?? args.includes('--debug');
  const providerAddress = opts.providerAddress ?? 'registry.terraform.io/appreg/appreg';
  const name = opts.logName ?? providerAddress.split('/').pop()!;
  const log = stderrLogger(name, levelFromEnv(env, debug ? 'info' : 'warn'));

  let clientCertPem: string | undefined;
  let socketParent = os.tmpdir();
  if (!debug) {
    const check = checkHandshakeEnv(env, providerAddress);
    if (!check.ok) {
      process.stderr.write(check.message);
      process.exit(1);
    }
    clientCertPem = check.clientCertPem;
    if (check.socketDir) socketParent = check.socketDir;
  }

  // Only now load what a listening server needs; the rest waits for the handshake line (see warmUp).
  const grpc = require('@grpc/grpc-js') as typeof grpcTypes;
  const { serviceDefinition, preloadMessageTypes } = require('./proto') as typeof import('./proto');
  const { generateSelfSignedCert } = require('./certs') as typeof import('./certs');

  const cert = clientCertPem ? generateSelfSignedCert() : undefined;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const openStreams = new Set<{ end(): void }>();
  let stopping = false;
  let dir: string | undefined;

  const removeSocketDir = (): void => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };

  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.debug(`shutting down: ${why}`);
    // Held-open streams would keep a graceful shutdown waiting forever.
    for (const s of openStreams) s.end();
    const finish = (): void => {
      removeSocketDir();
      resolveDone();
      if (opts.exitOnShutdown ?? true) process.exit(0);
    };
    // Let in-flight answers (the Shutdown reply among them) go out first.
    const force = setTimeout(() => {
      server.forceShutdown();
      finish();
    }, 2000);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      finish();
    });
  };

  let handlers: import('./server').ProviderHandlers | undefined;
  const getHandlers = (): import('./server').ProviderHandlers => {
    if (!handlers) {
      const { providerHandlers } = require('./server') as typeof import('./server');
      handlers = providerHandlers(typeof impl === 'function' ? impl() : impl, log);
    }
    return handlers;
  };
  // What the first RPC would otherwise load: run once the handshake line is out.
  const warmUp = (): void => {
    try {
      getHandlers();
      preloadMessageTypes(SERVICES);
      log.debug(`ready ${Math.round(performance.now())} ms after process start: provider, handlers and message types loaded`);
    } catch (err) {
      log.error(`starting the provider failed: ${errorText(err)}`);
    }
  };

  addServices(grpc, server, serviceDefinition, getHandlers, log, openStreams, shutdown);

  dir = fs.mkdtempSync(path.join(socketParent, 'plugin'));
  const socketPath = path.join(dir, 'grpc.sock');
  // From here on there is something to clean up, so no signal may take the
  // default action (dying on the spot). A host may signal as soon as it has
  // read the handshake line; these must be in place well before.
  process.on('exit', removeSocketDir);
  process.on('SIGTERM', () => shutdown('terminated'));
  if (debug) process.on('SIGINT', () => shutdown('interrupted'));
  // Ctrl-C reaches every process in the terminal's group; Terraform handles
  // it and calls StopProvider, so a provider it started must not die on it.
  else process.on('SIGINT', () => log.debug('interrupt ignored; Terraform will call StopProvider'));
  const creds = cert
    ? grpc.ServerCredentials.createSsl(Buffer.from(clientCertPem!), [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }], true)
    : grpc.ServerCredentials.createInsecure();
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socketPath}`, creds, (err) => (err ? reject(err) : resolve())));

  // A closed pipe must not crash the provider (Node raises EPIPE as an error event).
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  // An escaped async error in the implementation is a bug, but crashing
  // mid-apply would lose track of what was created: log it and keep serving.
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection (a bug in the provider): ${errorText(reason)}`));
  process.on('uncaughtException', (err) => log.error(`uncaught exception (a bug in the provider): ${errorText(err)}`));

  if (debug) {
    const reattach = reattachConfig(providerAddress, process.pid, socketPath);
    process.stdout.write(
      `Provider ${providerAddress} is serving in debug mode (pid ${process.pid}).\n` +
        'To use it, set this in the shell where you run Terraform:\n\n' +
        `TF_REATTACH_PROVIDERS='${reattach}'\n\n` +
        'Terraform then uses this process instead of starting the provider. Ctrl-C stops it.\n',
    );
    setImmediate(warmUp);
  } else {
    process.stdout.write(
      formatHandshakeLine({
        coreVersion: CORE_PROTOCOL_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        network: 'unix',
        address: socketPath,
        protocol: 'grpc',
        serverCertDer: cert?.certDer,
      }) + '\n',
    );
    log.debug(`handshake ${Math.round(performance.now())} ms after process start`);
    setImmediate(warmUp);
    // If Terraform dies without shutting us down, we are re-parented: exit.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) shutdown('Terraform exited');
    }, 1000).unref();
  }
  return done;
}

/** The services {@link addServices} registers, by full name. */
const SERVICES = ['tfplugin6.Provider', 'plugin.GRPCController', 'plugin.GRPCStdio', 'plugin.GRPCBroker', 'grpc.health.v1.Health'] as const;

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Registers the provider service and go-plugin's companions on the server. */
function addServices(
  grpc: typeof grpcTypes,
  server: grpcTypes.Server,
  serviceDefinition: (fullName: string) => grpcTypes.ServiceDefinition,
  handlers: () => import('./server').ProviderHandlers,
  log: Logger,
  openStreams: Set<{ end(): void }>,
  shutdown: (why: string) => void,
): void {
  const provider: grpcTypes.UntypedServiceImplementation = {};
  // Every RPC of the service is registered from the method table, before the
  // handlers exist (they load after the handshake line); one the handlers do
  // not implement answers UNIMPLEMENTED, as an unregistered method would.
  for (const rpc of Object.keys(serviceDefinition('tfplugin6.Provider'))) {
    provider[rpc] = (call: grpcTypes.ServerUnaryCall<object, object>, callback: grpcTypes.sendUnaryData<object>) => {
      let handler: ((req: object) => Promise<object>) | undefined;
      try {
        handler = (handlers() as unknown as Record<string, ((req: object) => Promise<object>) | undefined>)[rpc];
      } catch (err) {
        log.error(`${rpc}: ${errorText(err)}`);
        callback({ code: grpc.status.INTERNAL, details: `the provider failed to start: ${String(err)}` });
        return;
      }
      if (!handler) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method /tfplugin6.Provider/${rpc}` });
        return;
      }
      // Handlers turn every failure into diagnostics; a rejection here is a bug in this layer.
      handler(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          log.error(`${rpc}: ${errorText(err)}`);
          callback({ code: grpc.status.INTERNAL, details: `internal error in the provider's protocol layer: ${String(err)}` });
        },
      );
    };
  }
  server.addService(serviceDefinition('tfplugin6.Provider'), provider);

  server.addService(serviceDefinition('plugin.GRPCController'), {
    Shutdown: (_call: grpcTypes.ServerUnaryCall<object, object>, callback: grpcTypes.sendUnaryData<object>) => {
      callback(null, {});
      shutdown('Terraform asked the provider to shut down');
    },
  });

  // Holding a stream open, never writing: output goes to stderr, which go-plugin reads directly.
  const hold = (call: grpcTypes.ServerWritableStream<object, object> | grpcTypes.ServerDuplexStream<object, object>): void => {
    openStreams.add(call);
    const release = (): void => {
      openStreams.delete(call);
    };
    call.on('cancelled', release);
    call.on('close', release);
    if ('read' in call) {
      call.on('data', () => undefined);
      call.on('end', () => {
        release();
        call.end();
      });
    }
  };
  server.addService(serviceDefinition('plugin.GRPCStdio'), { StreamStdio: hold });
  server.addService(serviceDefinition('plugin.GRPCBroker'), { StartStream: hold });

  server.addService(serviceDefinition('grpc.health.v1.Health'), {
    Check: (call: grpcTypes.ServerUnaryCall<{ service: string }, object>, callback: grpcTypes.sendUnaryData<object>) => {
      const service = call.request.service;
      // go-plugin pings the service named "plugin"; "" means the server as a whole.
      if (service === '' || service === 'plugin') callback(null, { status: 'SERVING' });
      else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
    },
  });
}
