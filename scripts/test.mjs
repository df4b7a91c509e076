// `npm test`: setup (prerequisites), type-check, unit + integration tests (Node, real
// SQLite/sharp/onnxruntime), browser end-to-end tests (Vite + Debian's Chromium), the Python training
// tests, then a tally of skipped tests and why. Each step runs even when an earlier one failed; the
// exit code is non-zero when any failed.
//
// Setup is idempotent: Chromium at /usr/bin/chromium and /usr/bin/python3 with torch, onnx, scipy,
// numpy and PIL. When missing and running as root it installs them with apt; otherwise it prints the
// one command to run and fails. Under CI=true a missing prerequisite in a test fails it instead of
// skipping (test/prereq.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const py = '/usr/bin/python3';
const APT = ['chromium', 'python3-torch', 'python3-onnx', 'python3-scipy', 'python3-numpy', 'python3-pil'];
const hasChromium = () => existsSync('/usr/bin/chromium');
const hasPython = () => existsSync(py) && spawnSync(py, ['-c', 'import torch, onnx, scipy, numpy, PIL'], { stdio: 'ignore' }).status === 0;

function setup() {
  const missing = [!hasChromium() && 'chromium (/usr/bin/chromium)', !hasPython() && 'python3 with torch, onnx, scipy, numpy, PIL'].filter(Boolean);
  if (!missing.length) return true;
  const cmd = `apt-get install -y --no-install-recommends ${APT.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing ${missing.join(', ')}. Install them with:\n  sudo apt-get update && sudo ${cmd}`);
    return false;
  }
  console.log(`setup: installing ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...APT], { stdio: 'inherit', env });
  const ok = hasChromium() && hasPython();
  if (!ok) console.error(`setup: still missing after apt-get (${cmd})`);
  return ok;
}

const failed = [];
if (!setup()) failed.push('setup');

const work = mkdtempSync(join(tmpdir(), 'daguerre-test-'));
const tally = join(work, 'prereq-skips.jsonl');
const json = (n) => join(work, `${n}.json`);
const report = (n) => ['--reporter=default', '--reporter=json', `--outputFile.json=${json(n)}`];
const steps = [
  ['type-check', 'npx', ['tsc', '-b']],
  ['unit + integration', 'npx', ['vitest', 'run', ...report('unit')]],
  ['browser end-to-end', 'npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts', ...report('e2e')]],
];
if (hasPython()) steps.push(['python training tests', py, ['-m', 'unittest', 'discover', '-s', 'training/tests']]);
// (missing python already failed the setup step)

const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip', DAGUERRE_SKIP_TALLY: tally };
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  const ok = r.status === 0;
  console.log(`=== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (!ok) failed.push(name);
}

// Tally: skipped tests per file (vitest JSON) and the missing prerequisites behind them (test/prereq.ts).
const skipped = new Map();
for (const n of ['unit', 'e2e']) {
  if (!existsSync(json(n))) continue;
  for (const f of JSON.parse(readFileSync(json(n), 'utf8')).testResults ?? []) {
    const k = f.assertionResults.filter((a) => a.status === 'skipped' || a.status === 'pending' || a.status === 'todo').length;
    if (k) skipped.set(f.name.replace(process.cwd() + '/', ''), k);
  }
}
const reasons = new Map();
if (existsSync(tally)) for (const l of readFileSync(tally, 'utf8').split('\n').filter(Boolean)) {
  const { name, why } = JSON.parse(l);
  reasons.set(`${name}: ${why}`, (reasons.get(`${name}: ${why}`) ?? 0) + 1);
}
const total = [...skipped.values()].reduce((a, b) => a + b, 0);
console.log(`\n=== skipped: ${total} test(s)${total ? '' : ' (none)'}`);
for (const [f, k] of [...skipped].sort()) console.log(`  ${String(k).padStart(4)}  ${f}`);
if (reasons.size) console.log('  because:');
for (const r of reasons.keys()) console.log(`    - ${r}`);
rmSync(work, { recursive: true, force: true });

console.log(failed.length ? `\nFAILED steps: ${failed.join(', ')}` : '\nall test steps passed');
process.exit(failed.length ? 1 : 0);
