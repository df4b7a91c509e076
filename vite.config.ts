import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Renderer build: src/renderer -> out/renderer, relative base so it loads from file:// or app://. */
export default defineConfig({
  root: `${here}src/renderer`,
  base: './',
  plugins: [react()],
  build: {
    outDir: `${here}out/renderer`,
    emptyOutDir: true,
    target: 'chrome130',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: { fs: { allow: [here] } },
});
