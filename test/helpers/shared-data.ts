import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { requirePrereq } from '../prereq';

/** ../shared/data relative to the repository root (present on developer machines and in CI). */
export const SHARED_DATA = path.resolve(__dirname, '../../../shared/data');
export const sharedSkipReason = `../shared/data not found at ${SHARED_DATA}: tests that need the shared photos are skipped`;
export const hasShared = requirePrereq('shared photos', fs.existsSync(SHARED_DATA), sharedSkipReason);

export function tmpDir(prefix = 'daguerre-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
