/**
 * Issue 17, the brush: in the photo view "Paint mask…" opens the damage mask over the photo; a drag
 * paints, the eraser erases, Save stores it in the library (white = damaged, the photo's size), the
 * restore then sends repair { mask } and the result records the repair. Bad masks over the channel
 * (another shape, not a PNG, a removed photo) answer one line. A generated photo: no shared data needed.
 * Screenshot: test-results/e2e/damage-mask-*.png.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, Photo, Result } from '../../src/shared/types';
import { axeBothThemes, launch, openCollectingErrors, shotBothThemes } from './harness';
import { startServer, type TestServer } from './server';
import { requirePrereq } from '../prereq';

const hasChromium = requirePrereq('chromium', fs.existsSync(process.env.DAGUERRE_CHROMIUM ?? '/usr/bin/chromium'), '/usr/bin/chromium not found (apt-get install chromium)');

describe.skipIf(!hasChromium)('damage mask brush in the browser (real Core)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let photo: Photo;
  const errors: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daguerre-e2e-mask-'));
  const W = 160, H = 120;

  beforeAll(async () => {
    const px = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set([90 + (x >> 1), 70 + (y >> 1), 40], (y * W + x) * 3);
    // A bright scratch across the middle.
    for (let x = 10; x < 150; x++) px.set([240, 235, 225], (60 * W + x) * 3);
    await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(dir, 'scratched.png'));
    server = await startServer({ settings: { threads: 1 }, grantedRoots: [dir] });
    const r = await server.core.dispatch('library.import', { paths: [path.join(dir, 'scratched.png')] });
    if (!r.ok) throw new Error(r.error.message);
    photo = (r.value as { imported: Photo[] }).imported[0];
    browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await openCollectingErrors(page, server.url, errors);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const maskPixels = async (png: string) => {
    const { data, info } = await sharp(Buffer.from(png, 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return { info, on: (x: number, y: number) => data[y * info.width + x] >= 128 };
  };

  it('paints a stroke over the scratch, erases part of it, and saves the mask with the photo', async () => {
    await page.locator('[role="option"]').first().dblclick();
    await page.getByRole('heading', { name: 'scratched.png', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Paint mask…' }).click();
    const canvas = page.getByTestId('mask-canvas');
    await canvas.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.mask-stage img')].every((i) => i.complete && i.naturalWidth > 0));
    const b = (await canvas.boundingBox())!;
    const sx = (x: number) => b.x + (x / W) * b.width;
    const sy = (y: number) => b.y + (y / H) * b.height;
    await page.getByLabel('Brush radius in photo pixels').fill('3');
    await page.mouse.move(sx(12), sy(60));
    await page.mouse.down();
    await page.mouse.move(sx(80), sy(60), { steps: 8 });
    await page.mouse.move(sx(148), sy(60), { steps: 8 });
    await page.mouse.up();
    // Erase the right end.
    await page.getByRole('radio', { name: 'Erase' }).click();
    await page.getByLabel('Brush radius in photo pixels').fill('8');
    await page.mouse.move(sx(140), sy(60));
    await page.mouse.down();
    await page.mouse.move(sx(150), sy(60), { steps: 3 });
    await page.mouse.up();
    await shotBothThemes(page, 'damage-mask-01-painted');
    expect(await axeBothThemes(page, 'damage-mask')).toEqual([]);
    await page.getByRole('button', { name: 'Save mask' }).click();
    await page.getByRole('button', { name: 'Edit mask…' }).waitFor();
    const g = await server.core.dispatch('masks.get', { photoId: photo.id });
    expect(g.ok).toBe(true);
    const got = (g as { ok: true; value: { png: string; coverage: number } }).value;
    expect(got.coverage).toBeGreaterThan(0.01);
    expect(got.coverage).toBeLessThan(0.1);
    const m = await maskPixels(got.png);
    expect([m.info.width, m.info.height]).toEqual([W, H]);
    expect(m.on(40, 60)).toBe(true);
    expect(m.on(100, 60)).toBe(true);
    expect(m.on(40, 20)).toBe(false);
    expect(m.on(146, 60)).toBe(false); // erased
    const p = (await server.core.dispatch('library.get', { id: photo.id })) as { ok: true; value: Photo };
    expect(p.value.prefs?.repair).toEqual({ mask: expect.stringContaining(server.dataDir) });
    expect(await page.getByLabel('Repair damage').inputValue()).toBe('mask');
  });

  it('restores with the painted mask: the job carries it, the result records the repair', async () => {
    await page.getByRole('button', { name: 'Restore photo' }).click();
    await page.locator('.results-panel h3', { hasText: 'Restored' }).waitFor({ timeout: 150_000 });
    const jobs = ((await server.core.dispatch('jobs.list', {})) as { ok: true; value: Job[] }).value;
    const job = jobs.find((j) => j.photoId === photo.id && j.kind === 'restore')!;
    expect(job.state).toBe('done');
    expect(job.params.repair).toEqual({ mask: expect.stringContaining(server.dataDir) });
    const res = ((await server.core.dispatch('results.list', { photoId: photo.id })) as { ok: true; value: Result[] }).value[0];
    expect(res.repair).toMatchObject({ source: 'file' });
    expect(res.repair!.pixels).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  });

  it('refuses a mask of another shape, a non-PNG, a photo that is gone; an empty mask removes it', async () => {
    const png = async (w: number, h: number, v: number) => (await sharp({ create: { width: w, height: h, channels: 3, background: { r: v, g: v, b: v } } }).png().toBuffer()).toString('base64');
    const shape = await server.core.dispatch('masks.save', { photoId: photo.id, png: await png(50, 50, 255) });
    expect(shape).toEqual({ ok: false, error: { code: 'BAD_ARGS', message: 'scratched.png: damage mask is 50×50 but the photo is 160×120 (a different shape)' } });
    const white = await server.core.dispatch('masks.save', { photoId: photo.id, png: await png(W, H, 255) });
    expect(white).toEqual({ ok: false, error: { code: 'BAD_ARGS', message: 'scratched.png: damage mask covers the whole photo' } });
    const jpeg = (await sharp({ create: { width: W, height: H, channels: 3, background: '#fff' } }).jpeg().toBuffer()).toString('base64');
    const notPng = await server.core.dispatch('masks.save', { photoId: photo.id, png: jpeg });
    expect(notPng).toEqual({ ok: false, error: { code: 'BAD_ARGS', message: 'scratched.png: damage mask: not a PNG (jpeg)' } });
    const gone = await server.core.dispatch('masks.save', { photoId: 9999, png: await png(W, H, 0) });
    expect(gone).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'photo 9999 not found' } });
    // Still the painted one after the refusals; an empty mask clears it.
    expect(((await server.core.dispatch('masks.get', { photoId: photo.id })) as { ok: true; value: { png: string | null } }).value.png).not.toBeNull();
    const empty = await server.core.dispatch('masks.save', { photoId: photo.id, png: await png(W, H, 0) });
    expect(empty.ok && (empty.value as Photo).prefs?.repair).toBeFalsy();
    expect(((await server.core.dispatch('masks.get', { photoId: photo.id })) as { ok: true; value: { png: string | null } }).value.png).toBeNull();
  });
});
