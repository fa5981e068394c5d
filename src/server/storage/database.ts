/**
 * The storage seam of the registration service: one small SQL interface with
 * two implementations (SQLite through better-sqlite3, PostgreSQL through pg).
 *
 * Every query in the service is written once, in the common subset of both
 * dialects, with `?` placeholders. The few places where the dialects really
 * differ (DDL types, row locks, how a unique violation is reported) go
 * through {@link Dialect}, so the two back ends cannot drift apart.
 */

/** A value a query parameter may take. Booleans are stored as 0/1 in both dialects. */
export type SqlValue = string | number | boolean | null | undefined;

/** Runs SQL; inside a transaction or on its own. */
export interface SqlExecutor {
  /** The dialect, for the few statements that differ. */
  readonly dialect: Dialect;
  /** All rows of a query. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row of a query, or undefined. */
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** The dialect-specific bits, kept to a minimum on purpose. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column definition of a monotonic surrogate key used for keyset pagination. */
  readonly serialPrimaryKey: string;
  /**
   * Suffix that locks the selected rows until the transaction ends. SQLite
   * needs none: its write transactions are serialized as a whole.
   */
  readonly forUpdate: string;
  /** True when an error is a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean;
}

/**
 * An open transaction.
 *
 * Lists are paged by each table's `seq` ("everything after key N"), which is
 * only safe if a row never becomes visible behind a cursor that has already
 * passed its key. On PostgreSQL a key is drawn when the row is inserted, not
 * when it commits: without care, a create that commits after a later one
 * would be skipped by a walk that saw the later one. So every write
 * transaction first calls {@link Transaction.orderWrites} for its tenant, and
 * the insert functions refuse to run without it.
 */
export interface Transaction extends SqlExecutor {
  /**
   * Waits for every other open write transaction of the tenant, and makes
   * later ones wait for this one until it ends. Call it first, before any
   * row lock, so that two transactions of a tenant never wait for each other
   * in opposite orders. Tenants do not wait for each other.
   */
  orderWrites(tenantId: string): Promise<void>;
  /** True once {@link orderWrites} ran for the tenant in this transaction. */
  ordersWrites(tenantId: string): boolean;
}

/**
 * Makes a {@link Transaction} of an executor bound to one open transaction;
 * `lock` takes the back end's tenant lock (a no-op where transactions are
 * serialized as a whole).
 */
export function openTransaction(exec: SqlExecutor, lock: (tenantId: string) => Promise<void>): Transaction {
  const ordered = new Set<string>();
  return {
    dialect: exec.dialect,
    all: (sql, params) => exec.all(sql, params),
    get: (sql, params) => exec.get(sql, params),
    run: (sql, params) => exec.run(sql, params),
    async orderWrites(tenantId: string): Promise<void> {
      if (ordered.has(tenantId)) return;
      await lock(tenantId);
      ordered.add(tenantId);
    },
    ordersWrites: (tenantId) => ordered.has(tenantId),
  };
}

/**
 * Runs `fn` in a transaction that writes in one tenant, its writes ordered
 * after every other open one of the tenant (see {@link Transaction}).
 */
export function tenantTransaction<T>(db: Database, tenantId: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.orderWrites(tenantId);
    return fn(tx);
  });
}

/** Options of {@link Database.close}. */
export interface CloseOptions {
  /** How long to wait for work in flight before cutting it off, ms; default: as long as it takes. */
  graceMs?: number;
}

/**
 * Resolves when `work` settles or after `ms` (true if it settled in time).
 * `ms` undefined waits for `work` alone.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number | undefined): Promise<boolean> {
  const settled = work.then(() => true, () => true);
  if (ms === undefined) return settled;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A database connection (pool) with transactions. */
export interface Database extends SqlExecutor {
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when
   * it throws. Every change the service makes goes through here.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Closes the connection(s). Work in flight (a transaction, a query) is
   * waited for; with `graceMs`, only that long, then it is cut off (rolled
   * back, its connection closed) so that a shutdown cannot hang on it.
   */
  close(opts?: CloseOptions): Promise<void>;
}

/** True when `db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * Opens the database that `db` names (a `postgres://` URL, or a SQLite file
 * path) and brings its schema up to date.
 */
export async function openDatabase(db: string): Promise<Database> {
  // Required lazily so that a SQLite user never loads pg, and the other way round.
  let database: Database;
  if (isPostgresUrl(db)) {
    const { openPostgres } = await import('./postgres');
    database = await openPostgres(db);
  } else {
    const { openSqlite } = await import('./sqlite');
    database = openSqlite(db);
  }
  try {
    const { migrate } = await import('./migrations');
    await migrate(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}
