/** Diagnostics and attribute paths, both ways. */
import { bugDiagnostic, CodecError, diagnosticFromWire, diagnosticToWire, pathFromWire, pathToWire, type Diagnostic } from '../../src/tfplugin';

describe('attribute paths', () => {
  test('names, map keys and indexes', () => {
    const wire = pathToWire(['callback_urls', { index: 2 }, 'x', { key: 'team' }]);
    expect(wire).toEqual({ steps: [{ attribute_name: 'callback_urls' }, { element_key_int: 2 }, { attribute_name: 'x' }, { element_key_string: 'team' }] });
    expect(pathFromWire(wire)).toEqual(['callback_urls', { index: 2 }, 'x', { key: 'team' }]);
  });

  test('as decoded, with the selector named', () => {
    expect(pathFromWire({ steps: [{ attribute_name: '', element_key_int: 3, selector: 'element_key_int' }] })).toEqual([{ index: 3 }]);
  });

  test('a step with no selector is an error', () => {
    expect(() => pathFromWire({ steps: [{}] })).toThrow(/no selector/);
  });
});

describe('diagnostics', () => {
  test('error with detail and attribute', () => {
    const d: Diagnostic = { severity: 'error', summary: 'Bad URL', detail: 'Use https.', attribute: ['callback_urls', { index: 0 }] };
    const wire = diagnosticToWire(d);
    expect(wire).toEqual({ severity: 'ERROR', summary: 'Bad URL', detail: 'Use https.', attribute: { steps: [{ attribute_name: 'callback_urls' }, { element_key_int: 0 }] } });
    expect(diagnosticFromWire(wire)).toEqual(d);
  });

  test('warning without detail or attribute', () => {
    const wire = diagnosticToWire({ severity: 'warning', summary: 'Hm' });
    expect(wire).toEqual({ severity: 'WARNING', summary: 'Hm', detail: '' });
    expect(diagnosticFromWire(wire)).toEqual({ severity: 'warning', summary: 'Hm' });
  });

  test('an exception is a bug, with the message and where it happened', () => {
    const d = bugDiagnostic('PlanResourceChange', 'appreg_oauth_client', new Error('x is undefined'));
    expect(d.severity).toBe('error');
    expect(d.summary).toBe('Internal error in the provider');
    expect(d.detail).toMatch(/^PlanResourceChange for appreg_oauth_client failed: x is undefined/);
    expect(d.detail).toMatch(/bug in the provider/);
  });

  test('a value that does not fit the schema points at the attribute', () => {
    expect(bugDiagnostic('ReadResource', 't', new CodecError('expected string', ['name'])).attribute).toEqual(['name']);
  });
});
