// Builds the Electron app into out/: main and engine host (ESM) and preload (CJS, sandboxed) with
// esbuild; the renderer with Vite.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, packages: 'external', logLevel: 'warning' };
rmSync('out/main', { recursive: true, force: true });
rmSync('out/preload', { recursive: true, force: true });
await build({ ...common, format: 'esm', entryPoints: { index: 'src/main/electron/main.ts', 'engine-host': 'src/engine/host.ts' }, outdir: 'out/main', external: ['electron'] });
await build({ ...common, format: 'cjs', entryPoints: ['src/preload/index.ts'], outfile: 'out/preload/index.cjs', external: ['electron'], packages: undefined });
if (!process.argv.includes('--no-renderer')) execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
console.log('built out/main, out/preload, out/renderer');
