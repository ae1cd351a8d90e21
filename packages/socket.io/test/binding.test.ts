/**
 * The Socket.IO binding's rules, each against a real Socket.IO server, with raw socket.io-client
 * sockets where a test plays a client other than ours.
 */
import {
  createClient,
  inertEnvironment,
  type LifelineClient,
  type ServerConnectionHandlers,
  type ServerTransportConnection,
} from '@lifeline/core'
import { createServer } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import { type Socket as ClientSocket, io as dial } from 'socket.io-client'
import { describe, expect, it } from 'vitest'
import { socketIoTransport } from '../src/index.js'
import { socketIoServerTransport } from '../src/server.js'
import { dataOf, ioServer, MODES, onCleanup, open, resumedAgain, sidOf, stack } from './helpers.js'

const HELLO = { type: 'hello', versions: [1], attempt: 0 }

/** A raw socket.io-client socket, closed after the test. */
function raw(url: string, options: Parameters<typeof dial>[1] = {}): ClientSocket {
  const socket = dial(url, { reconnection: false, forceNew: true, transports: ['websocket'], ...options })
  onCleanup(() => socket.disconnect())
  return socket
}

/** Failed attempts in a row so far, from the status. */
function attemptOf(client: LifelineClient): number {
  const status = client.status
  return status.type === 'connecting' || status.type === 'waiting' ? status.attempt : 0
}

function recorder() {
  const accepted: {
    connection: ServerTransportConnection
    frames: object[]
    errors: string[]
    closed: boolean
  }[] = []
  const accept = (connection: ServerTransportConnection): ServerConnectionHandlers => {
    const entry = { connection, frames: [] as object[], errors: [] as string[], closed: false }
    accepted.push(entry)
    return {
      message: (payload) => void entry.frames.push(payload as object),
      protocolError: (reason) => void entry.errors.push(reason),
      close: () => {
        entry.closed = true
      },
    }
  }
  return { accepted, accept }
}

