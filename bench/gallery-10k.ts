/**
 * Benchmark (not a test): the gallery with a 10,000-photo library, in Debian's Chromium against the
 * real Core (test/e2e/server.ts). The 28 photos of ../shared/data/real/old are imported for real
 * (probe, hash, thumbnail); the library is then filled to N rows by inserting copies of those rows
 * straight into its SQLite table in one transaction, each with a hard link to a real thumbnail.
 *
 * Reports: library.list time over IPC, time to first thumbnails (navigation -> every thumbnail in
 * the first screen decoded), DOM size (virtualisation), and frame times while scrolling the grid at
 * a steady speed and while flinging with the mouse wheel; plus jump-to-end (End key) latency.
 *
 *   npx tsx bench/gallery-10k.ts [--n 10000] [--width 1280 --height 800] [--frames 240] [--no-media]
 * JSON goes to test-results/bench/gallery-10k.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launch } from '../test/e2e/harness';
import { repoRoot, sharedData, startServer } from '../test/e2e/server';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('--n', 10_000);
const W = arg('--width', 1280);
const H = arg('--height', 800);
const FRAMES = arg('--frames', 240);
const OLD = path.join(sharedData, 'real/old');

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    frames: xs.length,
    mean: +mean.toFixed(2),
    p50: +q(0.5).toFixed(2),
    p95: +q(0.95).toFixed(2),
    p99: +q(0.99).toFixed(2),
    max: +s[s.length - 1].toFixed(2),
    over16_7: xs.filter((x) => x > 16.7 * 1.2).length,
    over33: xs.filter((x) => x > 33.4 * 1.2).length,
  };
}

async function main() {
  if (!fs.existsSync(OLD)) {
    console.error(`gallery-10k: needs the shared photos at ${OLD}`);
    process.exit(2);
  }
  const server = await startServer({ settings: { threads: 1 } });
  try {
    const core = server.core;
    let t = performance.now();
    const imp = await core.dispatch('library.import', { paths: [OLD] });
    if (!imp.ok) throw new Error(imp.error.message);
    const seeds = (imp.value as { imported: { id: number }[] }).imported.map((p) => p.id);
    const importMs = performance.now() - t;

    // Fill up to N rows: copies of the imported rows, thumbnails hard-linked.
    t = performance.now();
    const db = core.db as unknown as import('better-sqlite3').Database;
    const rows = db.prepare(`SELECT path, name, hash, size, format, width, height, exif FROM photos WHERE id IN (${seeds.join(',')}) ORDER BY id`).all() as Record<string, unknown>[];
    const ins = db.prepare(`INSERT INTO photos (path, name, hash, size, format, width, height, exif, added_at) VALUES (@path, @name, @hash, @size, @format, @width, @height, @exif, @added_at)`);
    const links: [number, number][] = [];
    const base = Date.now() - N * 1000;
    db.transaction(() => {
      for (let i = 0; i < N - seeds.length; i++) {
        const r = rows[i % rows.length];
        const name = `copy${String(i).padStart(5, '0')}_${r.name as string}`;
        const info = ins.run({ ...r, path: `${r.path as string}.copy${i}`, name, added_at: new Date(base + i * 1000).toISOString() });
        links.push([Number(info.lastInsertRowid), seeds[i % seeds.length]]);
      }
    })();
    for (const [id, src] of links) fs.linkSync(core.library.thumbPath(src), core.library.thumbPath(id));
    const fillMs = performance.now() - t;

    t = performance.now();
    const all = await core.dispatch('library.list', { limit: 20000 });
    const listAllMs = performance.now() - t;
    t = performance.now();
    await core.dispatch('library.list', { limit: 240 });
    const listFirstMs = performance.now() - t;
    const total = all.ok ? (all.value as { total: number }).total : -1;

    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    // --no-media: thumbnails refused (isolates the grid's own rendering cost from image loading).
    const noMedia = process.argv.includes('--no-media');
    if (noMedia) await page.route('**/media/**', (r) => r.abort());
    // Time to first thumbnails: every thumbnail rendered in the first screen is decoded.
    // (Browser code as strings: tsx's esbuild adds __name() helpers to functions, which the page lacks.)
    await page.addInitScript(`(() => {
      const check = () => {
        const imgs = [...document.querySelectorAll('.thumb-img img')].filter((i) => {
          const r = i.getBoundingClientRect();
          return r.bottom > 0 && r.top < innerHeight;
        });
        if (imgs.length >= 8 && imgs.every((i) => i.complete && i.naturalWidth > 0)) {
          window.__firstThumbs = performance.now();
          return;
        }
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    })()`);
    const tNav = Date.now();
    await page.goto(server.url);
    if (!noMedia) await page.waitForFunction(() => (window as unknown as { __firstThumbs?: number }).__firstThumbs, null, { timeout: 120_000, polling: 50 });
    else await page.waitForSelector('[role="option"]');
    const firstThumbsMs = await page.evaluate(() => (window as unknown as { __firstThumbs: number }).__firstThumbs);
    // Where the time to first thumbnails goes (resource timings, ms since navigation start).
    const phases: Record<string, number> = await page.evaluate(`(() => {
      const r = performance.getEntriesByType('resource');
      const end = (re) => Math.round(Math.min(...r.filter((e) => re.test(e.name)).map((e) => e.responseEnd)));
      const thumbs = r.filter((e) => /\\/media\\/thumb\\//.test(e.name));
      return {
        appScriptLoaded: end(/\\/assets\\/index-.*\\.js$/),
        firstListAnswered: end(/\\/ipc\\/library\\.list/),
        firstThumbRequested: Math.round(Math.min(...thumbs.map((e) => e.startTime))),
        firstScreenThumbsLoaded: Math.round(Math.max(...thumbs.slice(0, 40).map((e) => e.responseEnd))),
      };
    })()`);
    await page.waitForFunction((n) => document.querySelector('.selection-bar .count')?.textContent?.includes(n.toLocaleString('en-US')), total, { timeout: 120_000 });
    const allLoadedMs = Date.now() - tNav;
    const cells = await page.evaluate(() => document.querySelectorAll('[role="option"]').length);
    const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);

    // Steady scroll: 1.5 screens per second for FRAMES frames, frame times from rAF.
    const steady: number[] = await page.evaluate(`(async () => {
      const frames = ${FRAMES};
      const el = document.querySelector('.grid-scroll');
      const dts = [];
      let last = performance.now();
      const step = (el.clientHeight * 1.5) / 60;
      await new Promise((resolve) => {
        let i = 0;
        const tick = (now) => {
          dts.push(now - last);
          last = now;
          el.scrollTop += step;
          if (++i < frames) requestAnimationFrame(tick);
          else resolve();
        };
        requestAnimationFrame((now) => {
          last = now;
          requestAnimationFrame(tick);
        });
      });
      return dts;
    })()`);

    // Thumbnails decoded after the steady scroll settles (how many of the visible ones are ready).
    await page.waitForTimeout(500);
    const visibleReady = await page.evaluate(() => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('.thumb-img img')].filter((i) => {
        const r = i.getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight;
      });
      return { visible: imgs.length, ready: imgs.filter((i) => i.complete && i.naturalWidth > 0).length };
    });

    // Wheel fling: real input events through the compositor.
    const box = (await page.locator('.grid-scroll').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.evaluate(`(() => {
      window.__dts = [];
      window.__rec = true;
      let last = performance.now();
      const f = (now) => {
        window.__dts.push(now - last);
        last = now;
        if (window.__rec) requestAnimationFrame(f);
      };
      requestAnimationFrame(f);
    })()`);
    for (let i = 0; i < 60; i++) {
      await page.mouse.wheel(0, 600);
      await page.waitForTimeout(16);
    }
    const wheel = await page.evaluate(() => {
      const w = window as unknown as { __dts: number[]; __rec: boolean };
      w.__rec = false;
      return w.__dts.slice(1);
    });

    // Jump to the end with the keyboard (End on the grid) until the last cell is in the DOM.
    await page.locator('[role="option"]').first().focus();
    const jumpMs: number = await page.evaluate(`(async () => {
      const t0 = performance.now();
      document.activeElement.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
      while (!document.querySelector('[role="option"][aria-posinset="${total}"]')) await new Promise((r) => requestAnimationFrame(r));
      return performance.now() - t0;
    })()`);

    await browser.close();
    const out = {
      when: new Date().toISOString(),
      photos: total,
      viewport: `${W}x${H}`,
      thumbnails: noMedia ? 'refused (--no-media)' : 'served',
      chromium: '/usr/bin/chromium (headless, --disable-gpu)',
      setup: { importRealMs: Math.round(importMs), fillMs: Math.round(fillMs) },
      ipc: { listAllMs: Math.round(listAllMs), listFirstPageMs: Math.round(listFirstMs) },
      timeToFirstThumbnailsMs: Math.round(firstThumbsMs),
      firstThumbnailPhasesMs: phases,
      allRowsLoadedMs: allLoadedMs,
      renderedCellsAtFirstPaint: cells,
      domNodes,
      steadyScrollFrameMs: stats(steady),
      wheelScrollFrameMs: stats(wheel),
      afterScroll: visibleReady,
      jumpToEndMs: Math.round(jumpMs),
    };
    const dir = path.join(repoRoot, 'test-results/bench');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'gallery-10k.json'), JSON.stringify(out, null, 2));
    console.log(`gallery with ${total.toLocaleString()} photos, ${W}x${H}`);
    console.table({
      'library.list all (IPC, ms)': out.ipc.listAllMs,
      'library.list first page (ms)': out.ipc.listFirstPageMs,
      'time to first thumbnails (ms)': out.timeToFirstThumbnailsMs,
      'all rows loaded (ms)': out.allRowsLoadedMs,
      'cells in the DOM': cells,
      'DOM nodes': domNodes,
      'jump to end (ms)': out.jumpToEndMs,
    });
    console.log('time to first thumbnails, phases (ms after navigation start):', phases);
    console.log('frame times (ms):');
    console.table({ steady: out.steadyScrollFrameMs, wheel: out.wheelScrollFrameMs });
    console.log(`visible thumbnails decoded 0.5 s after the scroll: ${visibleReady.ready}/${visibleReady.visible}`);
    console.log(`JSON: ${path.relative(repoRoot, path.join(dir, 'gallery-10k.json'))}`);
  } finally {
    await server.close();
  }
}

await main();
