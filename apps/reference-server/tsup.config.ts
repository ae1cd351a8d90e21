import { cpSync, existsSync, rmSync } from 'node:fs'
import { defineConfig } from 'tsup'

const demoBuild = new URL('../demo/dist', import.meta.url)
const demoCopy = new URL('./demo', import.meta.url)

export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  // Dependencies (the workspace packages, prom-client) stay imports, resolved from node_modules.
  // The built demo ships inside the package (`demo/`), so the server runs outside this repository.
  onSuccess: async () => {
    rmSync(demoCopy, { recursive: true, force: true })
    if (existsSync(demoBuild)) cpSync(demoBuild, demoCopy, { recursive: true })
  },
})
