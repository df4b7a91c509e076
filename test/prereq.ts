/**
 * One rule for tests that need something outside the repository (the shared photos, Chromium,
 * SwiftShader WebGPU, the Electron binary): `requirePrereq(name, ok, why)`.
 *   CI=true   a missing prerequisite throws (the run fails, nothing silently skipped);
 *   otherwise it returns false, and the skip and its reason are appended to the tally file that
 *             scripts/test.mjs prints at the end (DAGUERRE_SKIP_TALLY).
 * Use: `describe.skipIf(!requirePrereq('shared photos', hasShared, sharedSkipReason))(...)`.
 */
import * as fs from 'node:fs';

export function requirePrereq(name: string, ok: boolean, why: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error(`prerequisite missing under CI=true: ${name}: ${why}`);
  const tally = process.env.DAGUERRE_SKIP_TALLY;
  const where = /\/(test\/[^:)]+\.test\.ts)/.exec(new Error().stack ?? '')?.[1] ?? '';
  if (tally) fs.appendFileSync(tally, JSON.stringify({ name, why, file: where }) + '\n');
  return false;
}
