import { stopCluster } from './postgres';

/** Jest global teardown: stops the cluster the global setup started. */
export default async function globalTeardown(): Promise<void> {
  await stopCluster();
}
