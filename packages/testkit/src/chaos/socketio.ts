/**
 * The anchor: the same experiment against Socket.IO with connection state recovery, its documented
 * answer to reconnection. Same clients, same rates, same faults at the same moments; what it loses or
 * delivers twice is counted, not asserted.
 */
import { createServer as createHttpServer } from 'node:http'
import { Server as SocketIoServer } from 'socket.io'
import { io as connect, type Socket } from 'socket.io-client'
import { FaultProxy } from '../fault-proxy.js'
import { sleep, waitFor } from '../wait.js'
import type { Experiment } from './experiment.js'
import { Sequence, tally } from './tally.js'
import type { ExperimentResult } from './types.js'

interface Peer {
  readonly index: number
  readonly socket: Socket
  sent: number
  readonly processed: Sequence
  directSent: number
  readonly direct: Sequence
  readonly topic: Sequence
}

export async function socketIoExperiment(settings: {
  clients: number
  heartbeatMs: number
  heartbeatTimeoutMs: number
  graceMs: number
}): Promise<Experiment> {
  const http = createHttpServer()
  const io = new SocketIoServer(http, {
    transports: ['websocket'],
    pingInterval: settings.heartbeatMs,
    pingTimeout: settings.heartbeatTimeoutMs,
    connectionStateRecovery: { maxDisconnectionDuration: settings.graceMs, skipMiddlewares: true },
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  const address = http.address()
  if (address === null || typeof address === 'string') throw new Error('socket.io anchor: no port')
  const proxy = new FaultProxy(address.port)
  const proxyPort = await proxy.start()
  const peers: Peer[] = []
  let topicSent = 0
  let resumes = 0
  let recovered = 0
  const unrecovered: string[] = []

  io.on('connection', (socket) => {
    const index = Number((socket.handshake.auth as { peer?: unknown }).peer)
    // A recovered socket is back in its rooms; a new one joins them.
    if (!socket.recovered) void socket.join([`peer:${index}`, 'chaos'])
    socket.on('c2s', (data: { n: number }) => peers[index]?.processed.arrive(data.n))
  })

  for (let index = 0; index < settings.clients; index++) {
    const socket = connect(`http://127.0.0.1:${proxyPort}`, {
      transports: ['websocket'],
      auth: { peer: index },
      reconnectionDelay: 50,
      reconnectionDelayMax: 1000,
      timeout: 3000,
      autoConnect: false,
    })
    const peer: Peer = {
      index,
      socket,
      sent: 0,
      processed: new Sequence(),
      directSent: 0,
      direct: new Sequence(),
      topic: new Sequence(),
    }
    let connectedOnce = false
    socket.on('connect', () => {
      if (connectedOnce) {
        resumes++
        if (socket.recovered) recovered++
        else unrecovered.push(`client ${index}: not recovered`)
      }
      connectedOnce = true
    })
    socket.on('d', (data: { n: number }) => peer.direct.arrive(data.n))
    socket.on('t', (data: { n: number }) => peer.topic.arrive(data.n))
    peers.push(peer)
  }

  let sending = true
  const delivered = () =>
    peers.reduce((sum, p) => sum + p.processed.delivered + p.direct.delivered + p.topic.delivered, 0)

  return {
    name: 'Socket.IO with connection state recovery',
    proxy,
    async open() {
      for (const peer of peers) peer.socket.connect()
      await waitFor(
        () => peers.every((p) => p.socket.connected) && io.of('/').sockets.size === peers.length,
        {
          what: 'every Socket.IO client to connect',
        },
      )
      // The server joins rooms on connection: give it that tick before the first emit.
      await sleep(50)
    },
    tick() {
      if (!sending) return
      for (const peer of peers) {
        peer.socket.emit('c2s', { n: ++peer.sent })
        io.to(`peer:${peer.index}`).emit('d', { n: ++peer.directSent })
      }
      io.to('chaos').emit('t', { n: ++topicSent })
    },
    progress: () => ({
      sent: peers.reduce((sum, p) => sum + p.sent + p.directSent + topicSent, 0),
      delivered: delivered(),
      resumes,
    }),
    async finish(timeoutMs) {
      sending = false
      // Nothing tells when Socket.IO is done: wait for every client to be connected, then for quiet.
      await waitFor(() => peers.every((p) => p.socket.connected), {
        timeoutMs,
        what: 'every Socket.IO client to reconnect',
      }).catch(() => {})
      let last = -1
      const until = performance.now() + timeoutMs
      while (delivered() !== last && performance.now() < until) {
        last = delivered()
        await sleep(1000)
      }
      return result()
    },
    async close() {
      for (const peer of peers) peer.socket.close()
      await proxy.close() // first: connections held in a black hole would hold the server's close
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }

  function result(): ExperimentResult {
    return {
      name: 'Socket.IO with connection state recovery',
      c2s: tally(peers.map((p) => ({ sent: p.sent, sequence: p.processed }))),
      s2c: tally(
        peers.flatMap((p) => [
          { sent: p.directSent, sequence: p.direct },
          { sent: topicSent, sequence: p.topic },
        ]),
      ),
      resumes,
      recovered,
      unrecovered,
      problems: [],
    }
  }
}
