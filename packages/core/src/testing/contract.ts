/**
 * The transport contract: one suite every adapter runs against its real transport, with capability
 * flags for what a transport cannot do (crossws-style). Call `transportContract` from a vitest file.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createClient } from '../client/client.js'
import { inertEnvironment } from '../client/environment.js'
import { createServer } from '../server/server.js'
import type {
  ClientTransport,
  CloseInfo,
  Payload,
  ServerTransport,
  ServerTransportConnection,
  TransportConnection,
} from '../transport.js'

export interface TransportCapabilities {
  /** Close codes travel end to end (WebSocket). Without it, only the fact of a close is checked. */
  readonly closeCodes: boolean
  /** The client transport implements `probe`. */
  readonly probe: boolean
  /** Server connections implement `pauseReading`/`resumeReading` (LL-LIMIT-7 backpressure). */
  readonly pauseReading?: boolean
}

export interface TransportUnderTest {
  readonly server: ServerTransport
  /** A client transport that dials this server; one call per client. */
  client(): ClientTransport
  /** Stops whatever the server transport runs on (an HTTP server, a NATS connection...). */
  stop(): Promise<void>
}

export interface TransportContractOptions {
  readonly capabilities: TransportCapabilities
  /** Starts a fresh server transport for one test, on a free port. */
  start(): Promise<TransportUnderTest>
  /** The largest payload the server transport accepts, when it enforces one. */
  readonly maxPayloadBytes?: number
  /** Longest wait for something to happen, in real milliseconds. Default: 5000. */
  readonly timeoutMs?: number
}

interface Accepted {
  readonly connection: ServerTransportConnection
  readonly received: Payload[]
  closed: CloseInfo | undefined
}

interface Dialed {
  readonly link: TransportConnection
  readonly received: Payload[]
  opened: boolean
  closed: CloseInfo | undefined
}

