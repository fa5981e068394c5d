/**
 * Walking the pages of a list route. The service hands out `next_cursor`
 * until the last page; callers want every item and should not have to
 * repeat the cursor loop at each use.
 */
import type { Page } from './schemas';

/** Fetches one page; `cursor` is undefined for the first. */
export type PageFetcher<T> = (cursor: string | undefined) => Promise<Page<T>>;

/**
 * Yields every item of every page, fetching a page only when the previous
 * one is used up, so a caller that stops early makes no further calls.
 * @throws Error when the service hands out a cursor it gave before, which
 *   would otherwise loop for ever
 */
export async function* walkPages<T>(fetchPage: PageFetcher<T>): AsyncGenerator<T, void, undefined> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (page.next_cursor === null) return;
    if (seen.has(page.next_cursor)) {
      throw new Error(`pagination did not advance: the service returned cursor ${JSON.stringify(page.next_cursor)} twice`);
    }
    seen.add(page.next_cursor);
    cursor = page.next_cursor;
  }
}

/** Collects every item of every page into one array. */
export async function collectPages<T>(fetchPage: PageFetcher<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of walkPages(fetchPage)) out.push(item);
  return out;
}
