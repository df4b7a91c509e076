/**
 * The shipped int8 denoiser through the engine (models/natural-x4, card files.denoiserInt8): a restore
 * with precision 'int8' (and 'auto' on the cpu) runs the int8 network, records it in info.precision, and
 * its output is close to the fp32 restore of the same photo and seed; 'fp32' is the float network exactly
 * as before the setting existed (byte-identical to loadModel's default session).
 *
 * Tolerance (a 48² crop of a real photo ×4, 4 tiles, skipdiff:0.5, seed 0): PSNR of the int8 output
 * against the fp32 output ≥ 45 dB, mean |Δ| ≤ 0.5 and max |Δ| ≤ 8 levels of 255, and not identical (it is
 * another network). Measured here: 56.7 dB, mean 0.14, max 3 (bench/int8/README.md: max 4 on Set14 crops).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/engine/catalogue';
import { loadModel, restoreDiffusion } from '../../src/engine/diffusion/index';
import { f32ToU8, type ImageF32 } from '../../src/engine/image';
import { runRestore } from '../../src/engine/restore';
import { requirePrereq } from '../prereq';

const NATURAL = new URL('../../models/natural-x4/', import.meta.url).pathname;
const PHOTO = new URL('../../../shared/data/real/lowres/people_astronaut_512.png', import.meta.url).pathname;
const HAS_INT8 = requirePrereq('models/natural-x4 with its int8 denoiser', existsSync(join(NATURAL, 'denoiser-int8.onnx')), `${NATURAL}denoiser-int8.onnx not found`);
const HAS_PHOTO = requirePrereq('shared photos', existsSync(PHOTO), `${PHOTO} not found (../shared absent)`);
const tmp = mkdtempSync(join(tmpdir(), 'daguerre-int8-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 48² crop (a textured part of the photo: the suit and the flag) as the LR. */
async function crop(): Promise<{ file: string; lr: ImageF32 }> {
  const file = join(tmp, 'crop.png');
  await sharp(PHOTO).extract({ left: 300, top: 330, width: 48, height: 48 }).removeAlpha().png().toFile(file);
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { file, lr: { width: info.width, height: info.height, data: Float32Array.from(data, (v) => v / 255) } };
}

function compare(a: Uint8Array, b: Uint8Array) {
  let se = 0;
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    se += d * d;
    sum += d;
    if (d > max) max = d;
  }
  const mse = se / a.length;
  return { psnr: mse ? 10 * Math.log10((255 * 255) / mse) : Infinity, mean: sum / a.length, max };
}

describe.skipIf(!HAS_INT8 || !HAS_PHOTO)('int8 denoiser in the engine (models/natural-x4)', () => {
  it('int8 runs the int8 network, within tolerance of fp32; fp32 is byte-identical to the default float session', async () => {
    const { lr } = await crop();
    const opts = { scale: 4, sampler: 'skipdiff', fidelity: 0.5, seed: 0 };
    const fp = await openModel(NATURAL, { threads: 2, precision: 'fp32' });
    const q = await openModel(NATURAL, { threads: 2, precision: 'int8' });
    expect(fp.model.precision).toBe('fp32');
    expect(q.model.precision).toBe('int8');
    const a = f32ToU8((await restoreDiffusion(fp.model, lr, opts)).image).data;
    const b = f32ToU8((await restoreDiffusion(q.model, lr, opts)).image).data;
    // fp32 through the precision setting: the same bytes as the float package opened as before (loadModel's default)
    const plain = await loadModel(NATURAL, { threads: 2 });
    const c = f32ToU8((await restoreDiffusion(plain, lr, opts)).image).data;
    await plain.denoiser.release();
    await plain.policy?.release();
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(true);
    const d = compare(a, b);
    console.log(`int8 vs fp32 (48² → 192², skipdiff:0.5): PSNR ${d.psnr.toFixed(2)} dB, mean |Δ| ${d.mean.toFixed(3)}, max |Δ| ${d.max}`);
    expect(d.max).toBeGreaterThan(0);
    expect(d.psnr).toBeGreaterThanOrEqual(45);
    expect(d.mean).toBeLessThanOrEqual(0.5);
    expect(d.max).toBeLessThanOrEqual(8);
  }, 120_000);

  it("runRestore: 'auto' on the cpu runs int8 and records it; 'fp32' records fp32; no setting is fp32", async () => {
    const { file } = await crop();
    const run = async (precision?: 'auto' | 'fp32' | 'int8') => {
      const output = join(tmp, `out-${precision ?? 'none'}.png`);
      const r = await runRestore({ input: file, output, params: { scale: 4, method: 'natural-x4', fidelity: 0.5, seed: 0, sampler: 'skipdiff' }, format: 'png', modelDirs: [join(NATURAL, '..')], threads: 2, provider: 'cpu', precision });
      return { info: r.info, bytes: readFileSync(output) };
    };
    const auto = await run('auto');
    expect(auto.info.precision).toMatchObject({ setting: 'auto', precision: 'int8' });
    expect((auto.info.precision as { reason: string }).reason).toMatch(/^auto: int8 on the cpu \(its card: ΔPSNR -0.008 dB/);
    const fp = await run('fp32');
    expect(fp.info.precision).toEqual({ setting: 'fp32', precision: 'fp32', reason: 'fp32 asked' });
    const none = await run();
    expect(none.info.precision).toMatchObject({ setting: null, precision: 'fp32' });
    expect(none.bytes.equals(fp.bytes)).toBe(true);
    expect(auto.bytes.equals(fp.bytes)).toBe(false);
  }, 120_000);
});
