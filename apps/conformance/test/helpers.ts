import { fileURLToPath } from 'node:url'
import type { ConformanceOptions, RunningServer } from '../../reference-server/src/index.js'
import { startServer } from '../../reference-server/src/index.js'
import type { ServerTarget } from '../src/index.js'

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
export const DRIVER = fileURLToPath(new URL('../dist/drivers/typescript.js', import.meta.url))

export const SECRET = 'conformance-tests-secret-0123456789abcdef'

export interface ReferenceServers {
  readonly servers: readonly RunningServer[]
  readonly targets: readonly ServerTarget[]
  close(): Promise<void>
}

/** Reference servers in conformance mode, in this process, on free ports. */
export async function referenceServers(
  count: number,
  conformance: ConformanceOptions = {},
  transport: 'ws' | 'socket.io' = 'ws',
): Promise<ReferenceServers> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      startServer(
        { port: 0, host: '127.0.0.1', secret: SECRET, logLevel: 'silent', conformance },
        { logSink: { write: () => true }, warnSink: { write: () => true } },
      ),
    ),
  )
  return {
    servers,
    targets: servers.map((server) => ({
      control: server.controlUrl as string,
      ...(transport === 'ws'
        ? { url: `ws://127.0.0.1:${server.port}/lifeline` }
        : {
            url: `http://127.0.0.1:${server.port}`,
            socketIo: { path: '/socket.io/', namespace: '/lifeline', event: 'lifeline' },
          }),
    })),
    close: async () => {
      await Promise.all(servers.map((server) => server.close()))
    },
  }
}