export function transportContract(name: string, options: TransportContractOptions): void {
  const timeoutMs = options.timeoutMs ?? 5000
  const { capabilities } = options
  const running: TransportUnderTest[] = []

  async function until(condition: () => boolean, what: string): Promise<void> {
    const started = performance.now()
    while (!condition()) {
      if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  async function start(): Promise<{ under: TransportUnderTest; accepted: Accepted[] }> {
    const under = await options.start()
    running.push(under)
    const accepted: Accepted[] = []
    await under.server.listen((connection) => {
      const entry: Accepted = { connection, received: [], closed: undefined }
      accepted.push(entry)
      return {
        message: (payload) => entry.received.push(payload),
        close: (info) => {
          entry.closed = info
        },
        protocolError: () => {},
      }
    })
    return { under, accepted }
  }

  function dial(transport: ClientTransport): Dialed {
    const dialed: Dialed = {
      link: undefined as unknown as TransportConnection,
      received: [],
      opened: false,
      closed: undefined,
    }
    Object.assign(dialed, {
      link: transport.connect({
        open: () => {
          dialed.opened = true
        },
        message: (payload) => dialed.received.push(payload),
        close: (info) => {
          dialed.closed = info
        },
        protocolError: () => {},
      }),
    })
    return dialed
  }

  const text = (payload: Payload) => (typeof payload === 'string' ? payload : JSON.stringify(payload))
  const frame = (i: number) => ({ type: 'msg', seq: i, data: { i, text: `message ${i} ✓ — ünïcödé 🚀` } })

  describe(`transport contract: ${name}`, () => {
    afterEach(async () => {
      for (const under of running.splice(0)) {
        await under.server.close()
        await under.stop()
      }
    })

    it('opens a connection and carries frames both ways, in order', async () => {
      const { under, accepted } = await start()
      const transport = under.client()
      const client = dial(transport)
      await until(() => client.opened && accepted.length === 1, 'the connection to open')
      const server = accepted[0] as Accepted
      const encode = (i: number) => (transport.encoding === 'text' ? JSON.stringify(frame(i)) : frame(i))
      for (let i = 1; i <= 200; i++) {
        client.link.send(encode(i))
        server.connection.send(encode(i))
      }
      await until(
        () => client.received.length === 200 && server.received.length === 200,
        '200 frames each way',
      )
      expect(client.received.map(text)).toEqual(
        Array.from({ length: 200 }, (_, i) => JSON.stringify(frame(i + 1))),
      )
      expect(server.received.map(text)).toEqual(
        Array.from({ length: 200 }, (_, i) => JSON.stringify(frame(i + 1))),
      )
      expect(server.connection.info.transport).toBe(under.server.name)
    })

    it('keeps connections apart', async () => {
      const { under, accepted } = await start()
      const a = dial(under.client())
      const b = dial(under.client())
      await until(() => a.opened && b.opened && accepted.length === 2, 'two connections')
      const ping = (id: number) => ({ type: 'ping', id })
      for (const [i, entry] of accepted.entries())
        entry.connection.send(under.server.encoding === 'text' ? JSON.stringify(ping(i)) : ping(i))
      await until(() => a.received.length === 1 && b.received.length === 1, 'one frame each')
      expect(new Set([...a.received, ...b.received].map(text)).size).toBe(2)
    })

    it('reports a server-side close to the client', async () => {
      const { under, accepted } = await start()
      const client = dial(under.client())
      await until(() => accepted.length === 1 && client.opened, 'the connection to open')
      accepted[0]?.connection.close(4005, 'kicked')
      await until(() => client.closed !== undefined, 'the close')
      if (capabilities.closeCodes) expect(client.closed).toMatchObject({ code: 4005, reason: 'kicked' })
    })

    it('reports a client-side close to the server', async () => {
      const { under, accepted } = await start()
      const client = dial(under.client())
      await until(() => accepted.length === 1 && client.opened, 'the connection to open')
      client.link.close(1000, 'bye')
      await until(() => accepted[0]?.closed !== undefined && client.closed !== undefined, 'both closes')
      if (capabilities.closeCodes) expect(accepted[0]?.closed?.code).toBe(1000)
    })

    if (options.maxPayloadBytes !== undefined) {
      const max = options.maxPayloadBytes
      it(`refuses a payload over its limit of ${max} bytes, closing that connection`, async () => {
        const { under, accepted } = await start()
        const client = dial(under.client())
        await until(() => accepted.length === 1 && client.opened, 'the connection to open')
        const big = { type: 'send', seq: 1, id: 'x', data: 'y'.repeat(max + 10) }
        client.link.send(under.server.encoding === 'text' ? JSON.stringify(big) : big)
        await until(() => client.closed !== undefined, 'the close')
        expect(accepted[0]?.received).toEqual([])
      })
    }

    if (capabilities.pauseReading === true) {
      it('LL-LIMIT-7: pauseReading holds the client back until resumeReading; writes still flow', async () => {
        const { under, accepted } = await start()
        const transport = under.client()
        const client = dial(transport)
        await until(() => client.opened && accepted.length === 1, 'the connection to open')
        const server = accepted[0] as Accepted
        expect(server.connection.pauseReading).toBeTypeOf('function')
        server.connection.pauseReading?.()
        const encode = (i: number) => (transport.encoding === 'text' ? JSON.stringify(frame(i)) : frame(i))
        for (let i = 1; i <= 100; i++) client.link.send(encode(i))
        server.connection.send(encode(0))
        await until(() => client.received.length === 1, 'a server frame while paused')
        // Asserting that nothing (or only what was already read) arrives needs a pause in real time.
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(server.received.length).toBeLessThan(100)
        server.connection.resumeReading?.()
        await until(() => server.received.length === 100, 'the held frames after resume')
        expect(server.received.map(text)).toEqual(
          Array.from({ length: 100 }, (_, i) => JSON.stringify(frame(i + 1))),
        )
      })
    }

    it('fails a dial when nobody listens', async () => {
      const { under } = await start()
      await under.server.close()
      await under.stop()
      const client = dial(under.client())
      await until(() => client.closed !== undefined, 'the failed dial')
      expect(client.opened).toBe(false)
    })

    if (capabilities.probe) {
      it('LL-CLIENT-3: probes true while listening and false once stopped', async () => {
        const { under } = await start()
        const transport = under.client()
        expect(await transport.probe?.()).toBe(true)
        await under.server.close()
        await under.stop()
        expect(await transport.probe?.().catch(() => false)).toBe(false)
      })
    }

    it('carries a Lifeline session: send, receive, go away and resume', async () => {
      const under = await options.start()
      running.push(under)
      const processed: unknown[] = []
      const server = createServer({
        secret: 'contract-secret-contract-secret-contract',
        onMessage: (message) => void processed.push(message.data),
      })
      await server.attach(under.server)
      const client = createClient({ transport: under.client(), environment: inertEnvironment })
      const received: unknown[] = []
      client.on('message', (message) => received.push(message.data))
      client.connect()
      await client.join('room')
      await client.send('hello')
      await server.publish('room', 'one')
      await until(() => received.length === 1, 'the first message')
      server.goAway({ retryAfterMs: 0, jitterMs: 0 })
      await server.publish('room', 'two')
      await until(() => client.status.type === 'open' && client.wasReconnected, 'the resume')
      await until(() => received.length === 2, 'the replayed message')
      expect(client.status).toMatchObject({ type: 'open', resumed: true, recovered: true })
      expect(received).toEqual(['one', 'two'])
      expect(processed).toEqual(['hello'])
      client.close()
      await until(() => server.stats.sessions === 0, 'the session to end')
      await server.shutdown()
    })
  })
}
