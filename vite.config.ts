import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig } from 'vite';
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

/** Renderer build: src/renderer -> out/renderer, relative base so it loads from file:// or app://. */
export default defineConfig({
  root: `${here}src/renderer`,
  base: './',
  plugins: [react()],
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
