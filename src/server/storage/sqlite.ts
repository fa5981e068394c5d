/**
 * SQLite back end (better-sqlite3).
 *
 * better-sqlite3 is synchronous and has one connection, while the service's
 * transactions are async functions. If two requests interleaved on the one
 * connection, the second would run inside the first one's transaction. So
 * every operation goes through a queue: a transaction holds the connection
 * from BEGIN to COMMIT, and a plain read waits for it. Queries themselves are
 * microseconds, so the queue costs little.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  type CloseOptions,
  openTransaction,
  settlesWithin,
  type Database,
  type Dialect,
  type SqlExecutor,
  type SqlValue,
  type Transaction,
} from './database';

const dialect: Dialect = {
  name: 'sqlite',
  // AUTOINCREMENT guarantees keys are never reused, even after deletes.
  serialPrimaryKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  forUpdate: '',
  isUniqueViolation(err: unknown): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
};

function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

/** A prepared statement that returns rows as arrays, and the names of its columns. */
interface Query {
  stmt: BetterSqlite3.Statement;
  columns: string[];
}

/**
 * The row object better-sqlite3 would have made: a property per column in
 * column order, a later column of the same name winning, as there.
 */
function toRow(columns: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
  return row;
}

class SqliteDatabase implements Database {
  readonly dialect = dialect;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly queries = new Map<string, Query>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exec: SqlExecutor;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.exec = {
      dialect,
      all: async <T>(sql: string, params: readonly SqlValue[] = []) => {
        const q = this.query(sql);
        const rows = q.stmt.all(...bind(params)) as unknown[][];
        const out = new Array<T>(rows.length);
        for (let i = 0; i < rows.length; i++) out[i] = toRow(q.columns, rows[i]!) as T;
        return out;
      },
      get: async <T>(sql: string, params: readonly SqlValue[] = []) => {
        const q = this.query(sql);
        const row = q.stmt.get(...bind(params)) as unknown[] | undefined;
        return row === undefined ? undefined : (toRow(q.columns, row) as T);
      },
      run: async (sql: string, params: readonly SqlValue[] = []) => this.prepare(sql).run(...bind(params)).changes,
    };
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * A statement that returns rows, set to hand them over as arrays: better-sqlite3
   * builds each row object through its native API, which for a page of 200 apps
   * costs about twice what building the same objects here does (see `npm run bench`).
   */
  private query(sql: string): Query {
    let q = this.queries.get(sql);
    if (!q) {
      const stmt = this.db.prepare(sql).raw(true);
      q = { stmt, columns: stmt.columns().map((c) => c.name) };
      this.queries.set(sql, q);
    }
    return q;
  }

  /** Runs `fn` once everything queued before it has finished. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.serialize(() => this.exec.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.serialize(() => this.exec.get<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.serialize(() => this.exec.run(sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.serialize(async () => {
      // IMMEDIATE takes the write lock up front, so another process (an
      // operator command) cannot make us fail half-way with SQLITE_BUSY.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        // The whole transaction already excludes every other: nothing to lock per tenant.
        const result = await fn(openTransaction(this.exec, async () => undefined));
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    const queued = this.serialize(async () => {
      if (this.db.open) this.db.close();
    });
    if (await settlesWithin(queued, opts.graceMs)) return queued;
    // Out of grace: a transaction still holds the queue (its request was cut
    // off). Closing the connection under it rolls it back; its next statement
    // fails, which nobody reads any more.
    if (this.db.open) this.db.close();
    return undefined;
  }
}

/**
 * Creates a database file that does not exist yet with mode 0600, so that
 * only the service's user can read it (it holds token and secret hashes and
 * the audit log). SQLite gives the -wal and -shm files it creates next to it
 * the mode of the main file, so they are 0600 too. An existing file keeps
 * its mode: an operator who made it readable to a backup group meant it.
 */
function createPrivately(file: string): void {
  try {
    // 'wx' fails if the file exists, so an existing database is never touched;
    // the mode is masked by the umask, which can only take bits away.
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Opens (creating when missing) a SQLite database file. */
export function openSqlite(file: string): Database {
  if (file !== ':memory:') {
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) {
      throw new Error(`cannot open database ${JSON.stringify(file)}: directory ${dir} does not exist`);
    }
  }
  // ':memory:' and URI names ('file:...') name no plain file to create.
  if (file !== ':memory:' && file !== '' && !file.startsWith('file:')) createPrivately(file);
  const db = new BetterSqlite3(file);
  // WAL lets operator commands and the service use the file at the same time;
  // the busy timeout makes them wait for each other instead of failing.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  return new SqliteDatabase(db);
}
