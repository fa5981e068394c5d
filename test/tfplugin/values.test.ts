/** Value comparisons that need the type, and Terraform's proposed new state as the harness computes it. */
import { conformsToPlan, isWhollyKnown, Unknown, valueEquals, type TfType } from '../../src/tfplugin';
import { plannedAction, proposedNewState } from '../support/plugin-harness';

const t: TfType = ['object', { id: 'string', urls: ['set', 'string'], tags: ['map', 'string'], list: ['list', 'number'] }];

describe('valueEquals', () => {
  test('sets ignore order, lists do not', () => {
    expect(valueEquals(t, { urls: ['a', 'b'] }, { urls: ['b', 'a'] })).toBe(true);
    expect(valueEquals(t, { list: [1, 2] }, { list: [2, 1] })).toBe(false);
  });

  test('a missing object attribute is null; a missing map key is not', () => {
    expect(valueEquals(t, { id: 'x' }, { id: 'x', urls: null })).toBe(true);
    expect(valueEquals(['map', 'string'], { a: '1' }, { a: '1', b: '2' })).toBe(false);
  });

  test('unknown equals only unknown', () => {
    expect(valueEquals('string', Unknown.value, Unknown.value)).toBe(true);
    expect(valueEquals('string', Unknown.value, 'x')).toBe(false);
  });
});

describe('conformsToPlan', () => {
  test('an unknown in the plan allows any value', () => {
    expect(conformsToPlan(t, { id: Unknown.value, urls: ['a'] }, { id: 'x1', urls: ['a'] })).toBe(true);
  });

  test('a known planned value must be kept', () => {
    expect(conformsToPlan(t, { id: 'x1' }, { id: 'x2' })).toBe(false);
  });

  test('a set with unknown elements may come back with different ones', () => {
    expect(conformsToPlan(t, { urls: ['a', Unknown.value] }, { urls: ['a'] })).toBe(true);
  });
});

test('isWhollyKnown looks everywhere', () => {
  expect(isWhollyKnown({ a: [1, { b: 'x' }] })).toBe(true);
  expect(isWhollyKnown({ a: [1, { b: Unknown.value }] })).toBe(false);
});

describe('proposed new state (harness)', () => {
  const block = {
    attributes: {
      id: { type: 'string' as const, computed: true },
      name: { type: 'string' as const, required: true },
      color: { type: 'string' as const, optional: true, computed: true },
      note: { type: 'string' as const, optional: true },
    },
  };

  test('create: computed attributes not configured are null for the provider to fill', () => {
    expect(proposedNewState(block, null, { name: 'n' })).toEqual({ id: null, name: 'n', color: null, note: null });
  });

  test('update: computed attributes not configured keep their prior value; optional ones follow the config', () => {
    expect(proposedNewState(block, { id: 'i', name: 'n', color: 'blue', note: 'x' }, { name: 'm', color: null, note: null })).toEqual({
      id: 'i',
      name: 'm',
      color: 'blue',
      note: null,
    });
  });

  test('destroy: a null config proposes null', () => {
    expect(proposedNewState(block, { id: 'i' }, null)).toBeNull();
  });
});

describe('planned action (harness)', () => {
  const type: TfType = ['object', { id: 'string', zone: 'string', name: 'string' }];
  const prior = { id: 'i', zone: 'a', name: 'n' };

  test('replace only when a path that requires it actually changes', () => {
    expect(plannedAction(type, prior, { plannedState: { ...prior, zone: 'b' }, requiresReplace: [['zone']], diagnostics: [] })).toBe('replace');
    expect(plannedAction(type, prior, { plannedState: { ...prior, name: 'm' }, requiresReplace: [['zone']], diagnostics: [] })).toBe('update');
    expect(plannedAction(type, prior, { plannedState: prior, requiresReplace: [], diagnostics: [] })).toBe('noop');
    expect(plannedAction(type, null, { plannedState: prior, requiresReplace: [], diagnostics: [] })).toBe('create');
  });
});
