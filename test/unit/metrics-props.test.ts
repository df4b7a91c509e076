/** Properties of the metrics that need no reference numbers, the variant choice and the CLI command. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { ImageU8 } from '../../src/engine/image';
import { u8ToF32 } from '../../src/engine/image';
import { readImageU8, writeImageU8 } from '../../src/engine/metrics/io';
import {
  degradeU8,
  lrConsistency,
  niqe,
  noReferenceScore,
  ownNiqeParams,
  psnrY,
  resizeBicubicAA,
  rgbToY,
  ssimY,
  u8ToBuf,
} from '../../src/engine/metrics';
import { gmsdY } from '../../src/engine/metrics';
import { registerMetricsCommand, runMetricsCommand } from '../../src/cli/commands/metrics';

const ROOT = path.resolve(__dirname, '../..');
const SYN = path.join(ROOT, 'test/fixtures/metrics/synthetic.png');

function noisy(img: ImageU8, amp: number, seed = 1): ImageU8 {
  let s = seed >>> 0;
  const data = img.data.map((v) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.max(0, Math.min(255, v + Math.round(((s / 2 ** 32) * 2 - 1) * amp)));
  });
  return { ...img, data };
}

describe('full-reference metrics', () => {
  it('identical images: PSNR = Infinity, SSIM = 1', async () => {
    const a = await readImageU8(SYN);
    expect(psnrY(a, a, 4)).toBe(Infinity);
    expect(ssimY(a, a, 4)).toBeCloseTo(1, 12);
  });
  it('more noise lowers PSNR and SSIM; ImageF32 input equals its 8-bit version', async () => {
    const a = await readImageU8(SYN);
    const n1 = noisy(a, 4);
    const n2 = noisy(a, 16);
    expect(psnrY(n1, a, 4)).toBeGreaterThan(psnrY(n2, a, 4));
    expect(ssimY(n1, a, 4)).toBeGreaterThan(ssimY(n2, a, 4));
    expect(psnrY(u8ToF32(n1), a, 4)).toBeCloseTo(psnrY(n1, a, 4), 10);
  });
  it('Y of white / black is 235 / 16; grey images use R = G = B', () => {
    const img: ImageU8 = { width: 2, height: 1, channels: 3, data: new Uint8Array([255, 255, 255, 0, 0, 0]) };
    expect(Array.from(rgbToY(img).data).map((v) => +v.toFixed(9))).toEqual([235, 16]);
    const g: ImageU8 = { width: 1, height: 1, channels: 1, data: new Uint8Array([255]) };
    expect(rgbToY(g).data[0]).toBeCloseTo(235, 9);
  });
  it('size mismatch throws', async () => {
    const a = await readImageU8(SYN);
    expect(() => psnrY(a, degradeU8(a, 2))).toThrow(/size mismatch/);
  });
});

describe('NIQE variants', () => {
  it('picks the small-block variant under 192 px and the standard one otherwise', async () => {
    const a = await readImageU8(SYN); // 200 x 160
    const r = noReferenceScore(a);
    expect(r.variant).toBe('small');
    expect(r.blockSize).toBe(32);
    expect(Number.isFinite(r.score)).toBe(true);
    const big = resizeBicubicAA(u8ToBuf(a), 400, 320);
    const bigU8: ImageU8 = { width: 400, height: 320, channels: 3, data: Uint8Array.from(big.data, (v) => Math.max(0, Math.min(255, Math.round(v * 255)))) };
    const r2 = noReferenceScore(bigU8);
    expect(r2.variant).toBe('standard');
    expect(r2.blockSize).toBe(96);
  });
  it('a 128x128 image gets a finite small-block score; heavy blur scores worse than the original', async () => {
    const a = await readImageU8(SYN);
    const crop = new Uint8Array(128 * 128 * 3);
    for (let y = 0; y < 128; y++) crop.set(a.data.subarray(y * a.width * 3, (y * a.width + 128) * 3), y * 128 * 3);
    const img: ImageU8 = { width: 128, height: 128, channels: 3, data: crop };
    const { small } = ownNiqeParams();
    const s0 = niqe(img, small);
    const lr = degradeU8(img, 4);
    const up = resizeBicubicAA(u8ToBuf(lr), 128, 128);
    const blurred: ImageU8 = { width: 128, height: 128, channels: 3, data: Uint8Array.from(up.data, (v) => Math.max(0, Math.min(255, Math.round(v * 255)))) };
    expect(Number.isFinite(s0)).toBe(true);
    expect(niqe(blurred, small)).toBeGreaterThan(s0);
  });
  it('noReferenceScore never throws: a flat or tiny image gets NaN and a reason', () => {
    const flat: ImageU8 = { width: 128, height: 128, channels: 3, data: new Uint8Array(128 * 128 * 3).fill(77) };
    const r = noReferenceScore(flat);
    expect(r.score).toBeNaN();
    expect(r.error).toMatch(/NIQE needs at least 2 blocks/);
    const tiny: ImageU8 = { width: 20, height: 40, channels: 3, data: new Uint8Array(20 * 40 * 3).fill(7) };
    expect(noReferenceScore(tiny).error).toMatch(/smaller than one 32x32/);
  });
  it('too small for the block size: a clear error', async () => {
    const img: ImageU8 = { width: 100, height: 100, channels: 3, data: new Uint8Array(30000).fill(100) };
    expect(() => niqe(img, ownNiqeParams().standard)).toThrow(/NIQE/);
  });
});

describe('LR-consistency', () => {
  it('is infinite for the HR that produced the LR, finite for a perturbed output', async () => {
    const hr = await readImageU8(SYN);
    const lr = degradeU8(hr, 4);
    expect(lrConsistency(hr, lr)).toBe(Infinity);
    expect(lrConsistency(noisy(hr, 30), lr)).toBeLessThan(60);
  });
});

describe('engine bicubicResize agrees with the metrics resampler', () => {
  it.skipIf(!existsSync(path.join(ROOT, 'src/engine/diffusion/bicubic.ts')))('antialiased x4 down and plain x4 up', async () => {
    const { bicubicResize } = await import('../../src/engine/diffusion/bicubic');
    const { resizeBicubicTorch } = await import('../../src/engine/metrics');
    const a = await readImageU8(SYN);
    const f = u8ToF32(a);
    const eng = bicubicResize(f, 50, 40, { antialias: true });
    const ours = resizeBicubicAA(u8ToBuf(a), 50, 40);
    let m = 0;
    for (let i = 0; i < ours.data.length; i++) m = Math.max(m, Math.abs(eng.data[i] - ours.data[i]));
    expect(m).toBeLessThan(1e-5);
    const up = bicubicResize(eng, 200, 160);
    const ours2 = resizeBicubicTorch(ours, 200, 160);
    m = 0;
    for (let i = 0; i < ours2.data.length; i++) m = Math.max(m, Math.abs(up.data[i] - ours2.data[i]));
    expect(m).toBeLessThan(1e-5);
  });
});

describe('daguerre metrics command', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  it('prints PSNR/SSIM/LR-consistency/NIQE as JSON', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dm-'));
    const hr = await readImageU8(SYN);
    const out = noisy(hr, 6);
    await writeImageU8(out, path.join(dir, 'out.png'));
    await writeImageU8(degradeU8(hr, 4), path.join(dir, 'lr.png'));
    const r = await runMetricsCommand(path.join(dir, 'out.png'), { reference: SYN, lr: path.join(dir, 'lr.png') });
    expect(r.code).toBe(0);
    expect(r.result!.scale).toBe(4);
    expect(r.result!.psnr).toBeCloseTo(psnrY(out, hr, 4), 10);
    expect(r.result!.gmsd).toBeCloseTo(gmsdY(out, hr, 4), 10);
    expect(r.result!.msssim).toBeUndefined(); // 160 px high: under MS-SSIM's 161 px
    expect(r.result!.msssimError).toMatch(/161 px/);
    expect(r.result!.lrPsnr).toBeGreaterThan(30);
    expect(r.result!.noReference).toHaveProperty('variant', 'small');
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (writes.push(String(s)), true));
    const p = new Command('daguerre');
    registerMetricsCommand(p);
    await p.parseAsync(['metrics', path.join(dir, 'out.png'), '--reference', SYN, '--scale', '4', '--json'], { from: 'user' });
    const j = JSON.parse(writes.join(''));
    expect(j.psnr).toBeCloseTo(r.result!.psnr!, 10);
    expect(j.gmsd).toBeCloseTo(r.result!.gmsd!, 10);
  });
  it('errors are one line naming the file, exit code 1', async () => {
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dm-'));
    writeFileSync(path.join(dir, 'bad.png'), 'not an image');
    for (const [img, o, re] of [
      ['/nope/missing.png', {}, /missing\.png: not found/],
      [path.join(dir, 'bad.png'), {}, /bad\.png: cannot decode/],
      [SYN, { reference: path.join(ROOT, 'test/fixtures/metrics/reference.json') }, /reference\.json: cannot decode/],
      [SYN, { niqeParams: path.join(ROOT, 'package.json') }, /package\.json: not a NIQE parameter file/],
      [SYN, { scale: 'x' }, /--scale/],
    ] as const) {
      err.length = 0;
      const r = await runMetricsCommand(img, o as never);
      expect(r.code).toBe(1);
      expect(err.join('')).toMatch(re);
      expect(err.join('').trim().split('\n')).toHaveLength(1);
    }
  });
});
