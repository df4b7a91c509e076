/** The Electron window's security policy (src/main/electron/policy.ts), its CSP and the build's fuses, without the Electron binary. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, CSP, META_CSP, appOrigins, bundleFile, isAllowedNavigation, isTrustedSender, permissionDecision } from '../../src/main/electron/policy';
import { devCsp } from '../../vite.config';

const ROOT = path.resolve(__dirname, '../..');
const prod = appOrigins();
const dev = appOrigins('http://127.0.0.1:5173/');

const metaCsp = (html: string) => /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1] ?? '';
const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1)] as const));

describe('navigation', () => {
  it('stays inside the app bundle', () => {
    expect(isAllowedNavigation(`${APP_ORIGIN}/index.html`, prod)).toBe(true);
    expect(isAllowedNavigation(`${APP_ORIGIN}/index.html#/photo/3`, prod)).toBe(true);
  });
  it.each([
    'https://example.com/',
    'http://127.0.0.1:5173/',
    'file:///etc/passwd',
    'app://other/index.html',
    'daguerre://media/original/1',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'about:blank',
    'not a url',
    '',
  ])('refuses %s in production', (url) => expect(isAllowedNavigation(url, prod)).toBe(false));
  it('the dev server origin only when it is the dev URL', () => {
    expect(isAllowedNavigation('http://127.0.0.1:5173/index.html', dev)).toBe(true);
    expect(isAllowedNavigation('http://127.0.0.1:5174/', dev)).toBe(false);
    expect(isAllowedNavigation('http://localhost:5173/', dev)).toBe(false);
    expect(appOrigins('::bad')).toEqual([APP_ORIGIN]);
  });
});

describe('IPC sender', () => {
  const good = { fromOurWindow: true, isMainFrame: true, url: `${APP_ORIGIN}/index.html` };
  it('our window, top frame, our origin', () => expect(isTrustedSender(good, prod)).toBe(true));
  it('refuses a sub-frame even with our origin', () => expect(isTrustedSender({ ...good, isMainFrame: false }, prod)).toBe(false));
  it('refuses another web contents', () => expect(isTrustedSender({ ...good, fromOurWindow: false }, prod)).toBe(false));
  it('refuses a foreign or missing origin', () => {
    expect(isTrustedSender({ ...good, url: 'https://evil.example/' }, prod)).toBe(false);
    expect(isTrustedSender({ ...good, url: 'file:///tmp/x.html' }, prod)).toBe(false);
    expect(isTrustedSender({ ...good, url: '' }, prod)).toBe(false);
  });
});

describe('permissions', () => {
  it('notifications for the app only', () => {
    expect(permissionDecision('notifications', `${APP_ORIGIN}/index.html`, prod)).toBe(true);
    expect(permissionDecision('notifications', 'https://evil.example/', prod)).toBe(false);
  });
  it.each(['media', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'hid', 'serial', 'usb', 'pointerLock', 'display-capture', 'unknown'])('denies %s', (p) =>
    expect(permissionDecision(p, `${APP_ORIGIN}/index.html`, prod)).toBe(false),
  );
});

describe('app:// bundle files', () => {
  const root = path.join(ROOT, 'out/renderer');
  it('serves files inside the renderer folder', () => {
    expect(bundleFile(root, 'app://bundle/index.html')).toBe(path.join(root, 'index.html'));
    expect(bundleFile(root, 'app://bundle/')).toBe(path.join(root, 'index.html'));
    expect(bundleFile(root, 'app://bundle/assets/index-abc.js?x=1')).toBe(path.join(root, 'assets/index-abc.js'));
  });
  it('dot segments are resolved by the URL and stay inside the folder', () => {
    expect(bundleFile(root, 'app://bundle/../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(bundleFile(root, 'app://bundle/%2e%2e/%2e%2e/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
  });
  it.each(['app://bundle/..%2f..%2fetc%2fpasswd', 'app://bundle/a%5c..%5c..%5cx', 'app://bundle/%00', 'app://bundle/%zz', 'app://other/index.html', 'file:///etc/passwd'])(
    'refuses %s',
    (u) => expect(bundleFile(root, u)).toBeNull(),
  );
});

describe('CSP', () => {
  const html = fs.readFileSync(path.join(ROOT, 'src/renderer/index.html'), 'utf8');
  it('index.html carries the header policy less frame-ancestors (ignored in a <meta>, enforced by the header)', () => {
    expect(metaCsp(html)).toBe(META_CSP);
    expect(CSP).toBe(`${META_CSP.replace("; form-action", "; frame-ancestors 'none'; form-action")}`);
  });
  it('is strict: no loopback, no plugins, no base, no framing, no forms', () => {
    const d = directives(CSP);
    expect(CSP).not.toMatch(/127\.0\.0\.1|localhost|\*|unsafe-eval/);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('form-action')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
  });
  it('only the dev server adds the loopback origins', () => {
    const d = directives(metaCsp(devCsp(html)));
    expect(d.get('img-src')).toContain('http://127.0.0.1:*');
    expect(d.get('connect-src')).toContain('ws://127.0.0.1:*');
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
  });
  it('the production build keeps the strict policy (the dev plugin applies to serve only)', async () => {
    const { devCspPlugin } = await import('../../vite.config');
    expect(devCspPlugin.apply).toBe('serve');
  });
});

describe('electron-builder fuses', () => {
  const yml = fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');
  const block = /^electronFuses:\n((?:[ ]+.*\n)+)/m.exec(yml)?.[1] ?? '';
  const fuses = Object.fromEntries(block.split('\n').map((l) => /^\s+(\w+):\s*(true|false)/.exec(l)).filter((m) => m).map((m) => [m![1], m![2] === 'true']));
  it('are set as the security checklist asks', () => {
    expect(fuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });
  it('every key is one electron-builder knows', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8'));
    const known = Object.keys(schema.definitions.FuseOptionsV1.properties);
    for (const k of Object.keys(fuses)) expect(known).toContain(k);
  });
});
