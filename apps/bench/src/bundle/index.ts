/**
 * Browser bundle size: what an app adds by importing the client and its ws transport, bundled for the
 * browser (esbuild, minified, ESM) and gzipped at level 9; next to socket.io-client and partysocket
 * (a reconnecting WebSocket without recovery) bundled the same way. The Lifeline bundle must not
 * contain the `ws` package at all. Two targets: the goal of 6 KB, shown (and missed: see
 * docs/benchmarks.md for why), and the budget, the size reached, which fails `pnpm bench` and CI above it
 * so the client cannot grow unnoticed.
 */
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import type { BenchModule, Side } from '../framework/types.js'

/** The goal (issue 12); not reached by this client without dropping features (see the report). */
export const BUNDLE_GOAL_KB = 6
/** Enforced: 13.2 KB measured when set, with room for a small addition; raise it only on purpose. */
export const BUNDLE_BUDGET_KB = 14

const ENTRIES = {
  lifeline: `
import { createClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws'
export const client = createClient({ transport: wsTransport('wss://example.com/lifeline') })
`,
  'socket.io-client': `
import { io } from 'socket.io-client'
export const socket = io('https://example.com')
`,
  partysocket: `
import PartySocket from 'partysocket'
export const socket = new PartySocket({ host: 'example.com', room: 'lobby' })
`,
}

/** Minified and gzipped sizes in KB (1024 bytes) of one entry bundled for browsers. */
export async function bundleSize(entry: string): Promise<{ min: number; gz: number; inputs: string[] }> {
  const result = await build({
    stdin: { contents: entry, resolveDir: import.meta.dirname, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  return {
    min: code.length / 1024,
    gz: gzipSync(code, { level: 9 }).length / 1024,
    inputs: Object.keys(result.metafile.inputs),
  }
}

const side = (name: string, entry: string, checkNoWs: boolean): Side => ({
  name,
  run: async () => {
    const { min, gz, inputs } = await bundleSize(entry)
    if (checkNoWs && inputs.some((path) => path.includes('/ws/lib/') || path.includes('node_modules/ws/'))) {
      throw new Error('the browser bundle contains the ws package')
    }
    return { gz, min }
  },
})

export const bundleBench: BenchModule = {
  name: 'bundle',
  scenarios: () => [
    {
      id: 'bundle',
      title: 'browser bundle, core client + ws adapter',
      description:
        'esbuild bundles `createClient` + `wsTransport` for the browser (ESM, minified) and gzip -9 compresses it; socket.io-client (`io`) and partysocket (`PartySocket`) the same way. The goal is 6 KB min+gzip; the run fails above the budget of ' +
        `${BUNDLE_BUDGET_KB} KB (the size reached, with a little room), and when the ` +
        '`ws` package gets into the browser bundle.',
      sides: [
        side('Lifeline core client + ws', ENTRIES.lifeline, true),
        side('socket.io-client', ENTRIES['socket.io-client'], false),
        side('partysocket (no recovery)', ENTRIES.partysocket, false),
      ],
      rounds: 1,
      warmup: false,
      metrics: [
        {
          key: 'gz',
          title: 'min+gzip',
          unit: 'KB',
          better: 'lower',
          digits: 1,
          targets: [
            { max: BUNDLE_GOAL_KB, note: 'goal' },
            { max: BUNDLE_BUDGET_KB, note: 'budget', budget: true },
          ],
        },
        { key: 'min', title: 'minified', unit: 'KB', better: 'lower', digits: 1 },
      ],
    },
  ],
}
