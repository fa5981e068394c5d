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

/** A database connection (pool) with transactions. */
export interface Database extends SqlExecutor {
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when
   * it throws. Every change the service makes goes through here.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Closes the connection(s); waits for nothing else. */
  close(): Promise<void>;
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
