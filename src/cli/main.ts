/**
 * The `appreg` command line: a small dispatcher. Each command lives in its
 * own file and registers itself on the program; add new ones to COMMANDS.
 */
import { Command, CommanderError } from 'commander';
import { registerAdmin } from './admin';
import { registerDriftCommand } from './drift';
import { registerPlanSummaryCommand } from './plan-summary';
import { registerProviderCommands } from './provider-install';
import { registerServe } from './serve';
import { VERSION } from '../version';

/** Every top-level command's registration function. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerServe, registerAdmin, registerProviderCommands, registerDriftCommand, registerPlanSummaryCommand];

/** Builds the program (exported for tests that drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('appreg')
    .description('OAuth 2.0 app registrations as code: the registration service, operator commands, provider install, drift, plan summaries')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help text).
      return err.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(`appreg: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    // Commands that keep running (serve) set their own exit; the others end here.
    if (code !== 0) process.exitCode = code;
  });
}
