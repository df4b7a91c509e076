/**
 * Browser end-to-end harness: a Node HTTP server around the **real** Core (library on better-sqlite3,
 * job queue, engine host child process, settings), serving the Vite-built renderer with the real
 * preload bundled against the browser shim of `electron` (test/e2e/shim/electron.ts).
 *
 *   POST /ipc/<channel>      -> core.dispatch(channel, body)      (the shim's ipcRenderer.invoke)
 *   GET  /events             -> SSE of core.onEvent               (the shim's ipcRenderer.on)
 *   GET  /media/<kind>/<id>  -> core.mediaFile(kind, id)          (mediaBase = <origin>/media/)
 *   GET  /*                  -> out/renderer-e2e (index.html gets the preload <script> first)
 *
 * Only the native dialogs are stand-ins (tests script their answers). Run standalone for a look:
 *   npx tsx test/e2e/server.ts [--port 5178] [--data /tmp/dg] [--import /path/to/photos]
 */
import { build as esbuild } from 'esbuild';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Core } from '../../src/main/core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const sharedData = path.resolve(repoRoot, '../shared/data');
export const rendererOut = path.join(repoRoot, 'out/renderer-e2e');
export const fixtureModels = path.join(repoRoot, 'test/fixtures/models');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Build the renderer (Vite, repo's vite.config.ts) and the shimmed preload (esbuild) into outDir. */
export async function buildRenderer(outDir = rendererOut): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: path.join(repoRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: true },
  });
  await esbuild({
    entryPoints: [path.join(repoRoot, 'src/preload/index.ts')],
    outfile: path.join(outDir, 'preload-shim.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    alias: { electron: path.join(repoRoot, 'test/e2e/shim/electron.ts') },
    logLevel: 'warning',
  });
}

export interface DialogScript {
  /** Answers for dialog.openPhotos, used in order (then []). */
  openPhotos: string[][];
  /** Folder dialog.saveResult answers in (null = the user cancels). */
  saveDir: string | null;
  revealed: string[];
  saved: string[];
}

export interface TestServer {
  url: string;
  core: Core;
  dataDir: string;
  dialogs: DialogScript;
  close(): Promise<void>;
}

export interface ServerOptions {
  port?: number;
  dataDir?: string;
  /** Folders the "user" may import from without a dialog (like files dropped on the window). */
  grantedRoots?: string[];
  modelDirs?: string[];
  build?: boolean;
  outDir?: string;
  /** Settings to apply at start (e.g. threads: 1 on a shared machine). */
  settings?: Record<string, unknown>;
  log?: boolean;
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const outDir = opts.outDir ?? rendererOut;
  if (opts.build !== false || !fs.existsSync(path.join(outDir, 'index.html'))) await buildRenderer(outDir);
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'daguerre-e2e-'));
  const dialogs: DialogScript = { openPhotos: [], saveDir: path.join(dataDir, 'exports'), revealed: [], saved: [] };
  fs.mkdirSync(dialogs.saveDir!, { recursive: true });

  const { createCore } = await import('../../src/main/core');
  const core = await createCore({
    dataDir,
    modelDirs: opts.modelDirs ?? [fixtureModels],
    grantedRoots: opts.grantedRoots ?? (fs.existsSync(sharedData) ? [sharedData] : []),
    dialogs: {
      async openPhotos() {
        return dialogs.openPhotos.shift() ?? [];
      },
      async saveResult(defaultName) {
        if (!dialogs.saveDir) return null;
        const p = path.join(dialogs.saveDir, defaultName);
        dialogs.saved.push(p);
        return p;
      },
      reveal(p) {
        dialogs.revealed.push(p);
      },
    },
  });
  if (opts.settings) await core.dispatch('settings.set', { patch: opts.settings });

  const indexHtml = fs
    .readFileSync(path.join(outDir, 'index.html'), 'utf8')
    // The preload runs before any page script, as in Electron.
    .replace('<head>', '<head>\n    <script src="./preload-shim.js"></script>');

  const sse = new Set<http.ServerResponse>();
  const offEvents = core.onEvent((name, payload) => {
    const msg = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of sse) res.write(msg);
  });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = decodeURIComponent(url.pathname);
    try {
      if (req.method === 'POST' && p === '/grant-dropped') {
        // What the Electron main does for the preload's GRANT_DROPPED message.
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const paths = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]') as unknown;
        if (Array.isArray(paths)) for (const x of paths) if (typeof x === 'string' && path.isAbsolute(x)) core.grant(x);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('true');
        return;
      }
      if (req.method === 'POST' && p.startsWith('/ipc/')) {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        let args: unknown = {};
        try {
          args = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        } catch {
          args = undefined;
        }
        const t0 = Date.now();
        const result = await core.dispatch(p.slice(5), args);
        if (opts.log) console.log(`ipc ${p.slice(5)} ${Date.now() - t0}ms ${result.ok ? 'ok' : JSON.stringify(result.error)}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result));
        return;
      }
      if (p === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(': hello\n\n');
        sse.add(res);
        const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
        req.on('close', () => {
          clearInterval(ping);
          sse.delete(res);
        });
        return;
      }
      const m = /^\/media\/(original|thumb|result)\/(\d+)$/.exec(p);
      if (m) {
        const f = await core.mediaFile(m[1] as 'original' | 'thumb' | 'result', Number(m[2]));
        if (!f) {
          res.writeHead(404).end('not found');
          return;
        }
        const st = fs.statSync(f.path);
        res.writeHead(200, { 'content-type': f.mime, 'content-length': st.size, 'cache-control': 'no-cache' });
        fs.createReadStream(f.path).pipe(res);
        return;
      }
      // Static renderer files.
      if (p === '/' || p === '/index.html') {
        res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
        res.end(indexHtml);
        return;
      }
      const file = path.join(outDir, path.normalize(p).replace(/^([/\\])+/, ''));
      if (!file.startsWith(outDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  const url = `http://127.0.0.1:${addr.port}`;

  return {
    url,
    core,
    dataDir,
    dialogs,
    async close() {
      offEvents();
      for (const r of sse) r.end();
      sse.clear();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.close();
    },
  };
}

// Standalone: `npx tsx test/e2e/server.ts --port 5178 [--data dir] [--import path] [--no-build]`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (k: string) => {
    const i = process.argv.indexOf(k);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const imp = arg('--import');
  const s = await startServer({
    port: Number(arg('--port') ?? 5178),
    dataDir: arg('--data'),
    build: !process.argv.includes('--no-build'),
    grantedRoots: [sharedData, ...(imp ? [imp] : [])],
    settings: { threads: 1 },
    log: process.argv.includes('--log'),
  });
  if (imp) {
    const r = await s.core.dispatch('library.import', { paths: [imp] });
    console.log('import:', r.ok ? `${(r.value as { imported: unknown[] }).imported.length} imported` : r.error);
  }
  s.dialogs.openPhotos.push(...Array.from({ length: 20 }, () => [path.join(sharedData, 'real/old')]));
  console.log(`Daguerre e2e server: ${s.url}  (data ${s.dataDir})`);
  const stop = async () => {
    await s.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
