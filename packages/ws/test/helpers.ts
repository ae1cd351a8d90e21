/** Shared helpers for the ws tests: a recording accept, raw upgrades, cleanup. */
import type { CloseInfo, ServerConnectionHandlers, ServerTransportConnection } from '@lifeline/core'
import { afterEach } from 'vitest'
import WebSocket from 'ws'

const cleanups: (() => unknown)[] = []

/** Runs `cleanup` after the current test, last registered first. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup)
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export interface Accepted {
  readonly connection: ServerTransportConnection
  readonly messages: string[]
  readonly protocolErrors: string[]
  closed: CloseInfo | undefined
}

/** An accept callback that records every connection, for tests without a Lifeline server. */
export function recorder(): {
  accepted: Accepted[]
  accept: (connection: ServerTransportConnection) => ServerConnectionHandlers
} {
  const accepted: Accepted[] = []
  return {
    accepted,
    accept: (connection) => {
      const entry: Accepted = { connection, messages: [], protocolErrors: [], closed: undefined }
      accepted.push(entry)
      return {
        message: (payload) => entry.messages.push(String(payload)),
        protocolError: (reason) => entry.protocolErrors.push(reason),
        close: (info) => {
          entry.closed = info
        },
      }
    },
  }
}

export interface Upgrade {
  /** 101 when the upgrade succeeded, else the HTTP status of the refusal. */
  readonly status: number
  readonly socket: WebSocket | undefined
  readonly headers: Record<string, string | string[] | undefined>
}

/** Attempts a WebSocket upgrade with a raw `ws` client; never rejects on an HTTP refusal. */
export function upgrade(url: string, options: WebSocket.ClientOptions = {}): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options)
    let headers: Upgrade['headers'] = {}
    socket.on('upgrade', (res) => {
      headers = res.headers
    })
    socket.on('open', () => {
      onCleanup(() => socket.terminate())
      resolve({ status: 101, socket, headers })
    })
    socket.on('unexpected-response', (req, res) => {
      resolve({ status: res.statusCode ?? 0, socket: undefined, headers: res.headers })
      req.destroy()
    })
    socket.on('error', reject)
  })
}

/** Resolves with the next close of a raw socket. */
export function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
}
