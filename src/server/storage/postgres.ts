/**
 * PostgreSQL back end (pg). Queries are written with `?` placeholders for
 * both dialects and numbered here; the service never puts a literal `?` in SQL.
 */
import { Pool, types as pgTypes, type PoolClient } from 'pg';
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
  name: 'postgres',
  serialPrimaryKey: 'BIGSERIAL PRIMARY KEY',
  forUpdate: ' FOR UPDATE',
  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === '23505';
  },
};

const INT8_OID = 20;

/**
 * First key of the tenant write lock (`pg_advisory_xact_lock(class, hashtext(tenant))`).
 * Two-key advisory locks never clash with the migration lock's one-key space;
 * two tenants whose ids hash alike merely wait for each other.
 */
const TENANT_WRITE_LOCK = 4242002;

/**
 * BIGSERIAL keys arrive as strings by default; ours stay far below 2^53, so
 * numbers keep both back ends returning the same types. Set per pool, not
 * globally, so other pg users in the process are unaffected.
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pgTypes.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

const numbered = new Map<string, string>();
function toPg(sql: string): string {
  let out = numbered.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numbered.set(sql, out);
  }
  return out;
}

function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

type Queryable = Pick<Pool, 'query'> | PoolClient;

function executor(q: Queryable): SqlExecutor {
  return {
    dialect,
    async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const res = await q.query(toPg(sql), bind(params));
      return res.rows as T[];
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
      const res = await q.query(toPg(sql), bind(params));
      return res.rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      const res = await q.query(toPg(sql), bind(params));
      return res.rowCount ?? 0;
    },
  };
}

class PostgresDatabase implements Database {
  readonly dialect = dialect;
  private readonly direct: SqlExecutor;
  /** Clients checked out of the pool right now (transactions and single queries), to cut off on a bounded close. */
  private readonly busy = new Set<PoolClient>();
  private ending: Promise<void> | undefined;

  constructor(private readonly pool: Pool) {
    this.direct = executor(pool);
    pool.on('acquire', (client) => this.busy.add(client));
    pool.on('release', (_err, client) => this.busy.delete(client));
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const exec = executor(client);
        const tx = openTransaction(exec, async (tenantId) => {
          await exec.get('SELECT pg_advisory_xact_lock(?, hashtext(?))', [TENANT_WRITE_LOCK, tenantId]);
        });
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is unusable; do not hand it out again
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    // pool.end() waits for every checked-out client to come back, so a
    // transaction stuck on a lock would hold a shutdown forever.
    this.ending ??= this.pool.end();
    if (await settlesWithin(this.ending, opts.graceMs)) return this.ending;
    // Out of grace: end the busy connections. Their queries fail, their
    // transactions roll back on the server (locks released), the requests
    // they served get errors nobody reads, and the pool can finish ending.
    for (const client of [...this.busy]) {
      client.end().catch(() => undefined);
    }
    return this.ending;
  }
}

/** Connects to PostgreSQL and checks the connection works. */
export async function openPostgres(url: string): Promise<Database> {
  const pool = new Pool({ connectionString: url, max: 10, types: typeParsers });
  // An idle client can lose its server (restart, network); without a listener
  // the pool's 'error' event would crash the process.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new PostgresDatabase(pool);
}
