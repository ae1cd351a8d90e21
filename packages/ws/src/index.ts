/**
 * @lifeline/ws: the WebSocket client transport. Browser-safe: no `ws`, no `node:` module, and small,
 * because it ships in every client bundle. Node clients use `@lifeline/ws/node`; the server transport
 * is `@lifeline/ws/server`.
 */
import type { ClientTransport, TransportConnection, TransportHandlers } from '@lifeline/core'

/**
 * The part of a WebSocket this transport uses: the browser's WebSocket, `ws`'s, or any lookalike.
 * Handlers take `never` so that every implementation's own event types fit.
 */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

/** A WebSocket constructor, as `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

export interface WsTransportOptions {
  /** The WebSocket implementation. Default: `globalThis.WebSocket` (an error is thrown when there is none). */
  WebSocket?: WebSocketConstructor | undefined
  /** Subprotocols offered in the handshake. Default: none. */
  protocols?: string | readonly string[] | undefined
  /**
   * Probe with an HTTP HEAD before every dial (LL-CLIENT-3, LL-WS-5): `true` derives the URL from the
   * WebSocket URL (ws: -> http:, wss: -> https:), a string is the URL to probe. Default: false.
   */
  probe?: boolean | string | undefined
  /** How long a probe may take before it counts as failed. Default: 5000 ms. */
  probeTimeoutMs?: number | undefined
}

const OPEN = 1

/**
 * A client transport over WebSocket: one socket per `connect`, frames as text messages (LL-WS-1).
 *
 * ```ts
 * createClient({ transport: wsTransport('wss://example.com/lifeline') })
 * ```
 */
export function wsTransport(url: string, options: WsTransportOptions = {}): ClientTransport {
  const Socket =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor | undefined }).WebSocket
  if (Socket === undefined) {
    throw new TypeError(
      '@lifeline/ws: no global WebSocket here; pass options.WebSocket, or use wsTransport from @lifeline/ws/node',
    )
  }
  const protocols = typeof options.protocols === 'string' ? options.protocols : options.protocols?.slice()
  const transport: ClientTransport = {
    encoding: 'text',
    name: 'ws',
    connect: (handlers) => connect(new Socket(url, protocols), handlers),
  }
  const probeUrl = options.probe === true ? url.replace(/^ws/i, 'http') : options.probe || undefined
  if (probeUrl === undefined) return transport
  const timeoutMs = options.probeTimeoutMs ?? 5000
  return { ...transport, probe: () => probe(probeUrl, timeoutMs) }
}

function connect(socket: WebSocketLike, handlers: TransportHandlers): TransportConnection {
  socket.onopen = () => handlers.open()
  socket.onmessage = (event: { data: unknown }) => {
    if (typeof event.data === 'string') handlers.message(event.data)
    else handlers.protocolError('binary messages are not part of the protocol') // LL-WS-1
  }
  // An error event is always followed by a close event: report the close only, once.
  socket.onerror = () => {}
  socket.onclose = (event: { code: number; reason: string; wasClean: boolean }) => {
    socket.onclose = null
    handlers.close({ code: event.code, reason: event.reason, clean: event.wasClean })
  }
  return {
    send: (payload) => {
      if (socket.readyState === OPEN)
        socket.send(typeof payload === 'string' ? payload : JSON.stringify(payload))
    },
    close: (code, reason) => {
      // WebSocket.close throws on a code other than 1000 or 3000-4999, and on a reason over 123 bytes;
      // 41 UTF-16 units are at most 123 UTF-8 bytes. Closing while connecting aborts the dial.
      const valid = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000
      try {
        socket.close(valid, reason)
      } catch {
        socket.close(valid, reason.slice(0, 41))
      }
    },
  }
}

/** HEAD the endpoint: 2xx means it accepts sessions; 503 (draining), 429, 5xx or no answer mean wait. */
async function probe(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const { status } = await fetch(url, {
      method: 'HEAD',
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    })
    // Another 4xx is a proxy or server that does not know the probe: dial anyway, the dial decides.
    return status < 300 || (status >= 400 && status < 500 && status !== 429)
  } catch {
    return false
  }
}
