/** The Socket.IO transport under the chaos suite: a real Socket.IO server on a free port, one Engine.IO transport. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChaosTransportUnderTest } from '@lifeline/testkit'
import { Server } from 'socket.io'
import { socketIoTransport } from '../src/index.js'
import { socketIoServerTransport } from '../src/server.js'

export type ChaosMode = 'websocket' | 'polling'

export async function socketIoUnderChaos(mode: ChaosMode): Promise<ChaosTransportUnderTest> {
  const http = createServer()
  const io = new Server(http, { transports: [mode] })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    server: socketIoServerTransport(io),
    target: { port },
    client: (proxyPort) => socketIoTransport(`http://127.0.0.1:${proxyPort}`, { transports: [mode] }),
    stop: async () => {
      const closed = new Promise<void>((resolve) => void io.close(() => resolve()))
      http.closeAllConnections() // a poll held in a black hole must not hold the close
      await closed
    },
  }
}
