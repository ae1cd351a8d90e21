/**
 * Sends not yet acked by the server (LL-SEND-6), in send order: first the ones sent on the current
 * connection (in flight), then the ones waiting to be sent (queued). Bounded by count and bytes with
 * an overflow policy (LL-SEND-7, LL-LIMIT-5). Items keep a stable `id` across sessions (LL-SEND-1), so a
 * durable outbox can later persist them as they are.
 */
import { BufferOverflowError } from '../errors.js'

export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest'

export interface OutboxLimits {
  /** Most sends kept unacked, queued or in flight. Default: 10,000 (maxBytes bounds the memory). */
  readonly maxMessages: number
  /** Most encoded data kept unacked, counted in UTF-16 code units (bytes, for ASCII JSON). Default: 1 MiB. */
  readonly maxBytes: number
  /** What a full outbox does with one more send. Default: `reject`. */
  readonly overflow: OverflowPolicy
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  maxMessages: 10_000,
  maxBytes: 1024 * 1024,
  overflow: 'reject',
}

export interface OutgoingMessage {
  readonly id: string
  readonly topic: string | undefined
  readonly data: unknown
  /** `data` as JSON, encoded once at send() time. */
  readonly json: string
  /** Session seq, assigned when first sent in the current session (0 until then). */
  seq: number
  /**
   * Set once the message was written to a connection: the de-duplication windows it was written
   * under (their epochs, LL-SEND-10) and when it was first written (client clock).
   */
  written?: { readonly epochs: string[]; readonly at: number }
  settle(error: Error | undefined): void
}

/** How much a server lets a client keep unacked on the wire (welcome.limits, LL-LIMIT-7). */
export interface SendWindow {
  readonly maxSends: number
  readonly maxBytes: number
}

const UNLIMITED: SendWindow = { maxSends: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }

/** A send's size as the server counts it: its data plus the frame around it, at most. */
const wireBytes = (message: OutgoingMessage) => message.json.length + 200 + message.id.length

export class Outbox {
  private items: OutgoingMessage[] = []
  private head = 0
  /** Items [head, head + inFlight) were sent on the current connection. */
  private inFlight = 0
  /** Their wire bytes, kept as they change, so a take is not a walk over what is in flight. */
  private inFlightBytes = 0
  private totalBytes = 0
  private nextSeq = 1

  constructor(private readonly limits: OutboxLimits) {}

  /** Sends not yet acked: the "3 pending" badge (LL-CLIENT-5). */
  get size(): number {
    return this.items.length - this.head
  }

  get bytes(): number {
    return this.totalBytes
  }

  /** Adds a send; returns the messages the overflow policy dropped. Throws when it refuses this one. */
  add(message: OutgoingMessage): OutgoingMessage[] {
    const dropped: OutgoingMessage[] = []
    const bytes = message.json.length
    while (this.size + 1 > this.limits.maxMessages || this.totalBytes + bytes > this.limits.maxBytes) {
      const victim = this.victim()
      if (victim === undefined || bytes > this.limits.maxBytes) {
        throw new BufferOverflowError(
          `outbox full (${this.size} messages, ${this.totalBytes} bytes)`,
          this.limits.overflow,
        )
      }
      this.remove(victim)
      dropped.push(victim)
    }
    this.items.push(message)
    this.totalBytes += bytes
    return dropped
  }

  /** Removes queued (never sent) messages that `refuse` returns an error for, settling them with it. */
  discardQueued(refuse: (message: OutgoingMessage) => Error | undefined): void {
    for (let i = this.head + this.inFlight; i < this.items.length; i++) {
      const message = this.items[i] as OutgoingMessage
      const error = refuse(message)
      if (error === undefined) continue
      this.items.splice(i--, 1)
      this.totalBytes -= message.json.length
      message.settle(error)
    }
  }

  /**
   * The queued messages to send now, in order, numbered for the session (LL-SEND-1), marked written
   * under the current de-duplication window (LL-SEND-10): as many as keep the messages in flight
   * within the server's window (LL-LIMIT-7), the rest wait for acks.
   */
  takeQueued(dedupEpoch = '', now = 0, window: SendWindow = UNLIMITED): OutgoingMessage[] {
    const start = this.head + this.inFlight
    let bytes = this.inFlightBytes
    let end = start
    while (end < this.items.length && end - this.head < window.maxSends) {
      const next = bytes + wireBytes(this.items[end] as OutgoingMessage)
      if (next > window.maxBytes && end > this.head) break
      bytes = next
      end++
    }
    const queued = this.items.slice(start, end)
    for (const message of queued) {
      if (message.seq === 0) message.seq = this.nextSeq++
      if (message.written === undefined) message.written = { epochs: [dedupEpoch], at: now }
      else if (!message.written.epochs.includes(dedupEpoch)) message.written.epochs.push(dedupEpoch)
    }
    this.inFlight += queued.length
    this.inFlightBytes = bytes
    return queued
  }

