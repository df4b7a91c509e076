/**
 * Sharding a restore over a cluster's array job (issue 20): each file belongs to shard
 * hash(its path relative to the input root) mod n, so shards are disjoint, cover the list, and adding
 * files never moves an existing file to another shard (changing n does move most).
 *
 * The key is the POSIX path the output tree mirrors: `<folder name>/<path inside it>` for a file under
 * a folder argument, the file name for a file argument, so it is the same on every node whatever the
 * mount point. Shard indexes are 0-based: `--shard 0/3` .. `--shard 2/3`.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';

export interface Shard {
  index: number;
  count: number;
  /** Where the shard came from, for logs: '--shard', 'SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'. */
  source: string;
}

export class ShardError extends Error {}

/** The stable key of `file` (absolute) given the inputs as typed: POSIX, relative to its input root. */
export function shardKey(file: string, roots: readonly string[]): string {
  const abs = path.resolve(file);
  const root = roots.map((r) => path.resolve(r)).find((r) => abs.startsWith(r + path.sep));
  const rel = root ? path.join(path.basename(root), path.relative(root, abs)) : path.basename(abs);
  return rel.split(path.sep).join('/');
}

/** Shard of a key: the first 32 bits of sha1(key) mod count. */
export function shardOf(key: string, count: number): number {
  return createHash('sha1').update(key, 'utf8').digest().readUInt32BE(0) % count;
}

/** Keeps, in place and in order, only the files of `shard`; returns the same array. */
export function keepShard(files: string[], roots: readonly string[], shard: Shard | null): string[] {
  if (!shard) return files;
  let w = 0;
  for (const f of files) if (shardOf(shardKey(f, roots), shard.count) === shard.index) files[w++] = f;
  files.length = w;
  return files;
}

const intIn = (v: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) throw new ShardError(`${what} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (got "${v}")`);
  return Number(v);
};

/**
 * The shard this process restores, or null for all files. `--shard i/n` wins; else SLURM_ARRAY_TASK_ID
 * (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT (or --shard-count); else Kubernetes'
 * JOB_COMPLETION_INDEX of --shard-count. Throws a ShardError (one line) for a bad or incomplete setting.
 */
export function resolveShard(o: { shard?: string; shardCount?: string }, env: NodeJS.ProcessEnv = process.env): Shard | null {
  const countOpt = o.shardCount !== undefined ? intIn(o.shardCount, '--shard-count', 1) : undefined;
  if (o.shard !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(o.shard);
    if (!m) throw new ShardError(`--shard must be i/n with 0 <= i < n, e.g. 0/4 (got "${o.shard}")`);
    const count = intIn(m[2], '--shard n', 1);
    const index = intIn(m[1], '--shard i', 0, count - 1);
    if (countOpt !== undefined && countOpt !== count) throw new ShardError(`--shard ${o.shard} and --shard-count ${countOpt} disagree`);
    return { index, count, source: '--shard' };
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_ID !== '') {
    if (env.SLURM_ARRAY_TASK_STEP && env.SLURM_ARRAY_TASK_STEP !== '1') throw new ShardError(`SLURM array step is ${env.SLURM_ARRAY_TASK_STEP}: use a contiguous --array (e.g. 0-9) or pass --shard i/n`);
    const id = intIn(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID', 0);
    const min = env.SLURM_ARRAY_TASK_MIN ? intIn(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN', 0) : 0;
    const count = countOpt ?? (env.SLURM_ARRAY_TASK_COUNT ? intIn(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT', 1) : undefined);
    if (count === undefined) throw new ShardError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shard-count n');
    const index = id - min;
    if (index < 0 || index >= count) throw new ShardError(`SLURM array task ${id} (min ${min}) is outside ${count} shards: use a contiguous --array or pass --shard i/n`);
    return { index, count, source: 'SLURM_ARRAY_TASK_ID' };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== '') {
    if (countOpt === undefined) throw new ShardError('JOB_COMPLETION_INDEX is set but --shard-count is not: pass --shard-count <completions>');
    const index = intIn(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX', 0, countOpt - 1);
    return { index, count: countOpt, source: 'JOB_COMPLETION_INDEX' };
  }
  if (countOpt !== undefined) throw new ShardError('--shard-count needs --shard i/n, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX');
  return null;
}

/** A shard's own library (no SQLite shared over a network file system): `<output>/.daguerre-shards/shard-<i>-of-<n>`. */
export function shardLibraryDir(outDir: string, shard: Shard): string {
  return path.join(path.resolve(outDir), '.daguerre-shards', `shard-${shard.index}-of-${shard.count}`);
}
