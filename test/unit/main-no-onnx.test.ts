/**
 * The Electron main process never loads onnxruntime (issue 18 item 1): its bundle, built as scripts/build.mjs
 * builds it, imports no onnxruntime-node and opens no session. (Before the catalogue, core.ts listed models by
 * opening sessions, and the bundle imported onnxruntime-node at the top, so it loaded when the app started.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');

describe('Electron main bundle', () => {
  it('does not import onnxruntime-node (model lists come from cards)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'main-bundle-'));
    try {
      await build({ absWorkingDir: ROOT, bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'silent', format: 'esm', entryPoints: { index: 'src/main/electron/main.ts' }, outdir: out, external: ['electron'] });
      const js = readFileSync(join(out, 'index.js'), 'utf8');
      expect(js).toMatch(/listPackages/); // the card listing is in there
      expect(js).not.toMatch(/onnxruntime-node/);
      expect(js).not.toMatch(/InferenceSession/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
