/**
 * Portrait faces in the browser against the real Core: "Find faces" → faces.detect in the engine
 * host → numbered outlines on the faces → exclude one (click and keyboard) → add a missed one by
 * dragging a box → a knob for that face → restore sends faces / excludeFaces / faceFidelity, the
 * result lists the faces restored, and the photo remembers the faces. Models: only the tiny face
 * package (random weights), so the background is Lanczos and the restore takes seconds.
 * Screenshots: test-results/e2e/faces-*.png.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaceDetectReport, Job, Photo, Result } from '../../src/shared/types';
import { axeBothThemes, launch, openCollectingErrors, shotBothThemes } from './harness';
import { fixtureModels, sharedData, startServer, type TestServer } from './server';
import { requirePrereq } from '../prereq';

const PHOTO = path.join(sharedData, 'real/old/family_grey_04.jpg');
const hasData = requirePrereq('shared photos', fs.existsSync(PHOTO), `${PHOTO} not found (../shared absent)`);
if (!hasData) console.warn(`e2e faces: SKIPPED — shared photo not found at ${PHOTO} (../shared/data/real/old relative to the repo root)`);
const hasChromium = requirePrereq('chromium', fs.existsSync(process.env.DAGUERRE_CHROMIUM ?? '/usr/bin/chromium'), '/usr/bin/chromium not found (apt-get install chromium)');
if (!hasChromium) console.warn('e2e faces: SKIPPED — /usr/bin/chromium not found (apt-get install chromium)');

/** The boy in the middle, a face the detector misses (hand label in test/fixtures/faces). */
const MISSED = { x: 326, y: 200, w: 42, h: 65 };

