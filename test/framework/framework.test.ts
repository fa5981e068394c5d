import {
  attributeOfFieldPath,
  attributePath,
  decodePrivate,
  dedupDiagnostics,
  DiagnosticError,
  encodePrivate,
  errorDiagnostic,
  hasErrors,
  listElementPath,
  pathsEqual,
  topAttribute,
  valuesEqual,
  warningDiagnostic,
} from '../../src/framework';
import { Unknown } from '../../src/tfplugin/types';

const U = Unknown.value;

describe('valuesEqual', () => {
  test('sets compare without order, lists with it', () => {
    expect(valuesEqual(['set', 'string'], ['a', 'b'], ['b', 'a'])).toBe(true);
    expect(valuesEqual(['list', 'string'], ['a', 'b'], ['b', 'a'])).toBe(false);
    expect(valuesEqual(['set', 'string'], ['a', 'a'], ['a', 'b'])).toBe(false);
  });

  test('an unknown equals no known value, but equals an unknown', () => {
    expect(valuesEqual('string', U, 'x')).toBe(false);
    expect(valuesEqual('string', 'x', U)).toBe(false);
    expect(valuesEqual('string', U, null)).toBe(false);
    expect(valuesEqual('string', U, U)).toBe(true);
    expect(valuesEqual(['set', 'string'], ['a', U], ['a', 'b'])).toBe(false);
  });

  test('absent is null', () => {
    expect(valuesEqual('string', undefined, null)).toBe(true);
    expect(valuesEqual(['map', 'string'], undefined, {})).toBe(false);
  });

  test('maps compare keys and values', () => {
    expect(valuesEqual(['map', 'string'], { a: '1' }, { a: '1' })).toBe(true);
    expect(valuesEqual(['map', 'string'], { a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(valuesEqual(['map', 'string'], { a: '1' }, { b: '1' })).toBe(false);
  });
});

describe('attribute paths as data', () => {
  test('build and read paths without strings', () => {
    expect(attributePath('name')).toEqual(['name']);
    expect(listElementPath('items', 2)).toEqual(['items', { index: 2 }]);
    expect(topAttribute(['callback_urls', { index: 1 }])).toBe('callback_urls');
    expect(topAttribute([{ key: 'k' }])).toBeUndefined();
    expect(pathsEqual(['a', { key: 'k' }], ['a', { key: 'k' }])).toBe(true);
    expect(pathsEqual(['a', { key: 'k' }], ['a', { index: 0 }])).toBe(false);
  });

  test("the service's field paths stop at the attribute", () => {
    expect(attributeOfFieldPath('callback_urls[3]')).toEqual(['callback_urls']);
    expect(attributeOfFieldPath('name')).toEqual(['name']);
    expect(attributeOfFieldPath('actor.role')).toEqual(['actor']);
  });
});

describe('diagnostics', () => {
  test('dedup keeps the first of equal diagnostics and the order of the rest', () => {
    const a = errorDiagnostic('A', 'a', ['x']);
    const b = warningDiagnostic('B', 'b');
    const a2 = errorDiagnostic('A', 'a', ['y']);
    expect(dedupDiagnostics([a, b, { ...a }, a2, { ...b }])).toEqual([a, b, a2]);
  });

  test('hasErrors looks at severity only', () => {
    expect(hasErrors([warningDiagnostic('w', 'w')])).toBe(false);
    expect(hasErrors([warningDiagnostic('w', 'w'), errorDiagnostic('e', 'e')])).toBe(true);
  });

  test('DiagnosticError carries its diagnostics', () => {
    const d = errorDiagnostic('Invalid import id', 'Expected x.');
    const e = new DiagnosticError([d]);
    expect(e.diagnostics).toEqual([d]);
    expect(e.message).toBe('Invalid import id: Expected x.');
    expect(d).not.toHaveProperty('attribute');
  });
});

describe('private data', () => {
  test('round-trips the version and ignores foreign bytes', () => {
    expect(decodePrivate(encodePrivate({ version: 3 }))).toEqual({ version: 3 });
    expect(encodePrivate({})).toBeUndefined();
    expect(decodePrivate(undefined)).toEqual({});
    expect(decodePrivate(Buffer.from('not json'))).toEqual({});
    expect(decodePrivate(Buffer.from('{"version":"3"}'))).toEqual({});
  });
});
