import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The CDS board, built into board/dist and served by the gateway at /board/
 * (gateway/board.ts). Vite 8 compiles TSX itself (Oxc), so no React plugin is
 * needed for a production build; the board has no dev server of its own.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/board/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small bundle; no inline scripts, so the gateway's CSP can say script-src 'self'.
    modulePreload: { polyfill: false },
  },
});
