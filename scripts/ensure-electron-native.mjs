// `npm start` runs Electron, whose ABI differs from Node's. Rebuilding better-sqlite3 in place would
// break `npm test` (Node) and vice versa, so the Electron build lives in its own folder,
// .cache/electron-native/<electron version>/better_sqlite3.node, and the app passes it to
// better-sqlite3 as `nativeBinding`. node_modules is never touched: start and test work in any order.
import { existsSync, mkdirSync, cpSync, copyFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const electronVersion = require('electron/package.json').version;
const dest = path.join('.cache', 'electron-native', electronVersion, 'better_sqlite3.node');
if (existsSync(dest)) process.exit(0);
const work = path.join('.cache', 'electron-native', 'build-better-sqlite3');
rmSync(work, { recursive: true, force: true });
mkdirSync(path.dirname(dest), { recursive: true });
cpSync(path.dirname(require.resolve('better-sqlite3/package.json')), work, { recursive: true, filter: (s) => !s.includes(`${path.sep}build${path.sep}`) });
const env = { ...process.env, npm_config_runtime: 'electron', npm_config_target: electronVersion, npm_config_disturl: 'https://electronjs.org/headers' };
try {
  // Prebuilt binary for this Electron version when the network has it, else a local compile.
  try {
    execFileSync(process.execPath, [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electronVersion], { cwd: work, stdio: 'inherit', env });
  } catch {
    execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '--release', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers'], { cwd: work, stdio: 'inherit', env });
  }
  copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), dest);
  console.log(`better-sqlite3 for Electron ${electronVersion}: ${dest}`);
} catch (e) {
  console.error(`could not build better-sqlite3 for Electron ${electronVersion} (needs Electron's headers or a prebuilt from the network): ${e.message.split('\n')[0]}`);
  process.exit(1);
}
