/**
 * Comparisons of Terraform values that need the type: set elements have no
 * order, and an unknown value stands for any value.
 */
import { inferType } from './tftype';
import { type TfType, type TfValue, isUnknown } from './types';

type Obj = { [k: string]: TfValue };
const isObj = (v: TfValue): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !isUnknown(v);

/** True when a value contains no unknown value at any depth. */
export function isWhollyKnown(value: TfValue): boolean {
  if (isUnknown(value)) return false;
  if (Array.isArray(value)) return value.every(isWhollyKnown);
  if (isObj(value)) return Object.values(value).every(isWhollyKnown);
  return true;
}

function elementType(type: TfType, index: number | string): TfType {
  if (typeof type === 'string') return 'dynamic';
  const [kind, arg] = type;
  if (kind === 'tuple') return arg[index as number] ?? 'dynamic';
  if (kind === 'object') return arg[index as string] ?? 'dynamic';
  return arg;
}

/**
 * Compares two values of `type` as Terraform does: sets ignore order, objects
 * treat a missing attribute as null, an unknown equals only an unknown.
 */
export function valueEquals(type: TfType, a: TfValue, b: TfValue): boolean {
  return compare(type, a, b, false);
}

/**
 * True when `actual` is a value `planned` allows: every known part of the plan
 * equals `actual`, and where the plan has an unknown, anything goes. This is
 * the check Terraform makes between a plan and the state an apply returns
 * ("Provider produced inconsistent result after apply").
 */
export function conformsToPlan(type: TfType, planned: TfValue, actual: TfValue): boolean {
  return compare(type, planned, actual, true);
}

function compare(type: TfType, a: TfValue, b: TfValue, unknownMatchesAll: boolean): boolean {
  if (isUnknown(a)) return unknownMatchesAll || isUnknown(b);
  if (isUnknown(b)) return false;
  if (a === null || b === null) return a === b;
  if (type === 'dynamic') type = inferType(a);
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  const kind = typeof type === 'string' ? undefined : type[0];
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    if (kind === 'set') {
      // A set with unknown elements may collapse to fewer elements once known.
      if (unknownMatchesAll && !a.every(isWhollyKnown)) return true;
      if (a.length !== b.length) return false;
      const used = new Set<number>();
      return a.every((x) => {
        const i = b.findIndex((y, j) => !used.has(j) && compare(elementType(type, 0), x, y, unknownMatchesAll));
        if (i < 0) return false;
        used.add(i);
        return true;
      });
    }
    return a.length === b.length && a.every((x, i) => compare(elementType(type, i), x, b[i], unknownMatchesAll));
  }
  if (!isObj(a) || !isObj(b)) return false;
  // A map's keys are part of its value; an object's missing attribute is null.
  if (kind === 'map' && Object.keys(a).length !== Object.keys(b).length) return false;
  if (kind === 'map' && !Object.keys(a).every((k) => Object.prototype.hasOwnProperty.call(b, k))) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = a[k] ?? null;
    const y = b[k] ?? null;
    if (!compare(elementType(type, k), x, y, unknownMatchesAll)) return false;
  }
  return true;
}
