import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  // Dependencies (the workspace packages, prom-client) stay imports, resolved from node_modules.
  banner: { js: '#!/usr/bin/env node' },
})
