/**
 * Standalone runner for the quality/speed benchmark (the same code as `daguerre bench`):
 *   npx tsx bench/bench.ts --set ../shared/data/faces/val --scale 8 --n 16 --json bench/results/faces-x8.json ...
 * See bench/README-metrics.md.
 */
import { Command } from 'commander';
import { registerBenchCommand } from '../src/cli/commands/bench';

const program = new Command('bench');
registerBenchCommand(program);
await program.parseAsync(['bench', ...process.argv.slice(2)], { from: 'user' });
