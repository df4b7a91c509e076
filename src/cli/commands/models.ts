/** `daguerre models`: the model packages found, and why a broken one is refused. */
import type { Command } from 'commander';
import { defaultModelDirs } from '../../main/core';

export function registerModelsCommand(program: Command): void {
  program
    .command('models')
    .description('list model packages')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      // Cards only (schema, files present): no onnxruntime session is opened to list packages.
      const { listPackages, int8GateFailure } = await import('../../engine/catalogue');
      // int8: 'auto' (shipped and within its quality gate: precision auto uses it on the CPU), 'available' (shipped,
      // gate not passed: only --precision int8), or none.
      const int8 = (m: (typeof list)[number]) => (m.card?.files.denoiserInt8 ? (int8GateFailure(m.card) ? 'available' : 'auto') : null);
      const list = listPackages(defaultModelDirs());
      if (o.json) {
        process.stdout.write(JSON.stringify(list.map((m) => ({ id: m.id, ok: m.ok, error: m.error, dir: m.dir, task: m.card?.task, scales: m.card?.scales, trainedOn: m.card?.trainedOn, int8: m.ok ? int8(m) : null })), null, 2) + '\n');
        return;
      }
      if (!list.length) process.stdout.write('no model packages found (models/ is empty); classic methods bicubic and lanczos still work\n');
      for (const m of list) process.stdout.write(m.ok ? `${m.id}  ${m.card!.task} x${m.card!.scales.join('/x')}  ${m.card!.trainedOn}-trained${int8(m) ? `  int8 (${int8(m)})` : ''}  ${m.dir}\n` : `${m.id}  BROKEN: ${m.error}\n`);
    });
}
