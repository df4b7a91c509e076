/**
 * Every test file gets its own library folder ($DAGUERRE_HOME, read by the CLI and createCore's callers) unless
 * it sets one itself: CLI tests that name no --library must never share — or lock — the user's library, nor
 * each other's when test files run in parallel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'daguerre-test-home-'));
process.env.DAGUERRE_HOME = home;
afterAll(() => rmSync(home, { recursive: true, force: true }));
