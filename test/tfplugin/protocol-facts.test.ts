/**
 * Field numbers are facts of the protocol Terraform speaks; a renumbered
 * field would silently lose data. These vectors are worked out by hand from
 * the protobuf wire format (tag = field number << 3 | wire type).
 */
import { decodeMessage, encodeMessage, serviceDefinition } from '../../src/tfplugin/proto';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('protocol facts', () => {
  test('Schema.Attribute: name 1, type 2, computed 6, sensitive 7', () => {
    const bytes = encodeMessage('tfplugin6.Schema.Attribute', { name: 'id', type: Buffer.from('"string"'), computed: true, sensitive: true });
    expect(hex(bytes)).toBe('0a02' + '6964' + '1208' + Buffer.from('"string"').toString('hex') + '3001' + '3801');
  });

  test('Diagnostic: severity 1 (ERROR = 1), summary 2, detail 3, attribute 4 with steps 1', () => {
    const bytes = encodeMessage('tfplugin6.Diagnostic', {
      severity: 'ERROR',
      summary: 's',
      detail: 'd',
      attribute: { steps: [{ attribute_name: 'a' }, { element_key_int: 2 }, { element_key_string: 'k' }] },
    });
    // steps: {1: "a"} = 0a 01 61; {3: 2} = 18 02; {2: "k"} = 12 01 6b
    expect(hex(bytes)).toBe('0801' + '120173' + '1a0164' + '220e' + '0a03' + '0a0161' + '0a02' + '1802' + '0a03' + '12016b');
  });

  test('DynamicValue: msgpack 1, json 2', () => {
    expect(hex(encodeMessage('tfplugin6.DynamicValue', { msgpack: Buffer.from([0xc0]) }))).toBe('0a01c0');
    expect(hex(encodeMessage('tfplugin6.DynamicValue', { json: Buffer.from('1') }))).toBe('120131');
  });

  test('PlanResourceChange.Response: planned_state 1, requires_replace 2, planned_private 3, diagnostics 4', () => {
    const bytes = encodeMessage('tfplugin6.PlanResourceChange.Response', {
      planned_state: { msgpack: Buffer.from([0xc0]) },
      requires_replace: [{ steps: [{ attribute_name: 'z' }] }],
      planned_private: Buffer.from('p'),
      diagnostics: [{ summary: 'x' }],
    });
    expect(hex(bytes)).toBe('0a03' + '0a01c0' + '1205' + '0a03' + '0a017a' + '1a0170' + '2203' + '120178');
  });

  test('ValidateProviderConfig.Response keeps diagnostics at 2', () => {
    expect(hex(encodeMessage('tfplugin6.ValidateProviderConfig.Response', { diagnostics: [{ summary: 'x' }] }))).toBe('1203120178');
  });

  test('StopProvider.Response: Error 1', () => {
    expect(hex(encodeMessage('tfplugin6.StopProvider.Response', { Error: 'e' }))).toBe('0a0165');
  });

  test('GetProviderSchema.Response: server_capabilities 6 with get_provider_schema_optional 2', () => {
    expect(hex(encodeMessage('tfplugin6.GetProviderSchema.Response', { server_capabilities: { get_provider_schema_optional: true } }))).toBe('32021001');
  });

  test('UpgradeResourceState.Request decodes type_name 1, version 2, raw_state.json 3.1', () => {
    const bytes = Buffer.from('0a0178' + '1003' + '1a03' + '0a017b', 'hex');
    expect(decodeMessage('tfplugin6.UpgradeResourceState.Request', bytes)).toMatchObject({ type_name: 'x', version: 3, raw_state: { json: Buffer.from('{') } });
  });

  test('a field Terraform sends that we do not list is skipped (ClientCapabilities, field 3 of ConfigureProvider.Request)', () => {
    const bytes = Buffer.from('0a0131' + '1a020801', 'hex');
    expect(decodeMessage('tfplugin6.ConfigureProvider.Request', bytes)).toMatchObject({ terraform_version: '1' });
  });

  test('AttributePath.Step decodes which selector is set', () => {
    expect(decodeMessage('tfplugin6.AttributePath.Step', Buffer.from('1805', 'hex'))).toMatchObject({ element_key_int: 5, selector: 'element_key_int' });
  });

  test('service paths', () => {
    expect(serviceDefinition('tfplugin6.Provider').PlanResourceChange.path).toBe('/tfplugin6.Provider/PlanResourceChange');
    expect(serviceDefinition('plugin.GRPCController').Shutdown.path).toBe('/plugin.GRPCController/Shutdown');
    expect(serviceDefinition('plugin.GRPCStdio').StreamStdio).toMatchObject({ path: '/plugin.GRPCStdio/StreamStdio', responseStream: true, requestStream: false });
    expect(serviceDefinition('plugin.GRPCBroker').StartStream).toMatchObject({ requestStream: true, responseStream: true });
    expect(serviceDefinition('grpc.health.v1.Health').Check.path).toBe('/grpc.health.v1.Health/Check');
  });
});
