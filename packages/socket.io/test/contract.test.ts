import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { transportContract } from '@lifeline/core/contract'
import { Server } from 'socket.io'
import { socketIoTransport } from '../src/index.js'
import { socketIoServerTransport } from '../src/server.js'

const maxFrameBytes = 64 * 1024

for (const transports of [['websocket'], ['polling']] as const) {
  transportContract(`socket.io (${transports[0]})`, {
    capabilities: { closeCodes: false, probe: false, pauseReading: true },
    maxPayloadBytes: maxFrameBytes + 8 + '/lifeline'.length + 'lifeline'.length,
    start: async () => {
      const http = createServer()
      const io = new Server(http)
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
      const { port } = http.address() as AddressInfo
      return {
        server: socketIoServerTransport(io, { maxFrameBytes }),
        client: () => socketIoTransport(`http://127.0.0.1:${port}`, { transports: [...transports] }),
        stop: () => new Promise<void>((resolve) => void io.close(() => resolve())),
      }
    },
  })
}
