/**
 * The provider process: how it starts, refuses to start, and goes away.
 * Runs the compiled toy provider (any provider built on serveProvider
 * behaves the same).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { derToPem } from '../../src/tfplugin/certs';
import { MAGIC_COOKIE_VALUE } from '../../src/tfplugin/handshake';
import { serviceDefinition } from '../../src/tfplugin/proto';
import { ProviderHarness } from '../support/plugin-harness';
import { requireBuiltToy, TOY_EXECUTABLE } from '../fixtures/toy';

beforeAll(() => requireBuiltToy());
afterEach(() => ProviderHarness.closeAll());

/** Polls until `check` holds (or fails after `ms`); for process state, not timing. */
async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('run by hand (no magic cookie): says what it is on stderr, prints nothing on stdout, exits 1', () => {
  const env = { ...process.env };
  delete env.TF_PLUGIN_MAGIC_COOKIE;
  const r = spawnSync(TOY_EXECUTABLE, [], { env, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/This is a Terraform provider plugin \(registry.terraform.io\/appreg\/toy\)\. It is not meant to be run directly/);
  expect(r.stderr).toMatch(/--debug/);
});

test('offered only protocol 5: explains and exits 1', () => {
  const r = spawnSync(TOY_EXECUTABLE, [], { env: { ...process.env, TF_PLUGIN_MAGIC_COOKIE: MAGIC_COOKIE_VALUE, PLUGIN_PROTOCOL_VERSIONS: '4,5' }, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/speaks Terraform plugin protocol 6.*offers only 4, 5/);
});

test('without PLUGIN_CLIENT_CERT it serves plaintext and says so with an empty certificate field', async () => {
  const h = await ProviderHarness.start({ executable: TOY_EXECUTABLE, noTls: true });
  expect(h.handshake.serverCertDer).toBeUndefined();
  expect((await h.getProviderSchema()).diagnostics).toEqual([]);
});

test('a client without the certificate Terraform announced is refused', async () => {
  const h = await ProviderHarness.start({ executable: TOY_EXECUTABLE });
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition('grpc.health.v1.Health'), 'Health');
  // Trusts the server, but presents no client certificate.
  const client = new Ctor(`unix:${h.handshake.address}`, grpc.credentials.createSsl(Buffer.from(derToPem(h.handshake.serverCertDer!))), {
    'grpc.ssl_target_name_override': 'localhost',
  }) as unknown as { Check(req: object, opts: object, cb: (err: grpc.ServiceError | null) => void): void; close(): void };
  const err = await new Promise<grpc.ServiceError | null>((resolve) => client.Check({ service: 'plugin' }, { deadline: Date.now() + 5000 }, resolve));
  client.close();
  expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  expect(await h.health()).toEqual({ status: 'SERVING' });
});

test('Ctrl-C (SIGINT) is ignored, SIGTERM ends it and removes the socket', async () => {
  const h = await ProviderHarness.start({ executable: TOY_EXECUTABLE });
  h.process.kill('SIGINT');
  expect(await h.health()).toEqual({ status: 'SERVING' });
  h.process.kill('SIGTERM');
  expect(await h.waitForExit()).toBe(0);
  expect(fs.existsSync(h.handshake.address)).toBe(false);
});

test('SIGTERM right after the handshake line leaves no socket behind', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-sigterm-'));
  try {
    for (let i = 0; i < 4; i++) {
      const h = await ProviderHarness.start({ executable: TOY_EXECUTABLE, env: { TMPDIR: tmp } });
      h.process.kill('SIGTERM');
      expect(await h.waitForExit()).toBe(0);
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('exits when Terraform goes away without shutting it down', async () => {
  // A shell stands in for Terraform; the provider is its child and we kill the shell.
  const parent = spawn('/bin/sh', ['-c', `"${TOY_EXECUTABLE}" & echo "pid $!"; wait`], {
    env: { ...process.env, TF_PLUGIN_MAGIC_COOKIE: MAGIC_COOKIE_VALUE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => /pid \d+/.test(out) && /\|grpc\|/.test(out));
  const pid = Number(/pid (\d+)/.exec(out)![1]);
  const socket = /\|unix\|([^|]+)\|/.exec(out)![1];
  parent.kill('SIGKILL');
  await eventually(() => !alive(pid));
  expect(fs.existsSync(socket)).toBe(false);
});

test('debug mode: no cookie needed, a reattach line, plaintext socket, Ctrl-C stops it', async () => {
  const env = { ...process.env };
  delete env.TF_PLUGIN_MAGIC_COOKIE;
  const child = spawn(TOY_EXECUTABLE, ['--debug'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(() => /^TF_REATTACH_PROVIDERS='.*'$/m.test(out));
  const reattach = JSON.parse(/^TF_REATTACH_PROVIDERS='(.*)'$/m.exec(out)![1]) as Record<string, { Addr: { String: string }; Pid: number }>;
  const entry = reattach['registry.terraform.io/appreg/toy'];
  expect(entry).toMatchObject({ Protocol: 'grpc', ProtocolVersion: 6, Pid: child.pid, Test: true, Addr: { Network: 'unix' } });

  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition('tfplugin6.Provider'), 'Provider');
  const client = new Ctor(`unix:${entry.Addr.String}`, grpc.credentials.createInsecure()) as unknown as {
    GetProviderSchema(req: object, cb: (err: grpc.ServiceError | null, res: { resource_schemas: object }) => void): void;
    close(): void;
  };
  const res = await new Promise<{ resource_schemas: object }>((resolve, reject) => client.GetProviderSchema({}, (err, r) => (err ? reject(err) : resolve(r))));
  client.close();
  expect(Object.keys(res.resource_schemas)).toEqual(['toy_thing']);

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(fs.existsSync(entry.Addr.String)).toBe(false);
});
