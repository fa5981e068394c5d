/**
 * `appreg serve`: runs the registration service until SIGTERM or SIGINT,
 * then finishes the requests in flight and exits 0.
 */
import type { Command } from 'commander';
// A module without dependencies: `--help` and other commands do not load the service.
import { DEFAULT_RATE_LIMIT } from '../server/http/ratelimit';

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--port must be a port number 0-65535 (got ${JSON.stringify(v)})`);
  return n;
}

function parseRate(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n)) {
    throw new Error(`--rate-limit must be requests per second per token, 0 or more (got ${JSON.stringify(v)})`);
  }
  return n;
}

/** Registers `serve` on the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the registration service (logs JSON lines on stderr)')
    .option('--db <db>', 'SQLite file, or a postgres:// URL (env APPREG_DB)', process.env.APPREG_DB ?? './appreg.db')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8787')
    .option(
      '--rate-limit <n>',
      `requests per second per token, 0 is off (env APPREG_RATE_LIMIT)`,
      process.env.APPREG_RATE_LIMIT ?? String(DEFAULT_RATE_LIMIT),
    )
    .action(async (o: { db: string; host: string; port: string; rateLimit: string }) => {
      // Loaded here, not at the top, so that other commands do not pay for loading the service.
      const { startService } = await import('../server/service');
      const service = await startService({
        db: o.db,
        host: o.host,
        port: parsePort(o.port),
        rateLimit: parseRate(o.rateLimit),
      });
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          // A second signal means "now": give up on the requests in flight.
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: `appreg serve stopping on ${signal}` })}\n`);
        service.close().then(
          () => {
            process.exitCode = 0;
          },
          (err: unknown) => {
            process.stderr.write(`appreg: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
