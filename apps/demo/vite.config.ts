import { defineConfig } from 'vite'

/** `vite` (dev) serves the demo with live reload against a reference server on :8080. */
const server = 'http://127.0.0.1:8080'

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/lifeline': { target: server, ws: true },
      '/demo/drop': server,
    },
  },
})
