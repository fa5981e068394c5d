/**
 * Attribute paths as data. A path is a list of steps (an attribute name, a
 * map key, a list index), never a string to be parsed again; the one place
 * a path arrives as text is the registration service's field errors, which
 * {@link attributeOfFieldPath} reads.
 */
import type { AttributePath, PathStep } from '../tfplugin/types';

export type { AttributePath, PathStep } from '../tfplugin/types';

/** The path of a top-level attribute. */
export function attributePath(name: string): AttributePath {
  return [name];
}

/** The path of an element of a list attribute (not of a set: Terraform cannot point into a set). */
export function listElementPath(name: string, index: number): AttributePath {
  return [name, { index }];
}

/** The top-level attribute a path is in, or undefined for an empty path or one that starts with a key or index. */
export function topAttribute(path: AttributePath): string | undefined {
  const first = path[0];
  return typeof first === 'string' ? first : undefined;
}

/**
 * The top-level attribute of a field path as the registration service
 * writes it in problem details (`callback_urls[2]`, `actor.role`). Terraform
 * paths cannot point into a set element, so diagnostics stop at the attribute.
 */
export function attributeOfFieldPath(fieldPath: string): AttributePath {
  return [fieldPath.replace(/\[.*$/, '').split('.')[0]!];
}

/** Whether two paths are the same path. */
export function pathsEqual(a: AttributePath, b: AttributePath): boolean {
  return a.length === b.length && a.every((s, i) => stepsEqual(s, b[i]!));
}

function stepsEqual(a: PathStep, b: PathStep): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if ('key' in a) return 'key' in b && a.key === b.key;
  return 'index' in b && a.index === b.index;
}
