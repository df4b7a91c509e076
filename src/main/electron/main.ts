/**
 * Electron entry: window, security, custom protocol, IPC registration, engine host as a
 * utilityProcess. Everything else is the Electron-free core (src/main/core.ts).
 */
import { app, BrowserWindow, dialog, ipcMain, net, protocol, session, shell, utilityProcess } from 'electron';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCore, type Core } from '../core';
import { GRANT_DROPPED, IPC_PREFIX, channels, eventNames } from '../../shared/contract';
import { settingsFromConf, defaultSettings, type ConfLike } from '../settings';
import type { HostProcess } from '../engine-client';
import type { FromHost } from '../../engine/host-protocol';
import { APP_ORIGIN, CSP, appOrigins, bundleFile, isAllowedNavigation, isTrustedSender, permissionDecision } from './policy';
import { hostEnv, stderrFilter } from '../host-stderr';

const here = path.dirname(fileURLToPath(import.meta.url));
const appRoot = app.getAppPath();

protocol.registerSchemesAsPrivileged([
  { scheme: 'daguerre', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  // The renderer bundle: a custom protocol instead of file:// (the grantFileProtocolExtraPrivileges fuse is off).
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
const origins = appOrigins(process.env.DAGUERRE_DEV_URL);
const rendererDir = path.join(here, '../renderer');

/** better-sqlite3 built for Electron's ABI lives outside node_modules in development (see scripts/ensure-electron-native.mjs). */
function useElectronNativeBinding(): void {
  if (app.isPackaged) return;
  const p = path.join(appRoot, '.cache', 'electron-native', process.versions.electron, 'better_sqlite3.node');
  if (fs.existsSync(p)) process.env.DAGUERRE_SQLITE_BINDING = p;
}

function utilityHost(): HostProcess {
  // stderr through the same filter as the CLI's host (src/main/host-stderr.ts); stdout inherited.
  const child = utilityProcess.fork(path.join(here, 'engine-host.js'), [], { serviceName: 'Daguerre engine', stdio: ['ignore', 'inherit', 'pipe'], env: hostEnv() });
  const err = stderrFilter((s) => process.stderr.write(s));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  child.stderr?.on('end', () => err.end());
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => child.postMessage(m),
    onMessage: (cb) => child.on('message', (m: unknown) => cb(m as FromHost)),
    onExit: (cb) => child.on('exit', (code: number) => cb(code)),
    kill: () => void child.kill(),
  };
}

let core: Core | null = null;
let win: BrowserWindow | null = null;

function trusted(event: Electron.IpcMainEvent | Electron.IpcMainInvokeEvent): boolean {
  const f = event.senderFrame;
  return isTrustedSender({ fromOurWindow: !!win && event.sender === win.webContents, isMainFrame: !!f && !!win && f === win.webContents.mainFrame && f.parent === null, url: f?.url ?? '' }, origins);
}

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.wasm': 'application/wasm', '.map': 'application/json' };
const mimeOf = (f: string) => MIME[path.extname(f).toLowerCase()] ?? 'application/octet-stream';

async function createWindow(): Promise<void> {
  win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    title: 'Daguerre',
    backgroundColor: '#15161a',
    show: false,
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win?.show());
  // No navigation away from the app (top frame, redirects, sub-frames), no new windows.
  const guard = (e: { url: string; preventDefault(): void }) => {
    if (!isAllowedNavigation(e.url, origins)) e.preventDefault();
  };
  win.webContents.on('will-navigate', guard);
  win.webContents.on('will-redirect', guard);
  // The app has no frames: every sub-frame navigation is refused.
  win.webContents.on('will-frame-navigate', (e) => {
    if (!e.isMainFrame || !isAllowedNavigation(e.url, origins)) e.preventDefault();
  });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  await win.loadURL(process.env.DAGUERRE_DEV_URL || `${APP_ORIGIN}/index.html`);
}

app.whenReady().then(async () => {
  useElectronNativeBinding();
  const Store = (await import('electron-store')).default;
  const store = new Store({ name: 'settings', defaults: defaultSettings() as unknown as Record<string, unknown> });
  const dataDir = path.join(app.getPath('userData'), 'library');
  const modelDirs = [app.isPackaged ? path.join(process.resourcesPath, 'models') : path.join(appRoot, 'models')];
  process.env.DAGUERRE_NIQE_DIR ??= path.join(modelDirs[0], 'niqe');
  core = await createCore({
    dataDir,
    modelDirs,
    settings: settingsFromConf(store as unknown as ConfLike),
    spawnHost: utilityHost,
    dialogs: {
      async openPhotos(folders) {
        const r = await dialog.showOpenDialog(win!, {
          title: folders ? 'Import folders' : 'Import photos',
          properties: folders ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
          filters: folders ? [] : [{ name: 'Images', extensions: ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif', 'heic'] }],
        });
        return r.canceled ? [] : r.filePaths;
      },
      async saveResult(defaultName, format) {
        // The OS dialog asks before replacing a file (Linux: showOverwriteConfirmation); that answer is the export's overwrite choice.
        const r = await dialog.showSaveDialog(win!, { defaultPath: defaultName, properties: ['showOverwriteConfirmation', 'createDirectory'], filters: [{ name: format.toUpperCase(), extensions: [format === 'jpeg' ? 'jpg' : format] }] });
        return r.canceled || !r.filePath ? null : r.filePath;
      },
      reveal: (p) => shell.showItemInFolder(p),
    },
  });

  // Strict CSP for everything the window loads.
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // Permissions: only those the app uses (notifications), only for its own origin.
  session.defaultSession.setPermissionRequestHandler((wc, permission, cb, details) => cb(permissionDecision(permission, details.requestingUrl || wc.getURL(), origins)));
  session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionDecision(permission, requestingOrigin, origins));

  // app://bundle/<path>: the built renderer, nothing outside its folder.
  protocol.handle('app', async (req) => {
    const f = bundleFile(rendererDir, req.url);
    if (!f) return new Response('not found', { status: 404 });
    const res = await net.fetch(pathToFileURL(f).toString());
    return new Response(res.body, { status: res.status, headers: { 'content-type': mimeOf(f) } });
  });

  // daguerre://media/<kind>/<id>: only library thumbnails, imported originals and results.
  protocol.handle('daguerre', async (req) => {
    const u = new URL(req.url);
    const m = /^\/(original|thumb|result)\/(\d+)$/.exec(u.pathname);
    if (u.host !== 'media' || !m) return new Response('not found', { status: 404 });
    const f = await core!.mediaFile(m[1] as 'original' | 'thumb' | 'result', Number(m[2]));
    if (!f) return new Response('not found', { status: 404 });
    const res = await net.fetch(pathToFileURL(f.path).toString());
    return new Response(res.body, { headers: { 'content-type': f.mime, 'cache-control': 'no-cache' } });
  });

  for (const ch of Object.keys(channels)) {
    ipcMain.handle(IPC_PREFIX + ch, async (event, args) => {
      // Only our own window's top frame, showing our own origin, may call.
      if (!trusted(event)) {
        return { ok: false, error: { code: 'FORBIDDEN_PATH', message: 'IPC from an unknown frame' } };
      }
      return core!.dispatch(ch, args);
    });
  }
  // The preload reports the paths of files the user dropped or pasted; those are granted for import.
  ipcMain.on(IPC_PREFIX + GRANT_DROPPED, (event, paths: unknown) => {
    const ok = trusted(event) && Array.isArray(paths) && paths.length <= 10000;
    if (ok) for (const p of paths as unknown[]) if (typeof p === 'string' && path.isAbsolute(p) && p.length < 4096) core!.grant(p);
    event.returnValue = ok;
  });
  core.onEvent((name, payload) => {
    if ((eventNames as string[]).includes(name)) win?.webContents.send(IPC_PREFIX + name, payload);
  });

  await createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow();
  });
});

app.on('window-all-closed', async () => {
  await core?.close();
  if (process.platform !== 'darwin') app.quit();
});
