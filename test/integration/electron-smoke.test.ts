/**
 * Electron smoke test: launches the real app with Playwright's _electron where Electron's binary
 * exists. On machines without it (ELECTRON_SKIP_BINARY_DOWNLOAD, no network) it is skipped and says why.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { tmpDir } from '../helpers/shared-data';

const require = createRequire(import.meta.url);
function electronBinary(): string | null {
  try {
    const p = require('electron') as unknown;
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}
const bin = electronBinary();
const reason = "Electron's binary is not installed on this machine (ELECTRON_SKIP_BINARY_DOWNLOAD=1, no download possible): the Electron smoke test runs only where it exists";
if (!bin) console.warn(`electron smoke: SKIPPED — ${reason}`);

describe.skipIf(!bin)('electron smoke', () => {
  it('starts the app, shows the gallery, answers IPC through the real preload', async () => {
    const root = path.resolve(__dirname, '../..');
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, ['scripts/ensure-electron-native.mjs'], { cwd: root, stdio: 'inherit' });
    const { _electron } = await import('playwright-core');
    const app = await _electron.launch({ executablePath: bin!, args: [root], env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1', XDG_CONFIG_HOME: tmpDir() } });
    try {
      const win = await app.firstWindow();
      await win.waitForLoadState('domcontentloaded');
      const r = await win.evaluate(() => (window as unknown as { daguerre: { invoke(c: string, a: unknown): Promise<{ ok: boolean }> } }).daguerre.invoke('settings.get', {}));
      expect(r.ok).toBe(true);
      const hasNode = await win.evaluate(() => typeof (globalThis as { require?: unknown }).require !== 'undefined');
      expect(hasNode).toBe(false);
      fs.mkdirSync(path.join(root, 'test-results'), { recursive: true });
      await win.screenshot({ path: path.join(root, 'test-results/electron-smoke.png') });
    } finally {
      await app.close();
    }
  }, 300_000);
});