  /** The next seq this session will give (LL-SEND-8), kept with the sends across a reload. */
  get counter(): number {
    return this.nextSeq
  }

  /** Every unacked message, oldest first: what a reload must not lose (LL-SEND-9). */
  messages(): readonly OutgoingMessage[] {
    return this.items.slice(this.head)
  }

  /**
   * Messages kept from before a reload, with the counter that numbered them (LL-SEND-9): first in
   * line, before anything sent since. Bounds are not applied: they held when these were kept.
   */
  restore(messages: readonly OutgoingMessage[], nextSeq: number): void {
    this.items.splice(this.head, 0, ...messages)
    for (const message of messages) this.totalBytes += message.json.length
    this.nextSeq = Math.max(this.nextSeq, nextSeq)
  }

  /** Settles every message up to seq as processed (a cumulative ack, LL-SEND-4). */
  ack(seq: number): void {
    while (this.head < this.items.length) {
      const message = this.items[this.head] as OutgoingMessage
      if (message.seq === 0 || message.seq > seq) break
      this.shift()
      message.settle(undefined)
    }
    this.compact()
  }

  /** Settles one message as rejected by the server app (LL-SEND-5); it is never resent. */
  reject(seq: number, error: Error): void {
    const index = this.items.findIndex((message, i) => i >= this.head && message.seq === seq)
    if (index < 0) return
    const [message] = this.items.splice(index, 1)
    if (message === undefined) return
    if (index < this.head + this.inFlight) {
      this.inFlight--
      this.inFlightBytes -= wireBytes(message)
    }
    this.totalBytes -= message.json.length
    message.settle(error)
  }

  /** The connection ended: what was in flight must be sent again (LL-RESUME-5). */
  connectionLost(): void {
    this.inFlight = 0
    this.inFlightBytes = 0
  }

  /**
   * A resume: settle what the server processed, keep seqs of the rest (LL-RESUME-5), and number new
   * sends after every seq the server received, even ones this outbox no longer knows (LL-SEND-8).
   */
  resumed(ackedSeq: number, receivedSeq: number): void {
    this.connectionLost()
    this.ack(ackedSeq)
    this.nextSeq = Math.max(this.nextSeq, receivedSeq + 1)
  }

  /**
   * A new session: renumber everything from 1 in the original order, keeping ids (LL-RESUME-6).
   * Returns, removed, the messages whose outcome is unknown (LL-SEND-10): written while the server's
   * de-duplication window had another epoch, or first written longer ago than it remembers ids.
   */
  newSession(dedupEpoch = '', dedupMs?: number, now = 0): OutgoingMessage[] {
    this.connectionLost()
    this.nextSeq = 1
    const uncertain: OutgoingMessage[] = []
    const kept: OutgoingMessage[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const message = this.items[i] as OutgoingMessage
      const written = message.written
      const forgotten =
        written !== undefined &&
        (written.epochs.some((epoch) => epoch !== dedupEpoch) ||
          (dedupMs !== undefined && now - written.at > dedupMs))
      if (forgotten) {
        uncertain.push(message)
        this.totalBytes -= message.json.length
      } else {
        message.seq = 0
        kept.push(message)
      }
    }
    this.items = kept
    this.head = 0
    return uncertain
  }

  /** Settles everything as failed (a deliberate close or a fatal code, LL-CLIENT-5). */
  failAll(error: Error): void {
    const all = this.items.slice(this.head)
    this.items = []
    this.head = 0
    this.connectionLost()
    this.totalBytes = 0
    for (const message of all) message.settle(error)
  }

  private victim(): OutgoingMessage | undefined {
    const firstQueued = this.head + this.inFlight
    if (firstQueued >= this.items.length) return undefined // everything is in flight: cannot drop
    switch (this.limits.overflow) {
      case 'drop-oldest':
        return this.items[firstQueued]
      case 'drop-newest':
        return this.items[this.items.length - 1]
      default:
        return undefined
    }
  }

  private remove(message: OutgoingMessage): void {
    const index = this.items.indexOf(message, this.head + this.inFlight)
    if (index < 0) return
    this.items.splice(index, 1)
    this.totalBytes -= message.json.length
  }

  private shift(): void {
    const message = this.items[this.head] as OutgoingMessage
    this.head++
    if (this.inFlight > 0) {
      this.inFlight--
      this.inFlightBytes -= wireBytes(message)
    }
    this.totalBytes -= message.json.length
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}
