import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { keepShard, resolveShard, shardKey, shardLibraryDir, shardOf, ShardError } from '../../src/cli/lib/shard';

const root = path.resolve('/archive/scans');
const files = (n: number, from = 0) => Array.from({ length: n }, (_, i) => path.join(root, `box${(i + from) % 17}`, `scan_${String(i + from).padStart(6, '0')}.tif`));

describe('shard', () => {
  it('keys are POSIX paths relative to the input root (folder name kept), independent of the mount point', () => {
    expect(shardKey(path.join(root, 'a', 'b.png'), [root])).toBe('scans/a/b.png');
    expect(shardKey(path.join('/mnt/other/scans', 'a', 'b.png'), ['/mnt/other/scans'])).toBe('scans/a/b.png');
    expect(shardKey('/x/y/one.jpg', ['/x/y/one.jpg'])).toBe('one.jpg');
  });

  it('stable, disjoint, covering and balanced within 10 % over 3000 files and 7 shards', () => {
    const all = files(3000);
    const parts = Array.from({ length: 7 }, (_, i) => keepShard([...all], [root], { index: i, count: 7, source: 'test' }));
    const seen = new Set<string>();
    for (const p of parts) for (const f of p) {
      expect(seen.has(f)).toBe(false);
      seen.add(f);
    }
    expect(seen.size).toBe(all.length);
    const mean = all.length / 7;
    for (const p of parts) expect(Math.abs(p.length - mean) / mean).toBeLessThan(0.1);
    // same answer twice, and a known value (sha1 of the key, first 32 bits, mod n) so a change of hash is noticed
    expect(keepShard([...all], [root], { index: 3, count: 7, source: 't' })).toEqual(parts[3]);
    expect(shardOf('scans/a/b.png', 1000)).toBe(parseInt(require('node:crypto').createHash('sha1').update('scans/a/b.png').digest('hex').slice(0, 8), 16) % 1000);
  });

  it('adding files moves none of the old ones', () => {
    const old = files(1000);
    const grown = [...old, ...files(200, 1000)];
    for (let i = 0; i < 4; i++) {
      const s = { index: i, count: 4, source: 't' };
      const before = new Set(keepShard([...old], [root], s));
      const after = keepShard([...grown], [root], s).filter((f) => old.includes(f));
      expect(new Set(after)).toEqual(before);
    }
  });

  it('resolves --shard, Slurm and Kubernetes settings; bad ones are one-line errors', () => {
    expect(resolveShard({}, {})).toBeNull();
    expect(resolveShard({ shard: '2/5' }, {})).toMatchObject({ index: 2, count: 5 });
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '5', SLURM_ARRAY_TASK_MIN: '1' })).toMatchObject({ index: 3, count: 5, source: 'SLURM_ARRAY_TASK_ID' });
    expect(resolveShard({ shardCount: '8' }, { JOB_COMPLETION_INDEX: '7' })).toMatchObject({ index: 7, count: 8, source: 'JOB_COMPLETION_INDEX' });
    expect(resolveShard({ shard: '0/2' }, { JOB_COMPLETION_INDEX: '7' })).toMatchObject({ index: 0, count: 2 });
    for (const [o, env, re] of [
      [{ shard: '3/3' }, {}, /--shard i must be an integer from 0 to 2/],
      [{ shard: '1-3' }, {}, /--shard must be i\/n/],
      [{ shard: '0/0' }, {}, /--shard n must be an integer from 1/],
      [{ shard: '0/2', shardCount: '3' }, {}, /disagree/],
      [{}, { JOB_COMPLETION_INDEX: '1' }, /--shard-count is not/],
      [{ shardCount: '4' }, {}, /needs --shard/],
      [{}, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '5', SLURM_ARRAY_TASK_STEP: '2' }, /contiguous/],
      [{}, { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '5' }, /outside 5 shards/],
    ] as const) {
      expect(() => resolveShard(o as never, env as never)).toThrow(ShardError);
      expect(() => resolveShard(o as never, env as never)).toThrow(re);
    }
    expect(shardLibraryDir('/out', { index: 1, count: 3, source: 't' })).toBe(path.resolve('/out/.daguerre-shards/shard-1-of-3'));
  });
});