describe('the Socket.IO binding', () => {
  it('LL-SIO-4, LL-SIO-1: by default, path /socket.io/, namespace /lifeline, event lifeline, one frame per event', async () => {
    const { directUrl } = await stack()
    const socket = raw(`${directUrl}/lifeline`, { path: '/socket.io/' })
    const frames: unknown[] = []
    socket.on('lifeline', (...args: unknown[]) => void frames.push(args))
    socket.on('connect', () => socket.emit('lifeline', HELLO))
    await waitFor(() => frames.length === 1, { what: 'the welcome' })
    expect(frames[0]).toEqual([expect.objectContaining({ type: 'welcome', resumed: false })])
  })

  it('LL-SIO-5: a descriptor changes path, namespace and event; a URL with a path is refused', async () => {
    const { io, port } = await ioServer({ path: '/rt/' })
    const server = createServer({})
    onCleanup(() => server.shutdown())
    await server.attach(socketIoServerTransport(io.of('/'), { event: 'll' }))
    const descriptor = {
      transport: 'socket.io',
      url: `http://127.0.0.1:${port}`,
      path: '/rt/',
      namespace: '/',
      event: 'll',
    } as const
    // The defaults do not reach this deployment, and nothing is guessed: the attempt fails.
    const guess = createClient({
      transport: socketIoTransport(descriptor.url),
      environment: inertEnvironment,
      connectTimeoutMs: 300,
    })
    onCleanup(() => guess.close())
    guess.connect()
    await waitFor(() => guess.status.type !== 'open' && guess.reconnectAttempts + attemptOf(guess) > 0, {
      what: 'the failed attempt',
    })
    const client = createClient({ transport: socketIoTransport(descriptor), environment: inertEnvironment })
    onCleanup(() => client.close())
    client.connect()
    await waitFor(() => client.status.type === 'open', { what: 'the client to open' })
    expect(() => socketIoTransport(`http://127.0.0.1:${port}/lifeline`)).toThrow(/without a path/)
    expect(() => socketIoTransport({ url: descriptor.url, event: 'connect' })).toThrow(/reserved/)
  })

  it('LL-SIO-5, LL-SIO-1: lives beside the app: its middleware, its own event on the same socket, its own namespace', async () => {
    const { io, port } = await ioServer()
    const chat = io.of('/chat')
    const handshakes: string[] = []
    chat.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: string }).token
      handshakes.push(String(token))
      return token === 'app-token' ? next() : next(new Error('app says no'))
    })
    const typing: unknown[] = []
    chat.on('connection', (socket) => {
      socket.on('typing', (who: unknown, ack: (reply: string) => void) => {
        typing.push(who)
        ack('seen')
      })
    })
    const other: unknown[] = []
    io.of('/').on('connection', (socket) => socket.on('lifeline', (frame: unknown) => void other.push(frame)))
    const processed: unknown[] = []
    const server = createServer({ onMessage: (message) => void processed.push(message.data) })
    onCleanup(() => server.shutdown())
    await server.attach(socketIoServerTransport(chat))

    const replies: string[] = []
    const client = createClient({
      transport: socketIoTransport(
        { url: `http://127.0.0.1:${port}`, namespace: '/chat' },
        {
          io: { auth: { token: 'app-token' } },
          onSocket: (socket) => {
            socket.on('connect', () =>
              socket.emit('typing', 'alice', (reply: string) => void replies.push(reply)),
            )
          },
        },
      ),
      environment: inertEnvironment,
    })
    onCleanup(() => client.close())
    client.connect()
    await client.send('hello over the app namespace')
    await waitFor(() => replies.length === 1, { what: 'the app event acked' })
    expect(typing).toEqual(['alice'])
    expect(processed).toEqual(['hello over the app namespace'])
    expect(other).toEqual([]) // the app's main namespace never sees Lifeline's frames
    expect(handshakes.every((token) => token === 'app-token')).toBe(true)
  })

  it('LL-SIO-6: a malformed lifeline event ends that connection only, and reaches nobody', async () => {
    const processed: unknown[] = []
    const { directUrl } = await stack({ onMessage: (message) => void processed.push(message.data) })
    const neighbour = await open(directUrl, 'websocket')
    const bad: ((socket: ClientSocket) => void)[] = [
      (socket) => socket.emit('lifeline', HELLO, { extra: true }),
      (socket) => socket.emit('lifeline', HELLO, () => {}),
      (socket) => socket.emit('lifeline', [HELLO]),
      (socket) => socket.emit('lifeline', 'hello'),
      (socket) => socket.emit('lifeline', { ...HELLO, auth: Buffer.from('x') }),
    ]
    for (const send of bad) {
      const socket = raw(`${directUrl}/lifeline`)
      let disconnected = false
      socket.on('disconnect', () => {
        disconnected = true
      })
      const welcomes: unknown[] = []
      socket.on('lifeline', (frame: { type: string }) => void welcomes.push(frame.type))
      socket.on('connect', () => send(socket))
      await waitFor(() => disconnected, { what: 'the malformed connection to end' })
      expect(welcomes.filter((type) => type === 'welcome')).toEqual([])
    }
    await neighbour.client.send('still here')
    expect(processed).toEqual(['still here'])
    expect(neighbour.client.status.type).toBe('open')
  })

  it('LL-SIO-6: the client refuses a lifeline event with a binary attachment, and answers the same frame in text', async () => {
    const { io, port } = await ioServer()
    const replies: string[][] = []
    io.of('/lifeline').on('connection', (socket) => {
      const connection = replies.push([]) - 1
      socket.on('lifeline', (frame: { type: string }) => void replies[connection]?.push(frame.type))
      socket.on('disconnect', () => void replies[connection]?.push('disconnect'))
      // The first connection gets a ping with a binary attachment (a BINARY_EVENT packet), the next a text one.
      const pad = connection === 0 ? { pad: Buffer.from('x') } : { pad: 'x' }
      socket.emit('lifeline', { type: 'ping', id: connection + 1, ...pad })
    })
    const client = createClient({
      transport: socketIoTransport(`http://127.0.0.1:${port}`, { transports: ['websocket'] }),
      environment: inertEnvironment,
      retryDelay: () => 20,
    })
    onCleanup(() => client.close())
    client.connect()
    await waitFor(() => replies[1]?.includes('pong') === true, { what: 'the pong to the text ping' })
    // The binary ping ended the first connection (a failed link), never answered.
    await waitFor(() => replies[0]?.includes('disconnect') === true, { what: 'the first connection to end' })
    expect(replies[0]).toEqual(['hello', 'disconnect'])
  })

  it('LL-SIO-7: maxHttpBufferSize is maxFrameBytes + 8 + N + E: the largest frame passes, one byte more does not', async () => {
    for (const mode of MODES) {
      const { io, port } = await ioServer()
      const maxFrameBytes = 4096
      const transport = socketIoServerTransport(io, { event: 'é' })
      const { accepted, accept } = recorder()
      await transport.listen(accept, { maxFrameBytes })
      onCleanup(() => transport.close())
      expect(transport.maxHttpBufferSize).toBe(4096 + 8 + '/lifeline'.length + 2)
      expect(io.engine.opts.maxHttpBufferSize).toBe(transport.maxHttpBufferSize)
      const frameOf = (bytes: number) => {
        const frame = { type: 'send', seq: 1, id: 'x', data: '' }
        frame.data = 'y'.repeat(bytes - JSON.stringify(frame).length)
        return frame
      }
      const client = raw(`http://127.0.0.1:${port}/lifeline`, { transports: [mode] })
      await waitFor(() => client.connected && accepted.length === 1, { what: 'the connection' })
      client.emit('é', frameOf(maxFrameBytes))
      await waitFor(() => accepted[0]?.frames.length === 1, { what: 'the largest frame' })
      expect(JSON.stringify(accepted[0]?.frames[0]).length).toBe(maxFrameBytes)
      client.emit('é', frameOf(maxFrameBytes + 1))
      await waitFor(() => accepted[0]?.closed === true, { what: 'the oversized frame to end the connection' })
      expect(accepted[0]?.frames).toHaveLength(1)
    }
  })

  it('LL-SIO-8: a middleware refusal is a failed attempt, retried with backoff, each attempt a new Socket.IO connection', async () => {
    const { io, port } = await ioServer()
    let refusals = 2
    let engineConnections = 0
    io.engine.on('connection', () => engineConnections++)
    io.of('/lifeline').use((_socket, next) => (refusals-- > 0 ? next(new Error('not yet')) : next()))
    const server = createServer({})
    onCleanup(() => server.shutdown())
    await server.attach(socketIoServerTransport(io))
    const alice = await open(`http://127.0.0.1:${port}`, 'websocket')
    expect(engineConnections).toBe(3)
    expect(alice.client.status).toMatchObject({ type: 'open', resumed: false })
  })

  it('LL-SIO-2: with connection state recovery on the server, Lifeline still resumes itself and Socket.IO recovers nothing', async () => {
    const { server, io, proxy, url, away } = await stack({}, {}, { connectionStateRecovery: {} })
    const recovered: boolean[] = []
    io.of('/lifeline').on('connection', (socket) => void recovered.push(socket.recovered))
    const alice = await open(url, 'websocket')
    await alice.client.join('room')
    const sid = sidOf(alice.client)
    proxy.reset()
    await waitFor(() => away.some((event) => event.sid === sid), { what: 'the drop' })
    await server.publish('room', 'missed')
    await waitFor(() => resumedAgain(alice.client), { what: 'the resume' })
    await waitFor(() => dataOf(alice, 'room').length === 1, { what: 'the replay' })
    expect(dataOf(alice, 'room')).toEqual(['missed'])
    expect(recovered).toEqual([false, false])
  })
})
