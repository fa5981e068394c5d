/**
 * Keyset pagination on each table's monotonic surrogate key (`seq`).
 *
 * Offsets shift when rows are inserted or deleted during a walk, which skips
 * or repeats items; "everything after key N" does neither. A cursor is the
 * key of the last item of the previous page, wrapped with the list's name so
 * that a cursor of one list is refused by another.
 */
import { DEFAULT_PAGE_LIMIT } from './schemas';
import { invalid } from './problem';

/** A page of a list, as every list route answers. */
export interface PageJson<T> {
  items: T[];
  next_cursor: string | null;
}

/** Where a page starts and how long it is. */
export interface PageRequest {
  after: number;
  limit: number;
}

/** Decodes `cursor` and `limit` query values of list `kind`, or throws a 422 naming `cursor`. */
export function pageRequest(kind: string, q: { limit?: number; cursor?: string }): PageRequest {
  const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
  if (q.cursor === undefined || q.cursor === '') return { after: 0, limit };
  let after: unknown;
  try {
    const decoded = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')) as { k?: unknown; a?: unknown };
    after = decoded.k === kind ? decoded.a : undefined;
  } catch {
    after = undefined;
  }
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw invalid([{ path: 'cursor', message: `is not a cursor of this list; pass next_cursor from a previous page of ${kind}` }]);
  }
  return { after, limit };
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells
 * that there is a next page.
 */
export function buildPage<R extends { seq: number }, T>(kind: string, rows: R[], req: PageRequest, toJson: (r: R) => T): PageJson<T> {
  const more = rows.length > req.limit;
  const shown = more ? rows.slice(0, req.limit) : rows;
  const last = shown[shown.length - 1];
  const next = more && last ? Buffer.from(JSON.stringify({ k: kind, a: last.seq }), 'utf8').toString('base64url') : null;
  return { items: shown.map(toJson), next_cursor: next };
}
