import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gflopsPerImage, ModelCard } from '../../src/shared/card';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tiny = JSON.parse(readFileSync(`${root}test/fixtures/models/tiny-x4/card.json`, 'utf8'));
const cards = readdirSync(`${root}models`)
  .filter((d) => existsSync(`${root}models/${d}/card.json`))
  .map((d) => ({ dir: `${root}models/${d}`, card: ModelCard.parse(JSON.parse(readFileSync(`${root}models/${d}/card.json`, 'utf8'))) }));
const py = '/usr/bin/python3';
const hasOnnx = (() => {
  try {
    execFileSync(py, ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('card: gflopsPerCall128', () => {
  it('is optional, positive, and kept beside the other metrics', () => {
    expect(ModelCard.parse(tiny).metrics?.gflopsPerCall128).toBeUndefined();
    const c = ModelCard.parse({ ...tiny, metrics: { msPerCall128: 10, gflopsPerCall128: 1.5 } });
    expect(c.metrics?.gflopsPerCall128).toBe(1.5);
    expect(c.metrics?.msPerCall128).toBe(10);
    expect(ModelCard.safeParse({ ...tiny, metrics: { gflopsPerCall128: -1 } }).success).toBe(false);
    expect(ModelCard.safeParse({ ...tiny, metrics: { gflopsPerCall128: '1.2' } }).success).toBe(false);
  });

  it('gflopsPerImage: calls x per-call, scaled to the tile area; null without the field', () => {
    const c = ModelCard.parse({ ...tiny, tile: { ...tiny.tile, size: 128 }, metrics: { gflopsPerCall128: 1.25 } });
    expect(gflopsPerImage(c, 19 * 361)).toBeCloseTo(19 * 361 * 1.25, 9);
    expect(gflopsPerImage({ ...c, tile: { ...c.tile, size: 64 } }, 8)).toBeCloseTo(8 * 1.25 / 4, 9);
    expect(gflopsPerImage(ModelCard.parse(tiny), 10)).toBeNull();
  });

  it('every shipped card records it', () => {
    expect(cards.length).toBeGreaterThan(0);
    for (const { card } of cards) expect(card.metrics?.gflopsPerCall128, card.id).toBeGreaterThan(0);
  });

  it.skipIf(!hasOnnx)('equals the count from the shipped denoiser graph (bench/onnx_flops.py)', () => {
    for (const { dir, card } of cards) {
      const out = execFileSync(py, [`${root}bench/onnx_flops.py`, `${dir}/${card.files.denoiser}`, '--size', '128', '--json'], { encoding: 'utf8' });
      const r = JSON.parse(out) as { gflops: number; unknownShapes: string[] };
      expect(r.unknownShapes, card.id).toEqual([]);
      expect(card.metrics!.gflopsPerCall128, card.id).toBeCloseTo(r.gflops, 3);
    }
  });
});
