/** test/prereq.ts: CI=true fails on a missing prerequisite, otherwise the skip and its reason are recorded for the tally. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requirePrereq } from '../prereq';

const saved = { CI: process.env.CI, T: process.env.DAGUERRE_SKIP_TALLY };
afterEach(() => {
  for (const [k, v] of [['CI', saved.CI], ['DAGUERRE_SKIP_TALLY', saved.T]] as const) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
});

describe('requirePrereq', () => {
  it('present: true, whatever CI says', () => {
    process.env.CI = 'true';
    expect(requirePrereq('x', true, 'why')).toBe(true);
  });
  it('missing under CI=true: throws naming it and why', () => {
    process.env.CI = 'true';
    expect(() => requirePrereq('chromium', false, '/usr/bin/chromium not found')).toThrow(/chromium: \/usr\/bin\/chromium not found/);
  });
  it('missing otherwise: false, and one tally line with the name, reason and test file', () => {
    delete process.env.CI;
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prereq-')), 'tally.jsonl');
    process.env.DAGUERRE_SKIP_TALLY = f;
    expect(requirePrereq('shared photos', false, '../shared absent')).toBe(false);
    const lines = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ name: 'shared photos', why: '../shared absent', file: 'test/unit/prereq.test.ts' }]);
  });
});
