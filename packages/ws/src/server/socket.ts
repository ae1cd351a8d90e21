/** One accepted `ws` socket as the core's ServerTransportConnection. */
import { Buffer } from 'node:buffer'
import type { IncomingMessage } from 'node:http'
import type {
  ConnectionInfo,
  Payload,
  ServerConnectionHandlers,
  ServerTransportConnection,
} from '@lifeline/core'
import WebSocket from 'ws'

/** RFC 6455 lets an application close with 1000 or 3000-4999 only; anything else is reported as 1011. */
export function closeCode(code: number): number {
  return code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999) ? code : 1011
}

/** A close reason must fit in 123 UTF-8 bytes; cut at a character boundary. */
export function closeReason(reason: string): string {
  let cut = reason.slice(0, 123)
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1)
  return cut
}

/** What the core learns of the upgrade request: its address and origin, and the headers asked for. */
export function connectionInfo(req: IncomingMessage, keep: readonly string[]): ConnectionInfo {
  const remoteAddress = req.socket.remoteAddress
  const origin = req.headers.origin
  let headers: Record<string, string | undefined> | undefined
  for (const name of keep) {
    const value = req.headers[name]
    headers ??= {}
    headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return {
    transport: 'ws',
    ...(headers === undefined ? {} : { headers }),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
    ...(origin === undefined ? {} : { origin }),
  }
}

/** The socket as the core sees it: methods on one object, no closures per connection. */
class WsConnection implements ServerTransportConnection {
  constructor(
    readonly info: ConnectionInfo,
    private readonly socket: WebSocket,
  ) {}

  send(payload: Payload): void {
    if (this.socket.readyState !== WebSocket.OPEN) return
    this.socket.send(typeof payload === 'string' ? payload : JSON.stringify(payload))
  }

  close(code: number, reason: string): void {
    this.socket.close(closeCode(code), closeReason(reason))
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount
  }

  terminate(): void {
    this.socket.terminate()
  }

  // LL-LIMIT-7: the TCP window then holds the client back; writes continue.
  pauseReading(): void {
    this.socket.pause()
  }

  resumeReading(): void {
    this.socket.resume()
  }
}

/** An error event is always followed by 'close', which is what the core needs. */
const ignore = (): void => {}

/**
 * Wires a socket to the core: text messages in, binary ones refused (LL-WS-1), and exactly one close,
 * however the socket ends (a close frame, a failed link, ws refusing an oversized message with 1009).
 * The socket leaves `sockets` when it closes.
 */
export function adopt(
  socket: WebSocket,
  info: ConnectionInfo,
  accept: (connection: ServerTransportConnection) => ServerConnectionHandlers,
  sockets: Set<WebSocket>,
): void {
  const handlers = accept(new WsConnection(info, socket))
  socket.on('message', (data, isBinary) => {
    if (isBinary)
      handlers.protocolError('binary messages are not part of the protocol') // LL-WS-1
    else handlers.message(data.toString())
  })
  socket.on('error', ignore)
  socket.once('close', (code, reason) => {
    sockets.delete(socket)
    // ws reports 1006 when no close frame arrived: the link failed.
    handlers.close({ code, reason: reason.toString(), clean: code !== 1006 })
  })
}
