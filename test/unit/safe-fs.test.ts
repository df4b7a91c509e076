import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { writeAtomic } from '../../src/engine/image-io';
import { sweepStaleTemps } from '../../src/engine/safe-fs';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dg-safefs-'));

describe('writeAtomic and temp sweep (issue 14 item 5)', () => {
  it('leaves no temp file when the rename fails (target is a folder)', async () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, 'out.png'));
    fs.writeFileSync(path.join(d, 'out.png', 'x'), 'x');
    await expect(writeAtomic(path.join(d, 'out.png'), Buffer.from('data'))).rejects.toThrow();
    expect(fs.readdirSync(d)).toEqual(['out.png']);
  });
  it('writes a 244-character legal name', async () => {
    const d = tmp();
    const name = 'n'.repeat(240) + '.png';
    await writeAtomic(path.join(d, name), Buffer.from('data'));
    expect(fs.readdirSync(d)).toEqual([name]);
  });
  it('sweeps only stale files of our pattern', async () => {
    const d = tmp();
    const dead = path.join(d, '.dg-999999999-abcdef.tmp');
    const live = path.join(d, `.dg-${process.pid}-abcdef.tmp`);
    const other = path.join(d, '.dg-999999999-abcdef.tmp.keep');
    for (const f of [dead, live, other]) fs.writeFileSync(f, 'x');
    const removed = await sweepStaleTemps(d);
    expect(removed).toEqual([dead]);
    expect(fs.readdirSync(d).sort()).toEqual([path.basename(live), path.basename(other)].sort());
  });
});

describe('output folder that cannot be made', () => {
  it('names the output and the reason in one line instead of a raw errno', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dg-ro-'));
    // A file where a folder is needed fails for root too (a chmod'ed folder would not).
    fs.writeFileSync(path.join(base, 'blocker'), 'x');
    const out = path.join(base, 'blocker', 'sub', 'a.png');
    await expect(writeAtomic(out, Buffer.from('png'))).rejects.toThrow(`${out}: cannot create the output folder ${path.dirname(out)} (part of the path is not a folder)`);
  });
});
