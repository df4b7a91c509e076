/** 'auto' chooses the natural package by the photo's degradation (fixture cards in a temp models dir). */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { autoChoice } from '../../src/engine/restore';
import { readImageU8 } from '../../src/engine/metrics/io';
import { estimateTintSpread, ONE_TINT_SPREAD } from '../../src/engine/degradation';

const SRC = path.resolve(__dirname, '../fixtures/models/tiny-x4');
const SYN = path.resolve(__dirname, '../fixtures/metrics/synthetic-ms.png');

function pkg(dir: string, id: string, kind: string): void {
  const p = path.join(dir, id);
  fs.mkdirSync(p);
  for (const f of fs.readdirSync(SRC)) fs.copyFileSync(path.join(SRC, f), path.join(p, f));
  const card = JSON.parse(fs.readFileSync(path.join(p, 'card.json'), 'utf8'));
  card.id = id;
  card.degradation = { ...card.degradation, kind };
  fs.writeFileSync(path.join(p, 'card.json'), JSON.stringify(card));
}

describe("'auto' by degradation", () => {
  it('clean PNG -> bicubic model; JPEG q 60 -> real, else oldphoto, else the bicubic model', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'autodeg-'));
    const img = await readImageU8(SYN);
    const raw = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });
    const png = path.join(tmp, 'a.png');
    const jpg = path.join(tmp, 'a.jpg');
    await raw.clone().png().toFile(png);
    await raw.clone().jpeg({ quality: 60 }).toFile(jpg);
    const photo = async (f: string) => (await import('../../src/engine/image-io')).decodeImage(f).then((d) => d.rgb);
    const models = path.join(tmp, 'models');
    fs.mkdirSync(models);
    pkg(models, 'a-real-x4', 'real'); // sorts first: without the rule, auto would pick it for every photo
    pkg(models, 'b-bicubic-x4', 'bicubic');
    pkg(models, 'c-old-x4', 'oldphoto');
    const c1 = await autoChoice(await photo(png), png, 4, [models]);
    expect(c1.model).toBe('b-bicubic-x4');
    expect(c1.estimate.jpegQuality).toBeNull();
    expect(c1.reason).toMatch(/lossless/);
    const c2 = await autoChoice(await photo(jpg), jpg, 4, [models]);
    expect(c2.model).toBe('a-real-x4');
    expect(Math.abs(c2.estimate.jpegQuality! - 60)).toBeLessThanOrEqual(5);
    expect(c2.reason).toMatch(/degraded/);
    fs.rmSync(path.join(models, 'a-real-x4'), { recursive: true });
    expect((await autoChoice(await photo(jpg), jpg, 4, [models])).model).toBe('c-old-x4');
    fs.rmSync(path.join(models, 'c-old-x4'), { recursive: true });
    expect((await autoChoice(await photo(jpg), jpg, 4, [models])).model).toBe('b-bicubic-x4');
    expect((await autoChoice(await photo(jpg), jpg, 3, [models])).model).toBe('lanczos');
  });

  it('a lossless grey or one-tint (sepia) photo counts as an old print; a colour one does not', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'autotint-'));
    const models = path.join(tmp, 'models');
    fs.mkdirSync(models);
    pkg(models, 'a-real-x4', 'real');
    pkg(models, 'b-bicubic-x4', 'bicubic');
    const img = await readImageU8(SYN);
    const n = img.width * img.height;
    const toned = (tint: [number, number, number]) => {
      const d = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        const y = 0.299 * img.data[i * 3] + 0.587 * img.data[i * 3 + 1] + 0.114 * img.data[i * 3 + 2];
        for (let c = 0; c < 3; c++) d[i * 3 + c] = Math.max(0, Math.min(255, Math.round(y * tint[c])));
      }
      return { width: img.width, height: img.height, data: d };
    };
    const cases: [string, { width: number; height: number; data: Uint8Array }, string][] = [
      ['grey.png', toned([1, 1, 1]), 'a-real-x4'],
      ['sepia.png', toned([1.07, 0.95, 0.74]), 'a-real-x4'],
      ['colour.png', img, 'b-bicubic-x4'],
    ];
    for (const [name, im, want] of cases) {
      const f = path.join(tmp, name);
      await sharp(Buffer.from(im.data), { raw: { width: im.width, height: im.height, channels: 3 } }).png().toFile(f);
      const c = await autoChoice(im, f, 4, [models]);
      expect(c.model, `${name}: ${c.reason}`).toBe(want);
      if (want === 'a-real-x4') expect(c.reason).toMatch(/one tint/);
    }
    expect(estimateTintSpread(toned([1.07, 0.95, 0.74]))).toBeLessThan(ONE_TINT_SPREAD);
    expect(estimateTintSpread(img)).toBeGreaterThan(ONE_TINT_SPREAD);
  });
});
