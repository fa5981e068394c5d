import { Client } from 'pg';
import { createTestDatabase } from './postgres';

describe('test PostgreSQL cluster', () => {
  it('gives each caller a separate, empty database', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    expect(a).not.toEqual(b);
    const client = new Client({ connectionString: a });
    await client.connect();
    const { rows } = await client.query('select version() as v');
    await client.end();
    expect(rows[0].v).toMatch(/PostgreSQL 15/);
  });
});
