/** The bench's GFLOP / image column: calls × the card's gflopsPerCall128 (issue 19). */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchMarkdown, runBench } from '../../src/cli/commands/bench';
import { readImageU8, writeImageU8 } from '../../src/engine/metrics/io';

const ROOT = path.resolve(__dirname, '../..');
const TINY = path.join(ROOT, 'test/fixtures/models/tiny-x4');
const hasEngine = existsSync(path.join(ROOT, 'src/engine/diffusion/index.ts')) && existsSync(path.join(TINY, 'card.json'));

async function oneImageSet(): Promise<string> {
  const set = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-gflops-')), 'set');
  mkdirSync(set);
  const img = await readImageU8(path.join(ROOT, 'test/fixtures/metrics/synthetic.png'));
  const w = 64;
  const data = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) data.set(img.data.subarray(((y + 40) * img.width) * 3, ((y + 40) * img.width + w) * 3), y * w * 3);
  await writeImageU8({ width: w, height: w, channels: 3, data }, path.join(set, 'img0.png'));
  return set;
}

/** A models folder holding tiny-x4 with `metrics` replaced. */
function modelsWith(metrics: Record<string, unknown> | undefined): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-gflops-models-'));
  const to = path.join(dir, 'tiny-x4');
  mkdirSync(to);
  const card = JSON.parse(readFileSync(path.join(TINY, 'card.json'), 'utf8'));
  for (const f of [card.files.denoiser, card.files.policy].filter(Boolean)) copyFileSync(path.join(TINY, f), path.join(to, f));
  if (metrics) card.metrics = { ...(card.metrics ?? {}), ...metrics };
  else delete card.metrics;
  writeFileSync(path.join(to, 'card.json'), JSON.stringify(card));
  return dir;
}

describe('bench: GFLOP / image', () => {
  it.skipIf(!hasEngine)('is calls × gflopsPerCall128 × (tile / 128)² for diffusion methods, – for classic ones', async () => {
    const set = await oneImageSet();
    const card = JSON.parse(readFileSync(path.join(TINY, 'card.json'), 'utf8'));
    const r = await runBench({ set, scale: '4', methods: 'bicubic,fixed:3', modelsDir: modelsWith({ gflopsPerCall128: 0.5 }), model: 'tiny-x4', threads: '1' });
    const [bic, fx] = r.methods;
    expect(fx.available).toBe(true);
    expect(fx.calls).toBeGreaterThan(0);
    expect(r.gflopsPerCall128).toBe(0.5);
    expect(fx.gflopsPerImage).toBeCloseTo(fx.calls * 0.5 * (card.tile.size / 128) ** 2, 9);
    expect(bic.gflopsPerImage).toBeNull();
    const md = benchMarkdown(r);
    expect(md).toMatch(/\| calls \/ image \(per tile\) \| GFLOP \/ image \|/);
    const row = md.split('\n').find((l) => l.startsWith('| fixed:3 |'))!;
    const cells = row.split('|').map((c) => c.trim());
    const header = md.split('\n').find((l) => l.startsWith('| method |'))!.split('|').map((c) => c.trim());
    expect(cells[header.indexOf('GFLOP / image')]).toBe(fx.gflopsPerImage!.toFixed(0));
    expect(md.split('\n').find((l) => l.startsWith('| bicubic |'))!.split('|').map((c) => c.trim())[header.indexOf('GFLOP / image')]).toBe('–');
    expect(md).toMatch(/0\.5 GFLOP per 128² call/);
  });

  it.skipIf(!hasEngine)('is n/a when the card has no gflopsPerCall128', async () => {
    const set = await oneImageSet();
    const r = await runBench({ set, scale: '4', methods: 'fixed:2', modelsDir: modelsWith(undefined), model: 'tiny-x4', threads: '1' });
    expect(r.gflopsPerCall128).toBeNull();
    expect(r.methods[0].gflopsPerImage).toBeNull();
    expect(benchMarkdown(r)).not.toMatch(/GFLOP per 128² call/);
  });
});
