// `npm start`: build, make sure native modules exist for Electron's ABI, launch Electron.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let electronBin;
try {
  electronBin = require('electron');
} catch {
  electronBin = null;
}
if (!electronBin || typeof electronBin !== 'string' || !existsSync(electronBin)) {
  console.error("Electron's binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD or no network): run `npm i electron` where it can be downloaded. The CLI (`npx daguerre`) and the tests work without it.");
  process.exit(1);
}
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/ensure-electron-native.mjs'], { stdio: 'inherit' });
const child = spawn(electronBin, ['.'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
