import { startCluster } from './postgres';

/** Jest global setup: one PostgreSQL cluster for the whole run (see postgres.ts). */
export default async function globalSetup(): Promise<void> {
  process.env.CHECKPOINT_DISABLE = '1';
  await startCluster();
}
