/**
 * The NATS binding (spec section 20, LL-NATS-1..9), shared by the client and server transports:
 * subjects, control messages and the per-connection message counter. Browser-safe.
 */
import { headers, type Msg, type MsgHdrs } from '@nats-io/nats-core'

/** Default subject prefix (LL-NATS-1). */
export const DEFAULT_PREFIX = 'lifeline'

/** Control and counter headers (LL-NATS-5..7). */
export const CONTROL_HEADER = 'Lifeline'
export const SEQ_HEADER = 'Lifeline-Seq'
export const CODE_HEADER = 'Lifeline-Code'
export const REASON_HEADER = 'Lifeline-Reason'

/** Room left in a NATS message for the headers, under max_payload (LL-NATS-4). */
export const HEADER_ROOM = 256

/** LL-NATS-1: at least 128 random bits, base64url, so never a `.`, `*` or `>`. */
const CONNECTION_ID = /^[A-Za-z0-9_-]{22,64}$/

export function isConnectionId(id: string): boolean {
  return CONNECTION_ID.test(id)
}

/** 128 random bits, base64url (22 characters). */
export function connectionId(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A prefix is one or more subject tokens without wildcards (a server may listen on `*` tokens). */
export function checkPrefix(prefix: string, allowWildcards: boolean): string {
  const tokens = prefix.split('.')
  const valid = tokens.every(
    (token) =>
      token.length > 0 && !/[\s>]/.test(token) && (token === '*' ? allowWildcards : !token.includes('*')),
  )
  if (!valid) throw new TypeError(`@lifeline/nats: invalid subject prefix ${JSON.stringify(prefix)}`)
  return prefix
}

export interface Subjects {
  /** LL-NATS-5: where a connection is opened, served by one node of the queue group. */
  readonly open: string
  /** Client to server frames (LL-NATS-1). */
  readonly client: string
  /** Server to client frames (LL-NATS-1). */
  readonly server: string
}

export function subjects(prefix: string, id: string): Subjects {
  return { open: `${prefix}.o.${id}`, client: `${prefix}.c.${id}`, server: `${prefix}.s.${id}` }
}

export type Control =
  | { readonly type: 'open' }
  | { readonly type: 'close'; readonly code: number; readonly reason: string }
  /** A NATS status message: 503 means no Lifeline server subscribed (LL-NATS-5). */
  | { readonly type: 'status'; readonly code: number }

/** LL-NATS-7: a close carries its code and reason, as a WebSocket close frame would. */
export function closeHeaders(code: number, reason: string): MsgHdrs {
  const h = headers()
  h.set(CONTROL_HEADER, 'close')
  h.set(CODE_HEADER, String(code))
  // A header value is one line; the reason is at most 123 bytes already (closeReason).
  h.set(REASON_HEADER, reason.replace(/[\r\n]+/g, ' '))
  return h
}

export function openHeaders(): MsgHdrs {
  const h = headers()
  h.set(CONTROL_HEADER, 'open')
  return h
}

/**
 * The control a message carries, or undefined for a data message (a frame or a batch, even an empty
 * one, which the core refuses as a protocol error). Controls are empty and named by the `Lifeline`
 * header (LL-NATS-5, LL-NATS-7), or are NATS status messages (503: no responders).
 */
export function controlOf(msg: Msg): Control | undefined {
  if (msg.data.length > 0) return undefined
  const h = msg.headers
  if (h === undefined) return undefined
  if (h.hasError || (h.code !== 0 && h.code !== 200)) return { type: 'status', code: h.code }
  const control = h.get(CONTROL_HEADER)
  if (control === 'open') return { type: 'open' }
  if (control !== 'close') return undefined
  const code = Number.parseInt(h.get(CODE_HEADER), 10)
  return {
    type: 'close',
    code: Number.isInteger(code) && code >= 1000 && code <= 4999 ? code : 1006,
    reason: h.get(REASON_HEADER),
  }
}

/**
 * LL-NATS-6: numbers a connection's data messages in one direction, and checks the peer's. Core NATS
 * delivers at most once: a message can vanish without either NATS connection dropping (a route
 * between cluster nodes failing); the counter turns that into a closed connection, which Lifeline
 * recovers by resume and replay, instead of a silent gap.
 */
export class Counter {
  private sent = 0
  private received = 0
  private readonly header = headers()

  /** Headers for the next outgoing data message (one object reused: publish encodes it at once). */
  next(): MsgHdrs {
    this.header.set(SEQ_HEADER, String(++this.sent))
    return this.header
  }

  /** True when `msg` is the next message of the peer; false on a gap or a message without a counter. */
  accept(msg: Msg): boolean {
    const value = msg.headers?.get(SEQ_HEADER)
    if (value === undefined || value === '') return false
    if (Number(value) !== this.received + 1) return false
    this.received++
    return true
  }
}
