/**
 * Turns request input into typed values, or into one 422 that lists every
 * problem at once, each at its path (`name`, `callback_urls[2]`): the same
 * path form as src/rules, so a user fixes all problems in one pass.
 */
import type { z } from 'zod';
import { type FieldError, invalid } from './problem';
import { MAX_PAGE_LIMIT } from './schemas';

/** Most field errors one answer lists; a 1 MiB body could otherwise produce megabytes of them. */
const MAX_ERRORS = 100;

type PathKey = PropertyKey;

/** `['callback_urls', 2]` → `callback_urls[2]`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out === '' ? String(step) : `.${String(step)}`;
  }
  return out;
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = data;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[step as string];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'an object',
};

/** One zod issue as field errors, with messages a user can act on. */
function fromIssue(issue: z.core.$ZodIssue, data: unknown, allowed: readonly string[]): FieldError[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: formatPath([...issue.path, k]),
        message: `is not a known field; allowed fields are ${allowed.join(', ')}`,
      }));
    case 'invalid_type': {
      const got = valueAt(data, issue.path);
      if (got === undefined) return [{ path, message: 'is required' }];
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      return [{ path, message: `must be ${expected} (got ${describe(got)})` }];
    }
    case 'invalid_value':
      if (valueAt(data, issue.path) === undefined) return [{ path, message: 'is required' }];
      return [{
        path,
        message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describe(valueAt(data, issue.path))})`,
      }];
    case 'too_small':
      return [{ path, message: `must be at least ${String(issue.minimum)}` }];
    case 'too_big':
      return [{ path, message: `must be at most ${String(issue.maximum)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * Merges field errors so that each path appears once (two rules failing on
 * the same field become one entry), keeping first-seen order.
 */
export function mergeErrors(errors: readonly FieldError[]): FieldError[] {
  const byPath = new Map<string, string[]>();
  for (const e of errors) {
    const list = byPath.get(e.path) ?? [];
    if (!list.includes(e.message)) list.push(e.message);
    byPath.set(e.path, list);
  }
  return [...byPath].map(([path, messages]) => ({ path, message: messages.join('; ') }));
}

/** `callback_urls[2]` → ['callback_urls', 2], for ordering. */
function pathKey(path: string): [string, number] {
  const m = /^([^[.]*)(?:\[(\d+)\])?/.exec(path);
  return [m?.[1] ?? path, m?.[2] !== undefined ? Number(m[2]) : -1];
}

/**
 * Throws the 422 for `errors` when there are any.
 * @param fieldOrder the body's fields in documentation order; errors are
 *   listed in that order (then by list index), unknown fields last
 */
export function throwIfInvalid(errors: readonly FieldError[], fieldOrder: readonly string[] = []): void {
  if (errors.length === 0) return;
  const rank = (field: string) => {
    const i = fieldOrder.indexOf(field);
    return i === -1 ? fieldOrder.length : i;
  };
  const merged = mergeErrors(errors).sort((a, b) => {
    const [fa, ia] = pathKey(a.path);
    const [fb, ib] = pathKey(b.path);
    return rank(fa) - rank(fb) || ia - ib;
  });
  const shown = merged.slice(0, MAX_ERRORS);
  const paths = shown.map((e) => e.path);
  const more = merged.length > shown.length ? ` (the first ${MAX_ERRORS} of ${merged.length} are listed)` : '';
  throw invalid(shown, `The request has invalid fields: ${paths.join(', ')}${more}. See errors[] for each.`);
}

/** Field errors of `data` against a zod object schema (empty when valid). */
export function schemaErrors(schema: z.ZodObject, data: unknown): FieldError[] {
  const res = schema.safeParse(data);
  if (res.success) return [];
  const allowed = Object.keys(schema.shape);
  return res.error.issues.flatMap((i) => fromIssue(i, data, allowed));
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a body that must be a JSON object, or throws the 422.
 * @param what how to name the expected body in the error
 */
export function requireObjectBody(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body)) {
    throw invalid([], `The request body must be a JSON object (${what}); got ${body === undefined ? 'no body' : describe(body)}.`);
  }
  return body;
}

/** Parses a query string with a schema, or throws the 422. */
export function parseQuery<S extends z.ZodObject>(schema: S, query: unknown): z.output<S> {
  const res = schema.safeParse(query ?? {});
  if (res.success) return res.data;
  const allowed = Object.keys(schema.shape);
  const errors = res.error.issues.flatMap((i) => fromIssue(i, query, allowed)).map((e) => ({
    path: e.path,
    // Query values are always strings, so "expected a number, got a string" would mislead.
    message: e.path === 'limit'
      ? `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`
      : e.message.replace(/^is not a known field; allowed fields are/, 'is not a known query parameter; allowed are'),
  }));
  throwIfInvalid(errors);
  throw new Error('unreachable: a failed parse always has issues');
}
