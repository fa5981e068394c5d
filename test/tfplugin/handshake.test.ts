/** The go-plugin handshake line and environment checks. */
import { checkHandshakeEnv, formatHandshakeLine, MAGIC_COOKIE_VALUE, parseHandshakeLine, reattachConfig } from '../../src/tfplugin/handshake';

describe('handshake line', () => {
  test('certificate in base64 without padding', () => {
    const line = formatHandshakeLine({ coreVersion: 1, protocolVersion: 6, network: 'unix', address: '/tmp/p/s', protocol: 'grpc', serverCertDer: Buffer.from([1, 2, 3, 4]) });
    // AQIDBA== without the padding
    expect(line).toBe('1|6|unix|/tmp/p/s|grpc|AQIDBA');
    expect(parseHandshakeLine(line + '\n')).toEqual({ coreVersion: 1, protocolVersion: 6, network: 'unix', address: '/tmp/p/s', protocol: 'grpc', serverCertDer: Buffer.from([1, 2, 3, 4]) });
  });

  test('without TLS the last field is empty', () => {
    expect(formatHandshakeLine({ coreVersion: 1, protocolVersion: 6, network: 'unix', address: '/s', protocol: 'grpc' })).toBe('1|6|unix|/s|grpc|');
  });

  test('garbage is rejected', () => {
    expect(() => parseHandshakeLine('hello world')).toThrow(/not a go-plugin handshake line/);
  });
});

describe('environment', () => {
  const cookie = { TF_PLUGIN_MAGIC_COOKIE: MAGIC_COOKIE_VALUE };

  test('no cookie: a message for the person who ran it', () => {
    const check = checkHandshakeEnv({}, 'registry.terraform.io/appreg/appreg');
    expect(check.ok).toBe(false);
    expect(!check.ok && check.message).toMatch(/Terraform provider plugin .* not meant to be run directly/);
  });

  test('a wrong cookie is no cookie', () => {
    expect(checkHandshakeEnv({ TF_PLUGIN_MAGIC_COOKIE: 'x' }, 'p').ok).toBe(false);
  });

  test('protocol 6 among those offered', () => {
    expect(checkHandshakeEnv({ ...cookie, PLUGIN_PROTOCOL_VERSIONS: '5,6', PLUGIN_CLIENT_CERT: 'PEM', PLUGIN_UNIX_SOCKET_DIR: '/d' }, 'p')).toEqual({
      ok: true,
      clientCertPem: 'PEM',
      socketDir: '/d',
    });
  });

  test('only protocol 5 offered: a message naming both', () => {
    const check = checkHandshakeEnv({ ...cookie, PLUGIN_PROTOCOL_VERSIONS: '5' }, 'p');
    expect(!check.ok && check.message).toMatch(/protocol 6.*offers only 5/);
  });

  test('no list offered: go ahead', () => {
    expect(checkHandshakeEnv(cookie, 'p').ok).toBe(true);
  });
});

test('reattach configuration', () => {
  expect(JSON.parse(reattachConfig('registry.terraform.io/appreg/appreg', 42, '/tmp/x/s'))).toEqual({
    'registry.terraform.io/appreg/appreg': { Protocol: 'grpc', ProtocolVersion: 6, Pid: 42, Test: true, Addr: { Network: 'unix', String: '/tmp/x/s' } },
  });
});
