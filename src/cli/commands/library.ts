/** `daguerre library <list|import|remove|results>`: the app's library from a terminal. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { createCore, type Core } from '../../main/core';
import { defaultLibraryDir } from '../lib/paths';
import { errLine } from '../lib/terminal';

async function withCore<T>(libDir: string | undefined, roots: string[], fn: (core: Core) => Promise<T>): Promise<T> {
  const core = await createCore({ dataDir: libDir ? path.resolve(libDir) : defaultLibraryDir(), grantedRoots: roots, startQueue: false });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

export function registerLibraryCommand(program: Command): void {
  const lib = program.command('library').description('the photo library shared with the app').option('--library <dir>', 'library folder (default: the app’s)');
  const libDir = () => lib.opts().library as string | undefined;
  const setCode = (c: number) => program.setOptionValue('exitCode', c);

  lib
    .command('list')
    .description('list photos')
    .option('--sort <key>', 'added | name | processed', 'added')
    .option('--search <text>', 'filter by name', '')
    .option('--json', 'JSON output')
    .action(async (o: { sort: string; search: string; json?: boolean }) => {
      await withCore(libDir(), [], async (core) => {
        const r = await core.dispatch('library.list', { sort: o.sort, search: o.search, limit: 20000 });
        if (!r.ok) {
          errLine(`error: ${r.error.message}`);
          return setCode(1);
        }
        const v = r.value as { items: { id: number; name: string; width: number; height: number; resultCount: number; path: string }[]; total: number };
        if (o.json) process.stdout.write(JSON.stringify(v, null, 2) + '\n');
        else {
          for (const p of v.items) process.stdout.write(`${String(p.id).padStart(6)}  ${`${p.width}×${p.height}`.padEnd(11)} ${String(p.resultCount).padStart(3)} results  ${p.path}\n`);
          process.stdout.write(`${v.total} photo(s)\n`);
        }
      });
    });

  lib
    .command('import')
    .description('import files or folders (by reference; originals are never written)')
    .argument('<paths...>')
    .option('--json', 'JSON output')
    .action(async (paths: string[], o: { json?: boolean }) => {
      const abs = paths.map((p) => path.resolve(p));
      await withCore(libDir(), abs, async (core) => {
        const r = await core.dispatch('library.import', { paths: abs });
        if (!r.ok) {
          errLine(`error: ${r.error.message}`);
          return setCode(1);
        }
        const v = r.value as { imported: { path: string }[]; duplicates: { path: string; existingId: number }[]; failed: { error: string }[] };
        if (o.json) process.stdout.write(JSON.stringify(v, null, 2) + '\n');
        else {
          for (const f of v.failed) errLine(`error: ${f.error}`);
          process.stdout.write(`${v.imported.length} imported, ${v.duplicates.length} already in the library, ${v.failed.length} failed\n`);
        }
        if (v.failed.length) setCode(1);
      });
    });

  lib
    .command('remove')
    .description('remove photos from the library (originals untouched)')
    .argument('<ids...>')
    .action(async (ids: string[]) => {
      await withCore(libDir(), [], async (core) => {
        const r = await core.dispatch('library.remove', { ids: ids.map(Number) });
        if (!r.ok) {
          errLine(`error: ${r.error.message}`);
          return setCode(1);
        }
        process.stdout.write(`${(r.value as { removed: number }).removed} removed\n`);
      });
    });

  lib
    .command('merge')
    .description('fold shard libraries (restore --shard) into one: no duplicate photos or results, sources and originals untouched')
    .argument('<libraries...>', 'shard library folders (e.g. <output>/.daguerre-shards/*)')
    .option('--into <dir>', 'library to merge into (default: --library, else the app’s)')
    .option('--json', 'JSON output')
    .action(async (dirs: string[], o: { into?: string; json?: boolean }) => {
      const { mergeLibraries } = await import('../../main/merge');
      try {
        const r = mergeLibraries(dirs, o.into ?? libDir() ?? defaultLibraryDir());
        if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else process.stdout.write(`${r.photosAdded} photo(s) and ${r.resultsAdded} result(s) added from ${dirs.length} librar${dirs.length > 1 ? 'ies' : 'y'} → ${r.into} (now ${r.photos} photos, ${r.results} results)\n`);
      } catch (e) {
        errLine(`daguerre: ${(e as Error).message.split('\n')[0]}`);
        setCode(1);
      }
    });

  lib
    .command('results')
    .description("list a photo's results")
    .argument('<photoId>')
    .option('--json', 'JSON output')
    .action(async (id: string, o: { json?: boolean }) => {
      await withCore(libDir(), [], async (core) => {
        const r = await core.dispatch('results.list', { photoId: Number(id) });
        if (!r.ok) {
          errLine(`error: ${r.error.message}`);
          return setCode(1);
        }
        const v = r.value as { id: number; method: string; scale: number; knob: number | null; calls: number; durationMs: number; outputPath: string }[];
        if (o.json) process.stdout.write(JSON.stringify(v, null, 2) + '\n');
        else for (const x of v) process.stdout.write(`${x.id}  ${x.method} x${x.scale} knob=${x.knob ?? '-'} calls=${x.calls} ${x.durationMs} ms  ${x.outputPath}\n`);
      });
    });
}
