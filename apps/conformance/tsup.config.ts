import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    cli: 'src/cli.ts',
    index: 'src/index.ts',
    'drivers/typescript': 'src/drivers/typescript.ts',
  },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  // The workspace packages, ajv and ws stay imports, resolved from node_modules.
  banner: { js: '#!/usr/bin/env node' },
})
