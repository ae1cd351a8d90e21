/**
 * Sides a harness plays itself: a scripted server that sends the trace's `s2c` frames to a real client,
 * and scripted clients that send its `c2s` frames to a real server. Both answer pings (LL-BEAT-2).
 */
import type { CloseInfo, Payload, ServerTransportConnection, TransportConnection } from '../../src/index.js'
import type { FakeNetwork } from '../../src/testing.js'
import type { Frame } from './base.js'

const isPing = (payload: Payload): number | undefined | false => {
  const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
  const frames = Array.isArray(value) ? value : [value]
  const ping = frames.find((frame) => (frame as Frame).type === 'ping') as Frame | undefined
  return ping === undefined ? false : (ping.id as number | undefined)
}

const pong = (id: number | undefined) =>
  JSON.stringify(id === undefined ? { type: 'pong' } : { type: 'pong', id })

export class ScriptedServer {
  private readonly connections = new Map<string, { link: ServerTransportConnection; open: boolean }>()

  constructor(private readonly network: FakeNetwork) {}

  async start(): Promise<void> {
    await this.network.serverTransport().listen((link) => {
      const actor = link.info.remoteAddress ?? 'unknown'
      const connection = { link, open: true }
      this.connections.set(actor, connection)
      return {
        message: (payload) => {
          const id = isPing(payload)
          if (id !== false && connection.open) link.send(pong(id))
        },
        close: (_info: CloseInfo) => {
          connection.open = false
        },
        protocolError: () => {},
      }
    })
  }

  send(actor: string, frame: Frame): void {
    const connection = this.connections.get(actor)
    if (connection === undefined || !connection.open)
      throw new Error(`${actor} has no open connection to send to`)
    connection.link.send(JSON.stringify(frame))
    // A scripted bye ends the connection, as a server's would (LL-INTENT-5).
    if (frame.type === 'bye') {
      connection.open = false
      connection.link.close(Number(frame.code), String(frame.reason ?? ''))
    }
  }
}

export class ScriptedClients {
  private readonly connections = new Map<string, { link: TransportConnection; open: boolean }>()

  constructor(private readonly network: FakeNetwork) {}

  /** Opens a connection for the actor unless one is open. */
  open(actor: string): void {
    const current = this.connections.get(actor)
    if (current?.open === true) return
    const connection: { link: TransportConnection; open: boolean } = {
      link: undefined as unknown as TransportConnection,
      open: true,
    }
    connection.link = this.network.client(actor).connect({
      open: () => {},
      message: (payload) => {
        const id = isPing(payload)
        if (id !== false && connection.open) connection.link.send(pong(id))
      },
      close: () => {
        connection.open = false
      },
      protocolError: () => {},
    })
    this.connections.set(actor, connection)
  }

  isOpen(actor: string): boolean {
    return this.connections.get(actor)?.open === true
  }

  send(actor: string, frame: Frame): void {
    const connection = this.connections.get(actor)
    if (connection === undefined || !connection.open)
      throw new Error(`${actor} has no open connection to send on`)
    connection.link.send(JSON.stringify(frame))
    // After its own bye a client leaves the close to the server, which answers bye 4007 (LL-INTENT-1).
    if (frame.type === 'bye') connection.open = false
  }

  /** Several frames in one transport message (LL-WS-2). */
  sendBatch(actor: string, frames: Frame[]): void {
    const connection = this.connections.get(actor)
    if (connection === undefined || !connection.open)
      throw new Error(`${actor} has no open connection to send on`)
    connection.link.send(JSON.stringify(frames))
  }

  /** Stops using the actor's connection: after a fault the scripted client just dials again. */
  abandon(actor: string, close = false): void {
    const connection = this.connections.get(actor)
    if (connection === undefined || !connection.open) return
    connection.open = false
    if (close) connection.link.close(1000, 'bye')
  }

  close(): void {
    for (const connection of this.connections.values()) connection.link.close(1000, 'trace over')
  }
}