describe.skipIf(!hasData || !hasChromium)('portrait faces in the browser (real Core)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let photo: Photo;
  let detected: FaceDetectReport;
  const errors: string[] = [];
  const models = fs.mkdtempSync(path.join(os.tmpdir(), 'daguerre-e2e-face-models-'));

  beforeAll(async () => {
    fs.symlinkSync(path.join(fixtureModels, 'tiny-face-x8'), path.join(models, 'tiny-face-x8'));
    server = await startServer({ settings: { threads: 1 }, modelDirs: [models] });
    const r = await server.core.dispatch('library.import', { paths: [PHOTO] });
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
    fs.rmSync(models, { recursive: true, force: true });
  });

  const axeClean = async (name: string) => expect(await axeBothThemes(page, name)).toEqual([]);
  const outlines = () => page.locator('.face-box');
  /** Photo pixels → screen, from where the original is drawn. */
  const mapper = async () => {
    const img = (await page.locator('.viewer img.layer').first().boundingBox())!;
    const k = img.width / photo.width;
    return { k, x: (px: number) => img.x + px * k, y: (py: number) => img.y + py * k };
  };

  it('finds the faces and outlines each one on the photo, numbered', async () => {
    await page.locator('[role="option"]').first().dblclick();
    await page.getByRole('heading', { name: 'family_grey_04.jpg', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Find faces' }).click();
    expect(await page.getByLabel('Method').inputValue()).toBe('portrait');
    await page.getByTestId('faces-status').filter({ hasText: /\d+ found/ }).waitFor({ timeout: 60_000 });
    const r = await server.core.dispatch('faces.detect', { photoId: photo.id });
    detected = (r as { ok: true; value: FaceDetectReport }).value;
    expect(detected.faces.length).toBeGreaterThanOrEqual(2);
    expect(await outlines().count()).toBe(detected.faces.length);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.viewer img.layer')].every((i) => i.complete && i.naturalWidth > 0));
    // Each outline sits where faces.detect put the face (within a screen pixel or two).
    const m = await mapper();
    for (let i = 0; i < detected.faces.length; i++) {
      const b = detected.faces[i].box;
      const o = (await outlines().nth(i).boundingBox())!;
      expect(Math.abs(o.x - m.x(b.x))).toBeLessThan(2);
      expect(Math.abs(o.y - m.y(b.y))).toBeLessThan(2);
      expect(Math.abs(o.width - b.w * m.k)).toBeLessThan(2);
      expect(Math.abs(o.height - b.h * m.k)).toBeLessThan(2);
      expect(await outlines().nth(i).innerText()).toBe(String(i + 1));
    }
    // Zoomed in and panned, the outlines stay on the faces.
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Zoom in' }).click();
    const vb = (await page.locator('.viewer').boundingBox())!;
    await page.mouse.move(vb.x + vb.width * 0.3, vb.y + vb.height * 0.7);
    await page.mouse.down();
    await page.mouse.move(vb.x + vb.width * 0.5, vb.y + vb.height * 0.8, { steps: 3 });
    await page.mouse.up();
    const mz = await mapper();
    expect(mz.k).toBeGreaterThan(m.k * 2);
    const b0 = detected.faces[0].box;
    const o0 = (await outlines().nth(0).boundingBox())!;
    expect(Math.abs(o0.x - mz.x(b0.x))).toBeLessThan(2);
    expect(Math.abs(o0.y - mz.y(b0.y))).toBeLessThan(2);
    expect(Math.abs(o0.width - b0.w * mz.k)).toBeLessThan(2);
    await shotBothThemes(page, 'faces-01b-zoomed');
    await page.getByRole('button', { name: 'Fit' }).click();
        // The woman on the left (hand label 205,130 55×75) is outlined.
    const centres = detected.faces.map((f) => [f.box.x + f.box.w / 2, f.box.y + f.box.h / 2]);
    expect(centres.some(([x, y]) => Math.abs(x - 232) < 20 && Math.abs(y - 167) < 25)).toBe(true);
    expect(await page.locator('.face-row').count()).toBe(detected.faces.length);
    await shotBothThemes(page, 'faces-01-found');
    await axeClean('faces-found');
  });

  it('excludes a face by clicking its outline, and with the keyboard', async () => {
    const second = outlines().nth(1);
    await second.click();
    await expect.poll(() => second.getAttribute('aria-pressed')).toBe('false');
    expect(await second.getAttribute('class')).toMatch(/excluded/);
    expect(await page.getByRole('checkbox', { name: 'Face 2' }).isChecked()).toBe(false);
    // Keyboard: Space on the first outline excludes it, again includes it.
    const first = outlines().nth(0);
    await first.focus();
    await page.keyboard.press('Space');
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('Enter');
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('true');
    // The list toggles too (and back).
    const cb = page.getByRole('checkbox', { name: 'Face 1' });
    await cb.uncheck();
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('false');
    await cb.check();
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('true');
  });

  it('adds a missed face by dragging a box, and sets a knob for it', async () => {
    const n0 = await outlines().count();
    await page.getByRole('button', { name: 'Add face' }).click();
    expect(await page.locator('.viewer.drawing').count()).toBe(1);
    const m = await mapper();
    await page.mouse.move(m.x(MISSED.x), m.y(MISSED.y));
    await page.mouse.down();
    await page.mouse.move(m.x(MISSED.x + MISSED.w / 2), m.y(MISSED.y + MISSED.h / 2), { steps: 3 });
    await page.locator('.draw-draft').waitFor();
    await page.mouse.move(m.x(MISSED.x + MISSED.w), m.y(MISSED.y + MISSED.h), { steps: 3 });
    await page.mouse.up();
    await expect.poll(() => outlines().count()).toBe(n0 + 1);
    expect(await page.locator('.viewer.drawing').count()).toBe(0);
    const added = outlines().nth(n0);
    expect(await added.getAttribute('class')).toMatch(/added/);
    const o = (await added.boundingBox())!;
    expect(Math.abs(o.x - m.x(MISSED.x))).toBeLessThan(m.k + 2);
    expect(Math.abs(o.width - MISSED.w * m.k)).toBeLessThan(2 * m.k + 2);
    const row = page.locator('.face-row').nth(n0);
    expect(await row.innerText()).toMatch(new RegExp(`Face ${n0 + 1}[\\s\\S]*added by you`));
    // Its own knob (the others keep the photo's).
    const knob = page.getByRole('slider', { name: `Knob for face ${n0 + 1}` });
    await knob.fill('0.2');
    await row.locator('.face-knob-value', { hasText: '0.20' }).waitFor();
    expect(await page.locator('.face-knob-value.default').count()).toBe(n0);
    await shotBothThemes(page, 'faces-02-edited');
    await axeClean('faces-edited');
  });

  it('restores with the faces as edited: the job carries them, the result lists them', async () => {
    const n = await outlines().count();
    await page.locator('label.seg', { hasText: '2×' }).click();
    await page.getByRole('slider', { name: 'Knob', exact: true }).fill('0');
    await page.getByRole('button', { name: 'Restore photo' }).click();
    await page.locator('.results-panel h3', { hasText: 'Restored' }).waitFor({ timeout: 150_000 });
    const jobs = ((await server.core.dispatch('jobs.list', {})) as { ok: true; value: Job[] }).value;
    const job = jobs.find((j) => j.photoId === photo.id && j.kind === 'restore')!;
    expect(job.state).toBe('done');
    expect(job.params.method).toBe('portrait');
    expect(job.params.faces).toHaveLength(n);
    expect(job.params.faces!.slice(0, n - 1)).toEqual(detected.faces.map((f) => f.box));
    const last = job.params.faces![n - 1];
    expect(Math.abs(last.x - MISSED.x)).toBeLessThanOrEqual(2);
    expect(Math.abs(last.y - MISSED.y)).toBeLessThanOrEqual(2);
    expect(job.params.excludeFaces).toEqual([1]);
    expect(job.params.faceFidelity).toEqual({ [String(n - 1)]: 0.2 });
    const res = ((await server.core.dispatch('results.list', { photoId: photo.id })) as { ok: true; value: Result[] }).value[0];
    const faces = (res.info.portrait as { faces: { restored: boolean; reason?: string; fidelity?: number; calls: number }[] }).faces;
    expect(faces).toHaveLength(n);
    expect(faces[1]).toMatchObject({ restored: false, reason: 'excluded by the user' });
    expect(faces[n - 1]).toMatchObject({ restored: true, fidelity: 0.2 });
    expect(faces[n - 1].calls).toBeGreaterThan(0);
    // The facts: how many faces were restored and each face's calls.
    const restored = faces.filter((f) => f.restored).length;
    await page.locator('.facts', { hasText: `${restored} of ${n} restored` }).waitFor();
    const per = await page.getByTestId('face-facts').innerText();
    expect(per).toMatch(/2\s+excluded/);
    expect(per).toMatch(new RegExp(`${n}\\s+${faces[n - 1].calls} calls · knob 0.20`));
    await page.locator('.side-label.right', { hasText: 'A · 2× tiny-face-x8' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.viewer img.layer')].every((i) => i.complete && i.naturalWidth > 0));
    await shotBothThemes(page, 'faces-03-restored');
    await axeClean('faces-restored');
    await page.locator('.facts-panel').scrollIntoViewIfNeeded();
    await shotBothThemes(page, 'faces-04-result-facts');
  });

  it('remembers the faces with the photo; the second detection answers from the cache', async () => {
    const n = await outlines().count();
    await page.reload();
    await page.locator('[role="option"]').first().dblclick();
    await page.getByTestId('faces-status').filter({ hasText: /remembered/ }).waitFor({ timeout: 30_000 });
    expect(await outlines().count()).toBe(n);
    expect(await outlines().nth(1).getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator('.face-row').nth(n - 1).innerText()).toMatch(/added by you/);
    expect(await page.getByRole('slider', { name: `Knob for face ${n}` }).inputValue()).toBe('0.2');
    // Remove the added face (button), then reset to what was detected.
    await page.getByRole('button', { name: `Remove face ${n}` }).click();
    await expect.poll(() => outlines().count()).toBe(n - 1);
    await page.getByRole('button', { name: 'Reset faces' }).click();
    await expect.poll(() => page.locator('.face-box.excluded').count()).toBe(0);
    await expect
      .poll(async () => ((await server.core.dispatch('library.get', { id: photo.id })) as { ok: true; value: Photo }).value.prefs?.faces ?? null)
      .toBeNull();
  });

  it('had no page errors', () => {
    expect(errors).toEqual([]);
  });
});
