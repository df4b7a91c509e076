/**
 * The Electron window's security policy as pure functions (no Electron import), so that it is
 * unit-tested without the Electron binary (DESIGN.md §4). main.ts wires them to the session and
 * the web contents.
 */
import * as path from 'node:path';

/** The renderer is served from this origin by the `app` protocol (not file://, see electron-builder.yml's fuses). */
export const APP_ORIGIN = 'app://bundle';

/** Origins the window may show: the bundled app, or the Vite dev server when DAGUERRE_DEV_URL is set. */
export function appOrigins(devUrl?: string): string[] {
  const o = [APP_ORIGIN];
  if (devUrl) {
    try {
      o.push(new URL(devUrl).origin);
    } catch {
      /* a malformed dev URL adds nothing */
    }
  }
  return o;
}

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    // 'app:' is registered as a standard scheme, but Node's URL gives non-special schemes origin 'null'.
    return u.protocol === 'app:' ? `app://${u.host}` : u.origin;
  } catch {
    return null;
  }
}

/** Whether a top-frame navigation (or redirect) to `url` stays inside the app. Everything else is refused. */
export function isAllowedNavigation(url: string, origins: string[]): boolean {
  const o = originOf(url);
  return o !== null && o !== 'null' && origins.includes(o);
}

/** What main knows of the frame that sent an IPC message. */
export interface FrameInfo {
  /** event.sender === win.webContents */
  fromOurWindow: boolean;
  /** event.senderFrame === win.webContents.mainFrame (and senderFrame.parent === null) */
  isMainFrame: boolean;
  /** event.senderFrame.url; '' when the frame is gone */
  url: string;
}

/** Only our window's top frame, showing our own origin, may call main. */
export function isTrustedSender(f: FrameInfo, origins: string[]): boolean {
  return f.fromOurWindow && f.isMainFrame && isAllowedNavigation(f.url, origins);
}

/** Permissions the app uses: desktop notifications when a batch finishes (renderer/store.tsx). */
export const ALLOWED_PERMISSIONS: readonly string[] = ['notifications'];

/** Permission requests and checks: granted only for the app's own origin and only the ones it uses. */
export function permissionDecision(permission: string, requestingUrl: string, origins: string[]): boolean {
  return ALLOWED_PERMISSIONS.includes(permission) && isAllowedNavigation(requestingUrl, origins);
}

/** Content-Security-Policy of the window, as sent in the header and written in index.html. */
export const CSP = [
  "default-src 'self'",
  "img-src 'self' daguerre: data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self' daguerre:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The policy index.html's <meta> carries: the header's without `frame-ancestors`, which browsers
 * ignore (and warn about on the console) when delivered in a <meta>; the header enforces it.
 */
export const META_CSP = CSP.split('; ')
  .filter((d) => !d.startsWith('frame-ancestors'))
  .join('; ');

/**
 * The file the `app://bundle/<path>` protocol serves from the renderer folder `root`, or null for
 * anything outside it (`..`, encoded slashes, another host).
 */
export function bundleFile(root: string, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'app:' || u.host !== 'bundle') return null;
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  if (rel === '/' || rel === '') rel = '/index.html';
  const base = path.resolve(root);
  const p = path.resolve(base, '.' + rel);
  return p.startsWith(base + path.sep) ? p : null;
}
