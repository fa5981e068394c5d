/**
 * The one value equality resources and planning use. It is the protocol's
 * own comparison ({@link valueEquals}: sets without order, a missing object
 * attribute is null, an unknown equals only an unknown), taking an absent
 * attribute (undefined) as null because a state read from an older schema
 * may lack it.
 */
import { valueEquals } from '../tfplugin/values';
import type { TfType, TfValue } from '../tfplugin/types';

/**
 * Whether two values are the same value of type `type`. An unknown value is
 * equal to another unknown but to no known value, so a planned unknown
 * compared with a known prior value counts as a change.
 */
export function valuesEqual(type: TfType, a: TfValue | undefined, b: TfValue | undefined): boolean {
  return valueEquals(type, a ?? null, b ?? null);
}
