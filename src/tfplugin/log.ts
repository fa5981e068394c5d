/**
 * Logging for the protocol layer. Everything goes to stderr: stdout belongs
 * to the handshake. Terraform reads a provider's stderr and files each line
 * under the level its `[LEVEL]` prefix names, so `TF_LOG_PROVIDER=DEBUG`
 * shows them in Terraform's log.
 */

/** Log levels, most verbose first (Terraform's names). */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const ORDER: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Where the protocol layer reports what it does. */
export interface Logger {
  trace(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * The level Terraform asked for, if any: `TF_LOG_PROVIDER` wins over
 * `TF_LOG` (both reach the provider through its environment). `JSON` means
 * trace, as in Terraform.
 */
export function levelFromEnv(env: NodeJS.ProcessEnv, fallback: LogLevel): LogLevel {
  const raw = (env.TF_LOG_PROVIDER || env.TF_LOG || '').toLowerCase();
  if (raw === 'json') return 'trace';
  return (ORDER as string[]).includes(raw) ? (raw as LogLevel) : fallback;
}

/** A logger writing `[LEVEL] name: message` lines at or above `level`. */
export function stderrLogger(name: string, level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = ORDER.indexOf(level);
  const at =
    (lvl: LogLevel) =>
    (msg: string): void => {
      if (ORDER.indexOf(lvl) < min) return;
      // One line per message, so Terraform files every part under the same level.
      write(`[${lvl.toUpperCase()}] ${name}: ${msg.replace(/\n/g, '\n    ')}\n`);
    };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
