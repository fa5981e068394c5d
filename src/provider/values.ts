/**
 * Equality of Terraform values under their type: sets compare without order,
 * unknown equals nothing (not even unknown), as Terraform compares plans.
 */
import { isUnknown, type TfType, type TfValue } from '../tfplugin/types';

/** Whether two values are the same value of type `type`. */
export function valuesEqual(type: TfType, a: TfValue | undefined, b: TfValue | undefined): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (isUnknown(a) || isUnknown(b)) return false;
  if (a === null || b === null) return a === b;
  if (typeof type === 'string') {
    return type === 'dynamic' ? JSON.stringify(a) === JSON.stringify(b) : a === b;
  }
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const el = inner as TfType;
    if (kind === 'list') return a.every((x, i) => valuesEqual(el, x, b[i]));
    const rest = [...b];
    return a.every((x) => {
      const i = rest.findIndex((y) => valuesEqual(el, x, y));
      if (i < 0) return false;
      rest.splice(i, 1);
      return true;
    });
  }
  if (kind === 'tuple') {
    const types = inner as readonly TfType[];
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && types.every((t, i) => valuesEqual(t, a[i], b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return false;
  const ao = a as { [k: string]: TfValue };
  const bo = b as { [k: string]: TfValue };
  if (kind === 'map') {
    const keys = Object.keys(ao);
    return keys.length === Object.keys(bo).length && keys.every((k) => k in bo && valuesEqual(inner as TfType, ao[k], bo[k]));
  }
  const attrs = inner as { readonly [name: string]: TfType };
  return Object.keys(attrs).every((k) => valuesEqual(attrs[k]!, ao[k], bo[k]));
}
