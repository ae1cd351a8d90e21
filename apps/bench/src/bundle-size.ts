/**
 * Browser bundle size of the core client with the WebSocket adapter: what an app adds by importing
 * `createClient` and `wsTransport`, bundled for the browser, minified and gzipped (level 9). The `ws`
 * package must not be in it at all: that is checked too.
 * Target (brief): <= 6 KB. Run: pnpm --filter @lifeline/bench bench:bundle
 */
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const entry = `
import { createClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws'
export const client = createClient({ transport: wsTransport('wss://example.com/lifeline') })
`
const result = await build({
  stdin: { contents: entry, resolveDir: import.meta.dirname, loader: 'js' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  write: false,
  metafile: true,
})
const code = result.outputFiles[0]?.contents ?? new Uint8Array()
const gzipped = gzipSync(code, { level: 9 }).length
const inputs = Object.keys(result.metafile.inputs)
if (inputs.some((path) => path.includes('/ws/lib/') || path.includes('node_modules/ws/'))) {
  throw new Error('the browser bundle contains the ws package')
}
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`
console.log(
  `browser bundle, core client + ws adapter: ${kb(code.length)} minified, ${kb(gzipped)} min+gzip (target <= 6 KB: ${gzipped <= 6 * 1024 ? 'meets' : 'ABOVE'}); no ws inside`,
)
