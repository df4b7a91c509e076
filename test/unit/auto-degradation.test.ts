/** 'auto' chooses the natural package by the photo's degradation (fixture cards in a temp models dir). */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { autoChoice } from '../../src/engine/restore';
import { readImageU8 } from '../../src/engine/metrics/io';

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
});
