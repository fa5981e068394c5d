/**
 * The baseline of the service reads: a bare fastify (no logger, no hooks,
 * no authentication, no database, no schema) answering the two read routes
 * with the JSON bodies the real service gave, read from the file named by
 * the first argument. It prints its URL on stdout, then serves until SIGTERM.
 *
 *   node dist/scripts/bench/baseline-server.js BODIES.json
 */
import * as fs from 'node:fs';
import Fastify from 'fastify';

/** The bodies the baseline serves: those of `GET /v1/apps/{id}` and `GET /v1/apps?limit=…`. */
export interface BaselineBodies {
  app: unknown;
  page: unknown;
}

async function main(): Promise<void> {
  const bodies = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as BaselineBodies;
  const app = Fastify({ logger: false });
  app.get('/v1/apps/:id', async () => bodies.app);
  app.get('/v1/apps', async () => bodies.page);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${address}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

main().catch((e: unknown) => {
  process.stderr.write(`baseline-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
