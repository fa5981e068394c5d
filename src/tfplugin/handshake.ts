/**
 * The go-plugin handshake: how Terraform tells a provider process how to
 * talk, and how the provider answers with one line on stdout.
 *
 * Terraform starts the provider with, in the environment:
 * - `TF_PLUGIN_MAGIC_COOKIE`: a fixed value, only to tell a person who runs
 *   the executable by hand that it is not a command;
 * - `PLUGIN_PROTOCOL_VERSIONS`: the protocol versions it speaks, e.g. `5,6`;
 * - `PLUGIN_CLIENT_CERT`: its own throwaway certificate (PEM), to be required
 *   from whoever connects (automatic mutual TLS);
 * - optionally `PLUGIN_UNIX_SOCKET_DIR`: where to put the socket.
 *
 * The provider then prints
 * `CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|PROTOCOL|SERVER-CERT`, e.g.
 * `1|6|unix|/tmp/plugin123/plugin.sock|grpc|MIIB…` where SERVER-CERT is its
 * certificate's DER in base64 without padding, and serves gRPC there.
 */

/** The environment variable that carries the magic cookie. */
export const MAGIC_COOKIE_KEY = 'TF_PLUGIN_MAGIC_COOKIE';
/** The value Terraform sets for providers. */
export const MAGIC_COOKIE_VALUE = 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2';
/** go-plugin's own protocol version (the first field of the line). */
export const CORE_PROTOCOL_VERSION = 1;
/** The Terraform plugin protocol major version we speak. */
export const PROTOCOL_VERSION = 6;

/** The fields of a handshake line. */
export interface HandshakeLine {
  coreVersion: number;
  protocolVersion: number;
  network: 'unix' | 'tcp';
  address: string;
  protocol: 'grpc' | 'netrpc';
  /** DER of the server certificate; absent when the server does not use TLS. */
  serverCertDer?: Buffer;
}

/** Formats the line a plugin prints (without the newline). */
export function formatHandshakeLine(h: HandshakeLine): string {
  const cert = h.serverCertDer ? h.serverCertDer.toString('base64').replace(/=+$/, '') : '';
  return [h.coreVersion, h.protocolVersion, h.network, h.address, h.protocol, cert].join('|');
}

/** Parses a handshake line (the host side; used by the test harness). */
export function parseHandshakeLine(line: string): HandshakeLine {
  const parts = line.trim().split('|');
  if (parts.length < 5) throw new Error(`not a go-plugin handshake line: ${JSON.stringify(line)}`);
  const [core, app, network, address, protocol, cert] = parts;
  if (network !== 'unix' && network !== 'tcp') throw new Error(`unsupported network ${network} in handshake line`);
  if (protocol !== 'grpc' && protocol !== 'netrpc') throw new Error(`unsupported protocol ${protocol} in handshake line`);
  const h: HandshakeLine = { coreVersion: Number(core), protocolVersion: Number(app), network, address, protocol };
  if (cert) h.serverCertDer = Buffer.from(cert, 'base64');
  return h;
}

/** What a plugin should do, decided from its environment before it loads anything heavy. */
export type HandshakeCheck =
  | { ok: true; clientCertPem?: string; socketDir?: string }
  | { ok: false; message: string };

/** Checks the cookie and the protocol versions Terraform offers; `providerAddress` names the provider in the message. */
export function checkHandshakeEnv(env: NodeJS.ProcessEnv, providerAddress: string): HandshakeCheck {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    return {
      ok: false,
      message:
        `This is a Terraform provider plugin (${providerAddress}). It is not meant to be run directly:\n` +
        'Terraform starts it when a configuration uses the provider. To run it under a\n' +
        'debugger or see its output, start it with --debug and follow the instructions it prints.\n',
    };
  }
  const offered = (env.PLUGIN_PROTOCOL_VERSIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // go-plugin hosts that send no list accept whatever the plugin speaks.
  if (offered.length && !offered.includes(String(PROTOCOL_VERSION))) {
    return {
      ok: false,
      message:
        `This provider speaks Terraform plugin protocol ${PROTOCOL_VERSION}, but the Terraform running it ` +
        `offers only ${offered.join(', ')}. Use Terraform 1.0 or newer.\n`,
    };
  }
  const check: HandshakeCheck = { ok: true };
  if (env.PLUGIN_CLIENT_CERT) check.clientCertPem = env.PLUGIN_CLIENT_CERT;
  if (env.PLUGIN_UNIX_SOCKET_DIR) check.socketDir = env.PLUGIN_UNIX_SOCKET_DIR;
  return check;
}

/**
 * The value of `TF_REATTACH_PROVIDERS` for a provider serving in debug mode.
 * `Test: true` tells Terraform the process is not its child: it connects
 * without starting or stopping it, so one debug process serves many commands.
 */
export function reattachConfig(providerAddress: string, pid: number, socketPath: string): string {
  return JSON.stringify({
    [providerAddress]: {
      Protocol: 'grpc',
      ProtocolVersion: PROTOCOL_VERSION,
      Pid: pid,
      Test: true,
      Addr: { Network: 'unix', String: socketPath },
    },
  });
}
