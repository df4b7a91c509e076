import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

// theme-boot.js is a classic script on purpose (it must run before first paint, so no flash of the
// wrong theme); Vite warns that it cannot bundle it. Keep the rest of the warnings.
const logger = createLogger();
for (const k of ['warn', 'warnOnce'] as const) {
  const orig = logger[k].bind(logger);
  logger[k] = (msg, opts) => {
    if (!msg.includes('theme-boot.js')) orig(msg, opts);
  };
}

/**
 * index.html's CSP is the production one (no loopback origins). Only the dev server (`vite serve`,
 * `npm start`) adds the loopback origins it is served from and its HMR websocket.
 */
export function devCsp(html: string): string {
  const dev = 'http://127.0.0.1:* http://localhost:*';
  return html.replace(/(http-equiv="Content-Security-Policy"\s+content=")([^"]*)"/, (_m, head: string, csp: string) => {
    const out = csp
      .split(';')
      .map((d) => d.trim())
      .map((d) => (/^(img-src|connect-src)\s/.test(d) ? `${d} ${dev}${d.startsWith('connect-src') ? ' ws://127.0.0.1:* ws://localhost:*' : ''}` : d))
      .join('; ');
    return `${head}${out}"`;
  });
}
export const devCspPlugin: Plugin = { name: 'daguerre-dev-csp', apply: 'serve', transformIndexHtml: (html) => devCsp(html) };

/** Renderer build: src/renderer -> out/renderer, relative base so it loads from file:// or app://. */
export default defineConfig({
  root: `${here}src/renderer`,
  base: './',
  plugins: [react(), devCspPlugin],
  customLogger: logger,
  build: {
    outDir: `${here}out/renderer`,
    emptyOutDir: true,
    target: 'chrome130',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: { fs: { allow: [here] } },
});
