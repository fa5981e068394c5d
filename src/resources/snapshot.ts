/**
 * Batched refresh: what one configured provider has listed of the service.
 *
 * Terraform refreshes every resource with its own ReadResource call. Read
 * one by one, a plan of a thousand clients is a thousand requests, which is
 * most of its time and a load on the service at every pull request. Instead,
 * the first read of an app (or a consent) lists its group's apps (or
 * consents) page by page, once, and later reads of that group are answered
 * from the list. Concurrent reads of one group wait for the same walk.
 *
 * Rules that keep the answers as true as one GET each would be:
 * - An object missing from the list is confirmed with one GET before it is
 *   reported gone: it may have been made after the list was taken, or be
 *   visible to a GET but not listed.
 * - A write through this provider (update, rotation, delete) drops what it
 *   touched from the snapshot, so a later read of it asks the service again;
 *   deleting an app drops the consents to it too (the service deletes them).
 * - The snapshot belongs to one ConfigureProvider: Terraform configures the
 *   provider at the start of every command (a debug-mode provider serves
 *   several), so it never outlives the command.
 *
 * Listed by group, not everything the token can see: the state names each
 * object's group, and a tenant-wide token planning a small stack should not
 * walk every app of the tenant. A stack of N objects in G groups costs G
 * walks of ceil(n/200) pages instead of N requests.
 */
import type { App, AppregClient, BrowseItem, Consent, Group } from '../client';
import { isNotFound, ServiceError } from '../client/errors';

/** Most items per list page the service gives (its MAX_PAGE_LIMIT). */
export const SNAPSHOT_PAGE_SIZE = 200;

/** One kind of object, listed per group on first use. */
class GroupListing<T> {
  readonly #byGroup = new Map<string, Promise<Map<string, T> | undefined>>();

  constructor(
    private readonly list: (groupId: string) => AsyncIterable<T>,
    private readonly keyOf: (item: T) => string,
  ) {}

  /**
   * The listed object of `groupId` with `key`, or undefined when the group's
   * list does not hold it (or cannot be listed with this token).
   */
  async find(groupId: string, key: string): Promise<T | undefined> {
    // A failed walk is not kept: a later read tries again (each waiting read reports the error).
    return (await once(this.#byGroup, groupId, () => this.load(groupId)))?.get(key);
  }

  private async load(groupId: string): Promise<Map<string, T> | undefined> {
    const out = new Map<string, T>();
    try {
      for await (const item of this.list(groupId)) out.set(this.keyOf(item), item);
    } catch (e) {
      // A group this token may not list (403), or that is gone (404), leaves each read to its own
      // GET, which gives the answer that belongs to that object. Other failures (a bad token,
      // an outage the client already retried) would fail every GET the same way: report them.
      if (e instanceof ServiceError && (e.status === 403 || e.status === 404)) return undefined;
      throw e;
    }
    return out;
  }
}

/** Reads of apps and consents, served from one walk of each group's list. */
export class ReadSnapshot {
  readonly #apps: GroupListing<App>;
  readonly #consents: GroupListing<Consent>;
  /** Apps written by this provider since the lists were taken: asked again, and their consents too. */
  readonly #touchedApps = new Set<string>();
  /** Consents (`group/app`) written by this provider. */
  readonly #touchedConsents = new Set<string>();
  readonly #groups = new Map<string, Promise<Group[]>>();
  readonly #browse = new Map<string, Promise<BrowseItem[]>>();

  constructor(private readonly client: AppregClient) {
    this.#apps = new GroupListing(
      (groupId) => client.iterateApps({ group_id: groupId, limit: SNAPSHOT_PAGE_SIZE }),
      (a) => a.id,
    );
    this.#consents = new GroupListing(
      (groupId) => client.iterateConsents({ group_id: groupId, limit: SNAPSHOT_PAGE_SIZE }),
      (c) => consentKey(c.group_id, c.app_id),
    );
  }

  /**
   * App `id` of group `groupId` as the service has it now, or null when it is
   * gone (or no longer visible to this token).
   */
  async app(groupId: string, id: string): Promise<App | null> {
    // A state without its group (damaged by hand) has no list to look in: the GET still works.
    if (isGroupId(groupId) && !this.#touchedApps.has(id)) {
      const listed = await this.#apps.find(groupId, id);
      if (listed !== undefined) return listed;
    }
    return orNull(this.client.getApp(id));
  }

  /** The consent of group `groupId` to app `appId`, or null when there is none. */
  async consent(groupId: string, appId: string): Promise<Consent | null> {
    if (isGroupId(groupId) && !this.#touchedApps.has(appId) && !this.#touchedConsents.has(consentKey(groupId, appId))) {
      const listed = await this.#consents.find(groupId, consentKey(groupId, appId));
      if (listed !== undefined) return listed;
    }
    return orNull(this.client.getConsent(groupId, appId));
  }

  /** Every group the token can see, listed once (data sources look groups up by name). */
  groups(): Promise<Group[]> {
    return once(this.#groups, '', () => this.client.listAllGroups({ limit: SNAPSHOT_PAGE_SIZE }));
  }

  /** The organization apps group `groupId` may browse, listed once per group until an app is written. */
  browse(groupId: string): Promise<BrowseItem[]> {
    return once(this.#browse, groupId, () => this.client.browseAll({ group_id: groupId, limit: SNAPSHOT_PAGE_SIZE }));
  }

  /** Records a write to app `id` (update, rotation, delete): later reads of it, and of consents to it, ask the service. */
  touchedApp(id: string): void {
    this.#touchedApps.add(id);
    // Browse entries carry apps' names and callback URLs: a data source read after this write reads again.
    this.#browse.clear();
  }

  /** Records a write to a consent: later reads of it ask the service. */
  touchedConsent(groupId: string, appId: string): void {
    this.#touchedConsents.add(consentKey(groupId, appId));
  }
}

function isGroupId(groupId: unknown): groupId is string {
  return typeof groupId === 'string' && groupId !== '';
}

function consentKey(groupId: string, appId: string): string {
  return `${groupId}/${appId}`;
}

/** The value under `key`, made by `make` on first use; a failure is not kept. */
function once<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let got = cache.get(key);
  if (got === undefined) {
    got = make();
    cache.set(key, got);
    got.catch(() => {
      if (cache.get(key) === got) cache.delete(key);
    });
  }
  return got;
}

async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}
