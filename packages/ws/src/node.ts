/**
 * @lifeline/ws/node: the client transport for Node, on the `ws` library. Same API as the browser
 * entry; the socket refuses oversized messages and never negotiates compression.
 */
import type { ClientTransport } from '@lifeline/core'
import WebSocket from 'ws'
import { wsTransport as baseTransport, type WebSocketConstructor, type WsTransportOptions } from './index.js'

export type { WebSocketConstructor, WebSocketLike, WsTransportOptions } from './index.js'

/** 1 MiB, the protocol's default maxFrameBytes (LL-LIMIT-1). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

export interface NodeWsTransportOptions extends WsTransportOptions {
  /**
   * Largest message the client socket accepts; a larger one closes the socket with 1009. Keep it at
   * least the server's maxFrameBytes. Ignored when `WebSocket` is given. Default: 1 MiB.
   */
  maxPayload?: number | undefined
}

/** A `ws` WebSocket with Lifeline's defaults: bounded messages, no permessage-deflate (decompression bombs). */
function nodeWebSocket(maxPayload: number): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { maxPayload, perMessageDeflate: false })
    }
  }
}

/**
 * A client transport over WebSocket for Node, using `ws` unless `options.WebSocket` says otherwise.
 *
 * ```ts
 * createClient({ transport: wsTransport('ws://localhost:8080/lifeline') })
 * ```
 */
export function wsTransport(url: string, options: NodeWsTransportOptions = {}): ClientTransport {
  const { maxPayload = DEFAULT_MAX_PAYLOAD, ...rest } = options
  return baseTransport(url, { ...rest, WebSocket: options.WebSocket ?? nodeWebSocket(maxPayload) })
}
