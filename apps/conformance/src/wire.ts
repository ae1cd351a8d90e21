/**
 * One connection as the suites see it, whatever carries it: a WebSocket (LL-WS-*) or a Socket.IO socket
 * (LL-SIO-*), on the client's side or the scripted server's. A wire reports decoded values and what
 * broke its binding; the Link above it validates frames and keeps the trace's books.
 */
import type { TransportConnection } from '@lifeline/core'
import { natsTransport } from '@lifeline/nats/node'
import type { NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import type { Socket as ServerSocket } from 'socket.io'
import { Manager } from 'socket.io-client'
import WebSocket from 'ws'

export interface WireEvents {
  open(): void
  close(code: number | undefined): void
  /** One transport message, parsed: a frame, or (when `batches`) an array of frames. */
  message(value: unknown): void
  /** The peer broke the binding itself (binary, not JSON, extra arguments). */
  violation(problem: string): void
}

export interface Wire {
  /** A WebSocket message holding an array is a batch (LL-WS-2); a Socket.IO event never is (LL-SIO-1). */
  readonly batches: boolean
  /** Close codes travel (WebSocket); over Socket.IO only the fact of a disconnect does. */
  readonly closeCodes: boolean
  readonly isOpen: boolean
  listen(events: WireEvents): void
  /** Sends one message, the text of a frame or a batch; resolves once handed to the socket. */
  send(text: string): Promise<void>
  close(code: number, reason: string): void
  /** The link fails: no close frame, no disconnect packet. */
  terminate(): void
  /** Stop reading (the peer's side becomes half-open). */
  pause(): void
}

/** The Socket.IO endpoint a suite talks to (LL-SIO-4, LL-SIO-5). */
export interface SocketIoEndpoint {
  readonly url: string
  readonly path: string
  readonly namespace: string
  readonly event: string
}

/** A `ws` WebSocket, either side. */
export function wsWire(socket: WebSocket): Wire {
  return {
    batches: true,
    closeCodes: true,
    get isOpen() {
      return socket.readyState === WebSocket.OPEN
    },
    listen(events) {
      socket.once('open', () => events.open())
      socket.once('close', (code) => events.close(code))
      socket.on('error', () => {}) // always followed by close
      socket.on('message', (data, isBinary) => {
        if (isBinary)
          return events.violation('a binary WebSocket message: the protocol is text only (LL-WS-1)')
        const text = Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.concat(data as Buffer[]).toString('utf8')
        try {
          events.message(JSON.parse(text))
        } catch {
          events.violation(`not JSON: ${text.slice(0, 200)}`)
        }
      })
    },
    send: (text) =>
      new Promise((resolve, reject) => socket.send(text, (error) => (error ? reject(error) : resolve()))),
    close(code, reason) {
      try {
        socket.close(code, reason)
      } catch {
        socket.terminate()
      }
    },
    terminate: () => socket.terminate(),
    pause: () => socket.pause(),
  }
}

/** Dials a WebSocket endpoint as the server suite's clients do. */
export function dialWs(url: string): Wire {
  return wsWire(new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }))
}

/** The arguments of one event as a frame, or why they are not one (LL-SIO-6). */
function eventValue(args: unknown[], events: WireEvents): void {
  const value = args[0]
  if (args.length !== 1 || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return events.violation(
      `a lifeline event must carry exactly one JSON object (LL-SIO-6), got ${JSON.stringify(args).slice(0, 200)}`,
    )
  }
  events.message(value)
}

