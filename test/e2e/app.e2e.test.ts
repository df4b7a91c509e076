/**
 * Daguerre in a real browser against the real main side: the Vite-built renderer and the real preload
 * (bundled against the electron shim) talk to createCore() — SQLite library, job queue, engine host
 * child process — in a Node server. Screenshots of every screen, both themes: test-results/e2e/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeBothThemes, launch, openCollectingErrors, shotBothThemes } from './harness';
import { sharedData, startServer, type TestServer } from './server';
import { requirePrereq } from '../prereq';

const OLD = path.join(sharedData, 'real/old');
const hasData = requirePrereq('shared photos', fs.existsSync(OLD) && fs.readdirSync(OLD).length > 0, `${OLD} not found (../shared absent)`);
if (!hasData) console.warn(`e2e: SKIPPED — shared photos not found at ${OLD} (../shared/data/real/old relative to the repo root)`);
const hasChromium = requirePrereq('chromium', fs.existsSync(process.env.DAGUERRE_CHROMIUM ?? '/usr/bin/chromium'), '/usr/bin/chromium not found (apt-get install chromium)');
if (!hasChromium) console.warn('e2e: SKIPPED — /usr/bin/chromium not found (apt-get install chromium)');

describe.skipIf(!hasData || !hasChromium)('Daguerre in the browser (real Core)', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daguerre-e2e-drop-'));

  beforeAll(async () => {
    server = await startServer({ settings: { threads: 1 } });
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });
    await context.grantPermissions(['notifications'], { origin: server.url });
    await context.addInitScript(() => {
      // Record native notifications (the real Notification still runs).
      const w = window as unknown as { __notes: { title: string; body?: string }[]; Notification: typeof Notification };
      w.__notes = [];
      const N = w.Notification;
      if (N) {
        w.Notification = new Proxy(N, {
          construct(target, args: [string, NotificationOptions?]) {
            w.__notes.push({ title: args[0], body: args[1]?.body });
            return Reflect.construct(target, args);
          },
        });
      }
    });
    page = await context.newPage();
    await openCollectingErrors(page, server.url, errors);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const toast = (text: string | RegExp, timeout = 60_000) => page.locator('.toast', { hasText: text }).first().waitFor({ timeout });
  const thumbs = () => page.locator('[role="option"]');
  const axeClean = async (name: string) => expect(await axeBothThemes(page, name)).toEqual([]);
  const jobsList = async () => {
    const r = await server.core.dispatch('jobs.list', {});
    return (r as { ok: true; value: { id: number; state: string; photoName: string; batchId: string | null }[] }).value;
  };
  const photoByName = (name: string) => page.locator(`[role="option"][aria-label^="${name},"]`);

  it('empty library: tells a new user what to do', async () => {
    await page.getByRole('heading', { name: 'Bring your old photographs in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Import photos…' }).count()).toBeGreaterThan(0);
    await shotBothThemes(page, '01-empty-library');
    await axeClean('empty');
  });

  it('imports a folder through the dialog; thumbnails load', async () => {
    server.dialogs.openPhotos.push([OLD]);
    await page.getByRole('button', { name: 'Import folder…' }).first().click();
    const n = fs.readdirSync(OLD).filter((f) => /\.(jpe?g|png|webp|tiff?)$/i.test(f)).length;
    await toast(`Imported ${n} photos`);
    await page.waitForFunction((k) => document.querySelectorAll('[role="option"]').length >= Math.min(k, 10), n);
    // Every rendered thumbnail actually decoded.
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('.thumb-img img')];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    expect(await page.locator('.thumb-fallback').count()).toBe(0);
    await page.locator('.selection-bar .count', { hasText: `${n} photos` }).waitFor();
    await shotBothThemes(page, '02-gallery');
    await axeClean('gallery');
  });

  it('searches, sorts, filters and multi-selects', async () => {
    const search = page.getByRole('searchbox', { name: 'Search by name' });
    await search.fill('tiny');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 3);
    await page.getByLabel('Sort').selectOption('name');
    await page.waitForTimeout(300);
    const names = await thumbs().evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!.split(',')[0]));
    expect(names).toEqual([...names].sort().reverse()); // descending by default
    await page.getByRole('button', { name: /Descending order/ }).click();
    await page.waitForFunction(() => {
      const l = [...document.querySelectorAll('[role="option"]')].map((e) => e.getAttribute('aria-label')!);
      return l.length === 3 && l[0] < l[1] && l[1] < l[2];
    });
    // click, ctrl+click, shift+click
    await thumbs().nth(0).click();
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(1);
    await thumbs().nth(2).click({ modifiers: ['Control'] });
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(2);
    await thumbs().nth(0).click();
    await thumbs().nth(2).click({ modifiers: ['Shift'] });
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(3);
    await page.locator('.selection-bar', { hasText: '3 photos selected' }).waitFor();
    await page.keyboard.press('Escape');
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(0);
    await thumbs().nth(0).focus();
    await page.keyboard.press('Control+a');
    expect(await page.locator('[role="option"][aria-selected="true"]').count()).toBe(3);
    await shotBothThemes(page, '03-gallery-search-selected');
    // filter
    await search.fill('');
    await page.getByLabel('Show').selectOption('processed');
    await page.getByRole('heading', { name: 'No photos match' }).waitFor();
    await page.getByRole('button', { name: 'Show all photos' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length > 10);
  });

  it('opens a photo, moves the knob (N follows the card) and previews the area under the loupe', async () => {
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('portrait_grey_small_04');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 1);
    await thumbs().first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'portrait_grey_small_04.jpg', level: 1 }).waitFor();
    await page.getByLabel('Method').selectOption('tiny-x4');
    await page.locator('label.seg', { hasText: '4×' }).click();
    const knob = page.getByRole('slider', { name: 'Knob' });
    await knob.fill('0.5');
    await page.getByTestId('split-n').filter({ hasText: 'N = 10' }).waitFor(); // card: (0,2) (0.5,10) (1,40)
    await knob.fill('0.75');
    await page.getByTestId('split-n').filter({ hasText: 'N = 25' }).waitFor();
    // ] and [ move the knob by 0.05
    await page.locator('.photo-head h1').click();
    await page.keyboard.press(']');
    await page.locator('.knob-value', { hasText: '0.80' }).waitFor();
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    await page.locator('.knob-value', { hasText: '0.70' }).waitFor();
    expect(await page.getByTestId('calls').innerText()).toMatch(/10 coarse \+ up to \d+ fine/);
    expect(await page.getByTestId('estimate').innerText()).toMatch(/unknown|≈/);
    expect(await page.getByTestId('speed-source').innerText()).toMatch(/not measured yet|this computer|reference machine/);
    await shotBothThemes(page, '04-photo-no-result');
    await axeClean('photo-empty');

    // Layout shifts while the result arrives (the Layout Instability API, as in CLS).
    await page.evaluate(() => {
      const w = window as unknown as { __shift: number };
      w.__shift = 0;
      new PerformanceObserver((l) => {
        for (const e of l.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: { node?: Node }[] })[]) {
          // (sources are kept to say what moved when the check fails)
          if (e.hadRecentInput) continue;
          w.__shift += e.value;
          (w as unknown as { __shiftSrc: string[] }).__shiftSrc = [
            ...((w as unknown as { __shiftSrc?: string[] }).__shiftSrc ?? []),
            ...(e.sources ?? []).map((s) => (s.node instanceof Element ? `${s.node.tagName}.${s.node.className}` : String(s.node?.nodeName))),
          ];
        }
      }).observe({ type: 'layout-shift', buffered: false });
    });
    const viewerBox = await page.locator('.viewer').boundingBox();
    const sideBoxes = await page.locator('.side .panel').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
    await page.getByRole('button', { name: 'Preview area', exact: true }).click();
    await page.locator('.results-panel h3', { hasText: 'Previews' }).waitFor({ timeout: 120_000 });
    await page.locator('.side-label.right', { hasText: 'A · 4× tiny-x4 · knob 0.70' }).waitFor();
    // The preview is shown (image decoded) and nothing moved when it arrived.
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="after"] img:last-child');
      return !!img && img.complete && img.naturalWidth === 256;
    });
    expect(await page.locator('.viewer').boundingBox()).toEqual(viewerBox);
    const sideAfter = await page.locator('.side .panel').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
    expect(sideAfter.slice(0, 2)).toEqual(sideBoxes.slice(0, 2));
    const shift = await page.evaluate(() => (window as unknown as { __shift: number }).__shift);
    if (shift >= 0.01) console.log('layout shift sources:', await page.evaluate(() => (window as unknown as { __shiftSrc?: string[] }).__shiftSrc));
    expect(shift).toBeLessThan(0.01);
    const facts = await page.locator('.facts').innerText();
    expect(facts).toMatch(/Preview of 64×64 px/);
    const shownN = (await page.getByTestId('split-n').innerText()).replace('N = ', '');
    expect(shownN).toBe('22'); // 10 + (0.7 - 0.5) / 0.5 * 30, rounded: knobToN on the card
    expect(facts).toMatch(new RegExp(`Split point N\\s+${shownN}\\b`));
    expect(facts).toMatch(/Fine steps run/);
    expect(facts).toMatch(/Seed\s+0/);
    // The preview measured tiny-x4's speed on this computer: the estimate uses it and says so.
    await page.getByTestId('speed-source').filter({ hasText: 'measured on this computer' }).waitFor();
    expect(await page.getByTestId('estimate').innerText()).toMatch(/^≈ .+ for this photo \([\d,]+ tiles?\)$/);
    // the knob, scale and method are remembered for this photo
    const opened = await page.locator('.photo-view').getAttribute('aria-label');
    expect(opened).toBe('Photo portrait_grey_small_04.jpg');
    const list = (await server.core.dispatch('library.list', { search: 'portrait_grey_small_04' })) as { ok: true; value: { items: { prefs: unknown }[] } };
    expect(list.value.items[0].prefs).toMatchObject({ fidelity: 0.7, scale: 4, method: 'tiny-x4' });
    await shotBothThemes(page, '05-photo-preview');
    await axeClean('photo-preview');
  });

  it('restores the photo, drags the slider (mouse, touch, keys), zooms to 800 %, side by side, A/B flick', async () => {
    await page.getByLabel('Method').selectOption('lanczos');
    await page.getByRole('button', { name: 'Restore photo' }).click();
    await page.locator('.results-panel h3', { hasText: 'Restored' }).waitFor({ timeout: 60_000 });
    await page.locator('.side-label.right', { hasText: 'A · 4× lanczos' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid="after"] img')].every((i) => i.complete && i.naturalWidth > 0));
    const handle = page.getByRole('slider', { name: 'Before and after divider' });
    const box = (await page.locator('.viewer').boundingBox())!;
    // mouse drag
    const h = (await handle.boundingBox())!;
    await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25, h.y + h.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(Number(await handle.getAttribute('aria-valuenow'))).toBeGreaterThanOrEqual(24);
    expect(Number(await handle.getAttribute('aria-valuenow'))).toBeLessThanOrEqual(26);
    // keyboard
    await handle.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    expect(Number(await handle.getAttribute('aria-valuenow'))).toBeGreaterThanOrEqual(34);
    // touch (CDP touch events -> pointer events with pointerType touch)
    const cdp = await context.newCDPSession(page);
    const h2 = (await handle.boundingBox())!;
    const y = h2.y + h2.height / 2;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: h2.x + h2.width / 2, y }] });
    for (const f of [0.5, 0.6, 0.7]) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: box.x + box.width * f, y }] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await page.waitForFunction(() => Number(document.querySelector('[aria-label="Before and after divider"]')?.getAttribute('aria-valuenow')) >= 68);
    const clip = await page.getByTestId('after').evaluate((e) => (e as HTMLElement).style.clipPath);
    expect(clip).toMatch(/inset\(0(px)? 0(px)? 0(px)? \d+px\)/);
    await shotBothThemes(page, '06-photo-slider');
    await axeClean('photo-slider');

    // zoom: up to 800 %, pixelated beyond 100 %, fit again
    for (let i = 0; i < 20; i++) await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByTestId('zoom').filter({ hasText: '800 %' }).waitFor();
    expect(await page.locator('.viewer img.layer.pixelated').count()).toBeGreaterThan(0);
    // pan by dragging the picture; both sides move together (same transform)
    const before = await page.locator('.viewer img.layer').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    await page.mouse.move(box.x + box.width * 0.8, box.y + 100);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.8 - 60, box.y + 140, { steps: 3 });
    await page.mouse.up();
    const after = await page.locator('.viewer img.layer').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    expect(after).not.toEqual(before);
    const lefts = after.map((t) => parseFloat(/translate\(([-\d.]+)px/.exec(t)![1]));
    expect(Math.abs(lefts[0] - lefts[lefts.length - 1])).toBeLessThan(1); // original and result aligned
    await shotBothThemes(page, '07-photo-zoom-800');
    await page.locator('.photo-head h1').click();
    await page.keyboard.press('0');
    await page.waitForFunction(() => !document.querySelector('.viewer img.layer.pixelated'));
    // pinch with two fingers zooms in
    const z0 = Number(await page.locator('.viewer').getAttribute('data-zoom'));
    const cx = box.x + box.width * 0.35;
    const cy = box.y + box.height / 2;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: cx - 40, y: cy, id: 1 }, { x: cx + 40, y: cy, id: 2 }] });
    for (const d of [60, 90, 120]) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: cx - d, y: cy, id: 1 }, { x: cx + d, y: cy, id: 2 }] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    const z1 = Number(await page.locator('.viewer').getAttribute('data-zoom'));
    expect(z1 / z0).toBeGreaterThan(2.5);
    await page.locator('.photo-head h1').click();
    await page.keyboard.press('0');

    // side by side: two panes, locked
    await page.getByRole('button', { name: 'Side by side' }).click();
    expect(await page.locator('.viewer .pane').count()).toBe(2);
    await shotBothThemes(page, '08-photo-side-by-side');

    // A/B: compare the restore (A) with the preview (B), flick between them
    await page.locator('.result-row', { hasText: 'Preview' }).getByRole('button', { name: 'Compare' }).click();
    await page.locator('.side-label.left', { hasText: 'B · 4× tiny-x4' }).waitFor();
    expect(await page.locator('.facts thead').innerText()).toMatch(/A\s+B/);
    await page.getByRole('button', { name: 'Flick', exact: true }).click();
    const label1 = await page.locator('.side-label.flick').innerText();
    await page.getByRole('button', { name: 'Flick A/B' }).click();
    const label2 = await page.locator('.side-label.flick').innerText();
    expect(new Set([label1.slice(0, 1), label2.slice(0, 1)])).toEqual(new Set(['A', 'B']));
    await shotBothThemes(page, '09-photo-ab-flick');
    await axeClean('photo-ab');
    await page.getByRole('button', { name: 'Slider', exact: true }).click();
  });

  it('exports a result (JPEG, quality) and deletes one', async () => {
    await page.locator('.result-row', { hasText: 'lanczos' }).getByRole('button', { name: 'Export…' }).click();
    const dlg = page.getByRole('dialog', { name: 'Export result' });
    await dlg.waitFor();
    await dlg.locator('label.seg', { hasText: 'JPEG' }).click();
    await dlg.getByRole('slider').fill('80');
    await shotBothThemes(page, '10-export-dialog');
    await axeClean('export');
    await dlg.getByRole('button', { name: 'Choose file and export…' }).click();
    await toast(/Exported to .*\.jpg/);
    const saved = server.dialogs.saved.at(-1)!;
    const head = fs.readFileSync(saved).subarray(0, 3);
    expect([...head]).toEqual([0xff, 0xd8, 0xff]);

    const photoId = Number(await page.evaluate(() => 0)) || undefined;
    void photoId;
    const n0 = await page.locator('.result-row').count();
    const row = page.locator('.result-row', { hasText: 'Preview' });
    await row.getByRole('button', { name: /Delete result/ }).click();
    await row.getByRole('button', { name: 'Really delete?' }).click();
    await toast('Result deleted');
    await page.waitForFunction((n) => document.querySelectorAll('.result-row').length === n - 1, n0);
  });

  it('runs a batch of 3 with one cancelled: progress, states, notification, results in the gallery', async () => {
    await page.getByRole('button', { name: '← Library' }).click();
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('tiny');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 3);
    await page.getByRole('button', { name: 'Select all' }).click();
    await page.getByRole('button', { name: 'Restore 3 photos…' }).click();
    const dlg = page.getByRole('dialog', { name: 'Restore 3 photos' });
    await dlg.getByLabel('Method').selectOption('tiny-x4');
    await dlg.locator('label.seg', { hasText: '2×' }).click();
    await dlg.getByRole('slider', { name: 'Knob' }).fill('0'); // most faithful: fewest calls, quickest batch
    await dlg.getByTestId('split-n').filter({ hasText: 'N = 2' }).waitFor();
    await dlg.getByTestId('estimate').waitFor();
    await shotBothThemes(page, '11-batch-dialog');
    await axeClean('batch');
    await dlg.getByRole('button', { name: 'Restore 3 photos' }).click();
    const queue = page.getByRole('complementary', { name: 'Queue' });
    await queue.locator('li.job').first().waitFor();
    expect(await page.getByTestId('active-badge').innerText()).toMatch(/[123]/);
    // cancel the last one while it waits
    const jobs = (await jobsList()).filter((j) => j.batchId);
    const last = jobs.sort((a, b) => b.id - a.id)[0];
    await queue.locator(`li.job[data-job-id="${last.id}"]`).locator('button', { hasText: /^Cancel$/ }).click();
    await queue.locator(`li.job[data-job-id="${last.id}"][data-state="cancelled"]`).waitFor();
    // progress shows image i of n and tile/step while running
    await queue.locator('li.job[data-state="running"] .job-detail', { hasText: /image \d of 3 · tile \d+\/\d+/ }).waitFor({ timeout: 60_000 });
    // the gallery still shows what was searched for, whatever reloads the events caused meanwhile
    await page.waitForTimeout(1200);
    expect(await thumbs().evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!.split(',')[0]))).toEqual([
      'portrait_grey_scratched_tiny_01.png',
      'portrait_grey_scratched_tiny_02.png',
      'portrait_grey_tiny_03.jpg',
    ]);
    await shotBothThemes(page, '12-queue-running');
    await axeClean('queue');
    // Two diffusion jobs on 2 shared cores: give a slow machine time rather than fail on speed.
    await toast(/Batch finished: 2 done, 1 cancelled/, 420_000);
    const notes = await page.evaluate(() => (window as unknown as { __notes: { title: string; body?: string }[] }).__notes);
    expect(notes.some((n) => /batch finished/i.test(n.title) && /2 done/.test(n.body ?? ''))).toBe(true);
    expect(await queue.locator('li.job[data-state="done"]').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('active-badge').innerText()).toBe('0');
    await shotBothThemes(page, '13-queue-finished');
    // retry the cancelled one, then clear finished
    await queue.locator(`li.job[data-job-id="${last.id}"]`).locator('button', { hasText: /^Retry$/ }).click();
    await queue.locator(`li.job[data-job-id="${last.id}"][data-state="done"]`).waitFor({ timeout: 120_000 });
    await queue.getByRole('button', { name: 'Clear finished' }).click();
    await queue.locator('li.job').first().waitFor({ state: 'detached' });
    await queue.getByRole('button', { name: 'Close the queue' }).click();
    // results appear in the gallery
    await page.waitForFunction(() => document.querySelectorAll('.thumb .badge.done').length === 3);
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('');
    await page.getByLabel('Show').selectOption('processed');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 4);
    await page.getByLabel('Show').selectOption('all');
  }, 600_000);

  it('import of a corrupt file (dropped) lists it with its reason; paste imports too', async () => {
    const good = fs.readFileSync(path.join(OLD, 'portrait_grey_tiny_03.jpg'));
    const bad = path.join(tmp, 'truncated_scan.jpg');
    fs.writeFileSync(bad, good.subarray(0, Math.floor(good.length * 0.4)));
    fs.writeFileSync(path.join(tmp, 'notes.jpg'), 'this is not a picture');
    // dragging files over the window shows where to drop them
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'a.jpg', { type: 'image/jpeg' }));
      window.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    await page.locator('.drop-overlay').waitFor();
    await shotBothThemes(page, '14a-drop-overlay');
    await page.evaluate(
      (paths) => {
        const dt = new DataTransfer();
        for (const p of paths) {
          const f = new File(['x'], p.split('/').pop()!, { type: 'image/jpeg' });
          (f as File & { __path?: string }).__path = p;
          dt.items.add(f);
        }
        // DataTransfer copies File objects; keep the paths on the copies the page will see.
        const files = [...dt.files];
        files.forEach((f, i) => ((f as File & { __path?: string }).__path = paths[i]));
        const ev = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt });
        Object.defineProperty(ev.dataTransfer!, 'files', { value: files });
        document.querySelector('.grid-scroll')!.dispatchEvent(ev);
      },
      [bad, path.join(tmp, 'notes.jpg')],
    );
    const fails = page.getByRole('region', { name: 'Import problems' });
    await fails.waitFor({ timeout: 30_000 });
    await fails.locator('li', { hasText: 'truncated_scan.jpg' }).waitFor();
    const text = await fails.innerText();
    expect(text).toMatch(/2 files could not be imported/);
    expect(text).toMatch(/truncated_scan\.jpg\s*\S+/);
    await shotBothThemes(page, '14-import-failures');
    await axeClean('import-failures');
    await fails.getByRole('button', { name: 'Dismiss' }).click();

    // paste a copied file (a duplicate): reported as such
    await page.evaluate((p) => {
      const dt = new DataTransfer();
      const f = new File(['x'], 'portrait_grey_tiny_03.jpg', { type: 'image/jpeg' });
      dt.items.add(f);
      const files = [...dt.files];
      (files[0] as File & { __path?: string }).__path = p;
      const ev = new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt });
      Object.defineProperty(ev.clipboardData!, 'files', { value: files });
      document.body.dispatchEvent(ev);
    }, path.join(OLD, 'portrait_grey_tiny_03.jpg'));
    await toast(/1 duplicate skipped/);
  });

  it('reveals and removes from the library (originals untouched)', async () => {
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('family_sepia');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 1);
    await thumbs().first().click();
    await page.getByRole('button', { name: 'Show in folder' }).click();
    await page.waitForTimeout(200);
    expect(server.dialogs.revealed.at(-1)).toBe(path.join(OLD, 'family_sepia_03.jpg'));
    await page.getByRole('button', { name: 'Remove from library' }).click();
    const dlg = page.getByRole('dialog', { name: /Remove 1 photo/ });
    await shotBothThemes(page, '15-remove-confirm');
    await dlg.getByRole('button', { name: 'Remove from library' }).click();
    await toast(/Removed 1 photo/);
    await page.getByRole('heading', { name: 'No photos match' }).waitFor();
    expect(fs.existsSync(path.join(OLD, 'family_sepia_03.jpg'))).toBe(true);
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('');
  });

  it('changes settings; they persist across a reload; theme applies', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    const dlg = page.getByRole('dialog', { name: 'Settings' });
    await dlg.waitFor();
    await shotBothThemes(page, '16-settings');
    await axeClean('settings');
    await dlg.locator('label.seg', { hasText: 'Dark' }).click();
    await dlg.getByLabel('Threads').fill('1');
    await dlg.getByLabel('Format').selectOption('webp');
    expect(await dlg.getByLabel('Precision').inputValue()).toBe('auto');
    await dlg.getByLabel('Precision').selectOption('fp32');
    await dlg.getByLabel('Keep the original').uncheck();
    await dlg.getByRole('slider', { name: /Knob/ }).fill('0.3');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length > 0);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('button', { name: 'Settings' }).click();
    const d2 = page.getByRole('dialog', { name: 'Settings' });
    expect(await d2.getByLabel('Format').inputValue()).toBe('webp');
    expect(await d2.getByLabel('Precision').inputValue()).toBe('fp32');
    expect(await d2.getByLabel('Keep the original').isChecked()).toBe(false);
    expect(await d2.getByRole('slider', { name: /Knob/ }).inputValue()).toBe('0.3');
    expect(await d2.locator('label.seg.on').innerText()).toBe('Dark');
    const s = (await server.core.dispatch('settings.get', {})) as { ok: true; value: { theme: string; outputFormat: string; precision: string } };
    expect(s.value).toMatchObject({ theme: 'dark', outputFormat: 'webp', precision: 'fp32' });
    await d2.locator('label.seg', { hasText: 'Like the system' }).click();
    await d2.getByRole('button', { name: 'Save' }).click();
    await d2.waitFor({ state: 'detached' });
  });

  it('keyboard: help overlay, Ctrl+O, Enter/Esc, R', async () => {
    await page.locator('.topbar .brand').focus();
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    await shotBothThemes(page, '17-help');
    await axeClean('help');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    server.dialogs.openPhotos.push([]); // the user cancels the file chooser
    await page.keyboard.press('Control+o');
    await page.waitForTimeout(300);
    expect(server.dialogs.openPhotos.length).toBe(0);
    await thumbs().first().focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.locator('.photo-view h1').waitFor();
    await page.locator('.photo-head h1').click();
    await page.keyboard.press('Escape');
    await page.locator('.photo-view').waitFor({ state: 'detached' });
    await page.keyboard.press('r');
    await page.getByRole('dialog', { name: /^Restore/ }).waitFor();
    await page.keyboard.press('Escape');
  });

  it('fits a larger window (1920×1080)', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.waitForTimeout(200);
    await shotBothThemes(page, '18-large-gallery');
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('portrait_grey_small_04');
    await page.waitForFunction(() => document.querySelectorAll('[role="option"]').length === 1);
    await thumbs().first().dblclick();
    await page.locator('.side-label.right', { hasText: 'A · 4× lanczos' }).waitFor();
    // remembered per photo: the knob opens where it was left
    expect(await page.locator('.knob-value').innerText()).toBe('0.70');
    await shotBothThemes(page, '19-large-photo');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('had no page errors', () => {
    expect(errors).toEqual([]);
  });
});
