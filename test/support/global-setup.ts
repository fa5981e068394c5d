import { prepareSharedCluster } from './postgres';

/**
 * Jest global setup of the acceptance project. Starts nothing: the first test
 * file that asks for a PostgreSQL database starts the run's cluster (see
 * postgres.ts); this only makes the folder through which the workers share it.
 */
export default async function globalSetup(): Promise<void> {
  process.env.CHECKPOINT_DISABLE = '1';
  prepareSharedCluster();
}
