import { stopSharedCluster } from './postgres';

/** Jest global teardown of the acceptance project: stops PostgreSQL if a test file started it. */
export default async function globalTeardown(): Promise<void> {
  await stopSharedCluster();
}
