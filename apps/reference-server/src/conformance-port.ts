/**
 * The pieces of conformance mode that stand between the shared WebSocket transport and the Lifeline
 * server of the moment: a switchable port, and the faults the conformance tests inject on purpose.
 */
import type {
  Payload,
  ServerConnectionHandlers,
  ServerTransport,
  ServerTransportConnection,
} from '@lifeline/core'
import { MemoryStore, type StreamEntry, type StreamName, type StreamRead } from '@lifeline/core/server'
import type { ConformanceFault } from './conformance.js'

/** A replay that delivers its first message twice: the copy takes the next seq, the rest shift up. */
export class DuplicatingStore extends MemoryStore {
  override async read(stream: StreamName, afterSeq: number, limit: number): Promise<StreamRead> {
    const read = await super.read(stream, afterSeq, limit)
    const first = read.entries.findIndex((entry) => entry.frame.type === 'msg')
    if (!read.covered || first === -1) return read
    const shift = (entry: StreamEntry): StreamEntry => {
      const seq = entry.seq + 1
      const frame = { ...entry.frame, seq }
      return { ...entry, seq, frame, text: JSON.stringify(frame) }
    }
    return {
      covered: true,
      entries: [...read.entries.slice(0, first + 1), ...read.entries.slice(first).map(shift)],
      lastSeq: read.lastSeq + 1,
      epoch: read.epoch,
    }
  }
}

type Accept = (connection: ServerTransportConnection) => ServerConnectionHandlers

export const IGNORE: ServerConnectionHandlers = {
  message: () => {},
  close: () => {},
  protocolError: () => {},
}

/** Each frame of a text payload, parsed; undefined when it is not JSON. */
function framesOf(payload: Payload): Record<string, unknown>[] | undefined {
  try {
    const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
    return (Array.isArray(value) ? value : [value]).filter(
      (frame): frame is Record<string, unknown> => typeof frame === 'object' && frame !== null,
    )
  } catch {
    return undefined
  }
}

/** The fault `no-rotate`: the welcome of a resume hands back the memento the client came with. */
function unrotated(payload: Payload, memento: string): Payload {
  const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : structuredClone(payload)
  for (const frame of Array.isArray(value) ? value : [value]) {
    if (frame?.type === 'welcome' && frame.resumed === true) frame.memento = memento
  }
  return typeof payload === 'string' ? JSON.stringify(value) : (value as object)
}

/**
 * The transport one LifelineServer sees: connections a shared transport (ws or Socket.IO) accepted while
 * this server was current. `cut` drops them all without a close frame, as a process restart would.
 */
export class Port implements ServerTransport {
  readonly encoding: ServerTransport['encoding']
  readonly name: string
  private accept: Accept | undefined
  private readonly open = new Map<ServerTransportConnection, () => void>()
  private closing = false

  constructor(
    private readonly shared: ServerTransport,
    private readonly faults: ReadonlySet<ConformanceFault>,
  ) {
    this.encoding = shared.encoding
    this.name = shared.name
  }

  listen(accept: Accept): void {
    this.accept = accept
  }

  drain(retryAfterMs: number): void {
    this.shared.drain?.(retryAfterMs)
  }

  take(connection: ServerTransportConnection): ServerConnectionHandlers {
    const accept = this.accept
    if (accept === undefined || this.closing) {
      connection.terminate?.()
      return IGNORE
    }
    let closed: () => void = () => {}
    const gone = new Promise<void>((resolve) => {
      closed = resolve
    })
    this.open.set(connection, () => gone)
    let resumedWith: string | undefined
    const noRotate = this.faults.has('no-rotate')
    const seen: ServerTransportConnection = {
      info: connection.info,
      send: (payload) => {
        const welcome =
          typeof payload === 'string'
            ? payload.includes('"welcome"')
            : (payload as { type?: unknown }).type === 'welcome'
        if (!noRotate || resumedWith === undefined || !welcome) return connection.send(payload)
        connection.send(unrotated(payload, resumedWith))
      },
      close: (code, reason) => connection.close(code, reason),
      ...(connection.bufferedBytes === undefined
        ? {}
        : { bufferedBytes: () => connection.bufferedBytes?.() ?? 0 }),
      ...(connection.terminate === undefined ? {} : { terminate: () => connection.terminate?.() }),
    }
    const handlers = accept(seen)
    return {
      message: (payload) => {
        if (noRotate) {
          for (const frame of framesOf(payload) ?? []) {
            const memento = (frame.resume as { memento?: unknown } | undefined)?.memento
            if (frame.type === 'hello' && typeof memento === 'string') resumedWith = memento
          }
        }
        handlers.message(payload)
      },
      close: (info) => {
        this.open.delete(connection)
        closed()
        try {
          handlers.close(info)
        } catch {
          // a server being replaced may already be shut down
        }
      },
      protocolError: (reason) => handlers.protocolError(reason),
    }
  }

  /** Cuts every connection without a close frame and waits (briefly) until each has closed. */
  async cut(): Promise<void> {
    this.closing = true
    const waits = [...this.open.values()].map((gone) => gone())
    for (const connection of this.open.keys()) {
      if (connection.terminate !== undefined) connection.terminate()
      else connection.close(1012, 'restarting')
    }
    await Promise.race([Promise.all(waits), new Promise((resolve) => setTimeout(resolve, 1000))])
  }

  /** The server shut down: its byes leave, then the sockets are cut. */
  async close(): Promise<void> {
    this.closing = true
    const deadline = Date.now() + 1000
    while ([...this.open.keys()].some((c) => (c.bufferedBytes?.() ?? 0) > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await this.cut()
  }
}
