/** Playwright helpers for the e2e tests: launch Debian's Chromium, screenshots in both themes, axe. */
import AxeBuilder from '@axe-core/playwright';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './server';

export const CHROMIUM = process.env.DAGUERRE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
export const shotsDir = path.join(repoRoot, 'test-results/e2e');

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Screenshot the page as it is, once per theme: test-results/e2e/<name>-light.png, -dark.png. */
/** Collects page errors and console errors (favicon misses aside) into `errors`, then opens `url`. */
export async function openCollectingErrors(page: Page, url: string, errors: string[]): Promise<void> {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
}

export async function shotBothThemes(page: Page, name: string): Promise<void> {
  fs.mkdirSync(shotsDir, { recursive: true });
  const before = await page.evaluate(() => document.documentElement.dataset.theme ?? '');
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.waitForTimeout(60);
    await page.screenshot({ path: path.join(shotsDir, `${name}-${theme}.png`), animations: 'disabled' });
  }
  await page.evaluate((t) => {
    if (t) document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }, before);
}

export interface AxeProblem {
  theme: string;
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe in both themes; returns serious and critical violations (empty = pass). */
export async function axeBothThemes(page: Page, name: string): Promise<AxeProblem[]> {
  const before = await page.evaluate(() => document.documentElement.dataset.theme ?? '');
  const out: AxeProblem[] = [];
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.waitForTimeout(30);
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    for (const v of r.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        out.push({ theme, id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) });
      }
    }
  }
  await page.evaluate((t) => {
    if (t) document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }, before);
  if (out.length) console.log(`axe ${name}:`, JSON.stringify(out, null, 1));
  return out;
}
