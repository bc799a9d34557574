import pg from 'pg';

/**
 * The one PostgreSQL pool of a process: the LangGraph checkpointer, the
 * thread index and the approval store share it.
 */
export function openPostgres(url: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString: url, max });
}

/**
 * Runs DDL under a transaction-scoped advisory lock: replicas that start at
 * once would otherwise race on CREATE TABLE IF NOT EXISTS (PostgreSQL can
 * fail the loser with a duplicate key on its catalog).
 */
export async function migratePostgres(pool: pg.Pool, name: string, statements: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hks-aiops:${name}`]);
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