/** What a suite's text becomes on Socket.IO: one JSON object, or undefined when it cannot travel there. */
export function socketIoPayload(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

function sendObject(text: string, emit: (value: object) => void): Promise<void> {
  const value = socketIoPayload(text)
  if (value === undefined)
    return Promise.reject(new Error('only one JSON object per event travels over Socket.IO (LL-SIO-1)'))
  emit(value)
  return Promise.resolve()
}

/** Dials a Socket.IO endpoint as a client would: a Manager of its own, no reconnection (LL-SIO-2, LL-SIO-8). */
export function dialSocketIo(endpoint: SocketIoEndpoint): Wire {
  const manager = new Manager(endpoint.url, {
    path: endpoint.path,
    reconnection: false,
    autoConnect: false,
    transports: ['websocket'],
  })
  const socket = manager.socket(endpoint.namespace)
  let paused = false
  return {
    batches: false,
    closeCodes: false,
    get isOpen() {
      return socket.connected
    },
    listen(events) {
      socket.once('connect', () => events.open())
      socket.once('connect_error', () => events.close(undefined))
      socket.once('disconnect', () => events.close(undefined))
      socket.on(endpoint.event, (...args: unknown[]) => {
        if (!paused) eventValue(args, events)
      })
      socket.connect()
    },
    send: (text) => sendObject(text, (value) => socket.emit(endpoint.event, value)),
    close: () => void socket.disconnect(),
    // The Engine.IO connection closes under the socket: the server sees a transport close, no disconnect.
    terminate: () => void manager.engine?.close(),
    pause() {
      paused = true
    },
  }
}

/** A connection the scripted server accepted over Socket.IO. */
export function serverSocketWire(socket: ServerSocket, event: string): Wire {
  let paused = false
  return {
    batches: false,
    closeCodes: false,
    get isOpen() {
      return socket.connected
    },
    listen(events) {
      socket.once('disconnect', () => events.close(undefined))
      socket.on(event, (...args: unknown[]) => {
        if (!paused) eventValue(args, events)
      })
    },
    send: (text) => sendObject(text, (value) => socket.emit(event, value)),
    close: () => void socket.disconnect(),
    terminate: () => socket.conn.close(),
    pause() {
      paused = true
    },
  }
}

/** The NATS endpoint a suite talks to (LL-NATS-1): the NATS server and the deployment's prefix. */
export interface NatsEndpoint {
  readonly url: string
  readonly prefix: string
}

/**
 * Dials Lifeline over NATS as a client does (LL-NATS-1..8), on a NATS connection of its own: the
 * binding (open handshake, counter, close codes) is @lifeline/nats's, the suite sees frames.
 */
export function dialNats(endpoint: NatsEndpoint): Wire {
  let link: TransportConnection | undefined
  let nc: NatsConnection | undefined
  let open = false
  let paused = false
  let ended = false
  return {
    batches: true,
    closeCodes: true,
    get isOpen() {
      return open
    },
    listen(events) {
      const end = (code: number | undefined) => {
        open = false
        if (ended) return
        ended = true
        events.close(code)
        void nc?.close().catch(() => {})
      }
      connect({ servers: endpoint.url, reconnect: false }).then(
        (connection) => {
          nc = connection
          link = natsTransport(connection, { prefix: endpoint.prefix }).connect({
            open: () => {
              open = true
              events.open()
            },
            message: (payload) => {
              if (paused) return
              const text = String(payload)
              try {
                events.message(JSON.parse(text))
              } catch {
                events.violation(`not JSON: ${text.slice(0, 200)}`)
              }
            },
            close: (info) => end(info.code),
            protocolError: (problem) => events.violation(problem),
          })
        },
        () => end(undefined),
      )
    },
    // An ack resolves once the NATS server has it (a flush): a control request the suite makes next
    // over HTTP (ack-bounds: publish after an ack) must not overtake it on its longer way.
    send: async (text) => {
      link?.send(text)
      if (/^\s*\{\s*"type"\s*:\s*"ack"/.test(text)) await nc?.flush().catch(() => {})
    },
    close: (code, reason) => link?.close(code, reason),
    // A failed link: NATS itself tells the server nothing, so the binding's close says 1006 (LL-NATS-7),
    // as a TCP reset would on WebSocket; then the NATS connection goes.
    terminate: () => {
      link?.close(1006, 'link failed')
      void nc?.close().catch(() => {})
    },
    pause() {
      paused = true
    },
  }
}
