/** The `daguerre` command line: same engine, library and queue as the app. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerRestoreCommand } from './commands/restore';
import { registerLibraryCommand } from './commands/library';
import { registerModelsCommand } from './commands/models';
import { errLine } from './lib/terminal';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Commands contributed by other modules register themselves when their file exists. */
async function registerOptional(program: Command, file: string, fn: string): Promise<void> {
  const p = path.join(here, file);
  if (!fs.existsSync(p + '.ts') && !fs.existsSync(p + '.js')) return;
  const mod = (await import(`./${file}`)) as Record<string, (p: Command) => void>;
  mod[fn]?.(program);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program.name('daguerre').description('Restore and enlarge photographs (SkipDiff diffusion super-resolution)').version('0.1.0');
  program.exitOverride();
  program.setOptionValue('exitCode', 0);
  registerRestoreCommand(program);
  registerLibraryCommand(program);
  registerModelsCommand(program);
  await registerOptional(program, 'commands/metrics', 'registerMetricsCommand');
  await registerOptional(program, 'commands/bench', 'registerBenchCommand');
  await registerOptional(program, 'commands/doctor', 'registerDoctorCommand');
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    errLine(`daguerre: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    // A library another process owns (or that cannot be written) exits 2: nothing was attempted.
    return (e as { exitCode?: unknown }).exitCode === 2 ? 2 : 1;
  }
  return (program.getOptionValue('exitCode') as number) ?? 0;
}
