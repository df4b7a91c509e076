// `npm test`: type-check, unit + integration tests (Node, real SQLite/sharp/onnxruntime), browser
// end-to-end tests (Vite + Debian's Chromium), the Python training tests. Each step runs even when
// an earlier one failed; the exit code is non-zero when any failed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const steps = [
  ['type-check', 'npx', ['tsc', '-b']],
  ['unit + integration', 'npx', ['vitest', 'run']],
  ['browser end-to-end', 'npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts']],
];
const py = '/usr/bin/python3';
const hasTorch = existsSync(py) && spawnSync(py, ['-c', 'import torch, onnx, scipy'], { stdio: 'ignore' }).status === 0;
if (hasTorch) steps.push(['python training tests', py, ['-m', 'unittest', 'discover', '-s', 'training/tests']]);
else console.log('python training tests: SKIPPED (/usr/bin/python3 with torch, onnx and scipy not found; apt-get install python3-torch python3-onnx python3-scipy)');

const failed = [];
for (const [name, cmd, args] of steps) {
  if (name === 'browser end-to-end' && !existsSync('vitest.e2e.config.ts')) continue;
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
  const ok = r.status === 0;
  console.log(`=== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (!ok) failed.push(name);
}
console.log(failed.length ? `\nFAILED steps: ${failed.join(', ')}` : '\nall test steps passed');
process.exit(failed.length ? 1 : 0);
