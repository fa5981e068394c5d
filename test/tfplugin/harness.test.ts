/**
 * The harness against the toy provider: a real process, the real handshake,
 * mutual TLS on a unix socket, and the lifecycle as Terraform runs it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Unknown, type TfValue } from '../../src/tfplugin';
import { DiagnosticsError, ProviderHarness } from '../support/plugin-harness';
import { requireBuiltToy, TOY_EXECUTABLE } from '../fixtures/toy';

type Obj = { [k: string]: TfValue };

let tmp: string;
let store: string;
let h: ProviderHarness;

beforeAll(() => requireBuiltToy());

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-harness-'));
  store = path.join(tmp, 'store.json');
  h = await ProviderHarness.start({ executable: TOY_EXECUTABLE, env: { TOY_STORE: store } });
  await h.configure({ prefix: 'h' });
});

afterEach(async () => {
  await ProviderHarness.closeAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const config = { name: 'alpha', zone: 'z1', tags: { team: 'x' }, labels: ['b', 'a'] };

test('handshake: protocol 6 over unix with a certificate, and healthy', async () => {
  expect(h.handshake).toMatchObject({ coreVersion: 1, protocolVersion: 6, network: 'unix', protocol: 'grpc' });
  expect(h.handshake.serverCertDer!.length).toBeGreaterThan(100);
  expect(await h.health()).toEqual({ status: 'SERVING' });
  expect(h.stdout()).toBe('');
});

test('schema as the provider declared it, with the capabilities', async () => {
  const { schema, capabilities, diagnostics } = await h.getProviderSchema();
  expect(diagnostics).toEqual([]);
  expect(capabilities).toEqual({ plan_destroy: false, get_provider_schema_optional: true, move_resource_state: false });
  expect(schema.resource_schemas.toy_thing.version).toBe(1);
  expect(schema.resource_schemas.toy_thing.block.attributes!.secret).toEqual({ type: 'string', computed: true, sensitive: true });
  expect(schema.resource_schemas.toy_thing.block.description_kind).toBe('markdown');
  expect(Object.keys(schema.data_source_schemas)).toEqual(['toy_lookup']);
});

test('validation: errors and warnings with their attribute paths', async () => {
  expect(await h.validateResourceConfig('toy_thing', { ...config, name: '', color: 'red', labels: ['ok', ''] })).toEqual([
    { severity: 'error', summary: 'Empty name', detail: 'A thing needs a name.', attribute: ['name'] },
    { severity: 'warning', summary: 'Loud color', detail: 'Red is loud.', attribute: ['color'] },
    { severity: 'error', summary: 'Empty label', attribute: ['labels', { index: 1 }] },
  ]);
  expect(await h.validateProviderConfig({ prefix: 'bad prefix' })).toMatchObject([{ severity: 'error', attribute: ['prefix'] }]);
  await expect(h.apply('toy_thing', null, { ...config, name: '' })).rejects.toThrow(/Empty name \(at name\)/);
});

test('create, refresh, no-op plan, update in place, replace, import, destroy', async () => {
  // create: computed values unknown in the plan, known after apply
  const created = await h.apply('toy_thing', null, config);
  expect(created.action).toBe('create');
  expect(created.plan.plannedState).toMatchObject({ id: Unknown.value, secret: Unknown.value, color: 'blue' });
  const state = created.newState as Obj;
  expect(state).toMatchObject({ name: 'alpha', zone: 'z1', color: 'blue', tags: { team: 'x' }, size: null });
  expect(state.id).toMatch(/^h-[0-9a-f]{8}$/);
  expect(typeof state.secret).toBe('string');

  // refresh and plan again: nothing to do
  const refreshed = await h.refresh('toy_thing', state);
  expect(refreshed.newState).toEqual(state);
  expect((await h.plan('toy_thing', refreshed.newState, config)).action).toBe('noop');

  // in place
  const updated = await h.apply('toy_thing', state, { ...config, name: 'beta', size: 0.5 });
  expect(updated.action).toBe('update');
  expect(updated.newState).toMatchObject({ id: state.id, name: 'beta', size: 0.5, secret: state.secret });

  // replacement: a new id
  const replaced = await h.apply('toy_thing', updated.newState, { ...config, name: 'beta', size: 0.5, zone: 'z2' });
  expect(replaced.action).toBe('replace');
  expect(replaced.plan.requiresReplace).toEqual([['zone']]);
  const replacedState = replaced.newState as Obj;
  expect(replacedState.id).not.toBe(state.id);
  expect(Object.keys(JSON.parse(fs.readFileSync(store, 'utf8')))).toEqual([replacedState.id]);

  // import: everything but the secret
  const [imported] = await h.import('toy_thing', replacedState.id as string);
  expect(imported.state).toEqual({ ...replacedState, secret: null });

  // destroy
  await h.destroy('toy_thing', replacedState);
  expect(JSON.parse(fs.readFileSync(store, 'utf8'))).toEqual({});
  expect((await h.refresh('toy_thing', replacedState)).newState).toBeNull();
});

test('drift: an object deleted outside Terraform refreshes to null', async () => {
  const { newState } = await h.apply('toy_thing', null, config);
  fs.writeFileSync(store, '{}');
  expect((await h.refresh('toy_thing', newState)).newState).toBeNull();
});

test('state from schema version 0 is upgraded', async () => {
  const { newState } = await h.apply('toy_thing', null, config);
  const { color, ...rest } = newState as Obj;
  const v0 = JSON.stringify({ ...rest, colour: color });
  const up = await h.upgradeResourceState('toy_thing', 0, v0);
  expect(up).toEqual({ state: newState, diagnostics: [] });
});

test('an exception in the provider is an error diagnostic, and the provider keeps serving', async () => {
  const err = await h.apply('toy_thing', null, { ...config, name: 'boom' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DiagnosticsError);
  const [d] = (err as DiagnosticsError).diagnostics;
  expect(d).toMatchObject({ severity: 'error', summary: 'Internal error in the provider' });
  expect(d.detail).toMatch(/PlanResourceChange for toy_thing failed: toy exploded while planning/);
  const logged = /\[ERROR\] toy: PlanResourceChange toy_thing failed: Error: toy exploded/;
  expect(await h.stderrMatching(logged)).toMatch(logged);
  expect(await h.health()).toEqual({ status: 'SERVING' });
});

test('import of something that does not exist', async () => {
  await expect(h.import('toy_thing', 'nope')).rejects.toThrow(/Cannot import non-existent remote object/);
});

test('data source', async () => {
  const { newState } = await h.apply('toy_thing', null, config);
  expect(await h.read('toy_lookup', { name: 'alpha' })).toEqual({ name: 'alpha', id: (newState as Obj).id, zone: 'z1' });
  await expect(h.read('toy_lookup', { name: 'gamma' })).rejects.toThrow(/No such thing \(at name\)/);
});

test('StopProvider, then Shutdown: the process exits 0 and removes its socket', async () => {
  expect(await h.stopProvider()).toBeUndefined();
  const socketDir = path.dirname(h.handshake.address);
  expect(fs.existsSync(h.handshake.address)).toBe(true);
  expect(await h.shutdown()).toBe(0);
  expect(fs.existsSync(socketDir)).toBe(false);
});
