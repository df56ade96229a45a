/**
 * The visualizer's build: `npm run viz` serves it (vite, on 127.0.0.1), `npm run viz:build` writes it to
 * dist/viz-page (dist/viz holds the compiled `pureraft viz` command). The page imports the core, the
 * simulator and the properties as they are, from ../src and ../properties.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Known up front, so that the first visit does not discover it and reload the page.
  optimizeDeps: { include: ['immer'] },
  server: { host: '127.0.0.1', port: 5173, fs: { allow: [here('..')] } },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: here('../dist/viz-page'), emptyOutDir: true, target: 'es2022' },
});
