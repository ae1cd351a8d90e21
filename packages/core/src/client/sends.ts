/**
 * The client's sends across connections, sessions and reloads: the outbox (LL-SEND-6, LL-SEND-7), its
 * numbering (LL-SEND-1, LL-SEND-8), what the storage keeps of it (LL-SEND-9, through the Keeper), and
 * the sends whose outcome a new session can no longer know (LL-SEND-10).
 */
import type { Welcome } from '@lifeline/protocol'
import type { Clock } from '../clock.js'
import { BufferOverflowError, OutcomeUnknownError, SendRejectedError } from '../errors.js'
import { encodeData, tooLarge } from './encoder.js'
import type { SendOptions } from './events.js'
import type { Inbox } from './inbox.js'
import { Keeper, type KeptSession } from './keeper.js'
import type { DroppedMessage } from './options.js'
import { Outbox, type OutboxLimits, type OutgoingMessage, type SendWindow } from './outbox.js'
import type { SessionStorage, StoredSession } from './storage.js'

const ignore = (): void => {}

export interface SendsEvents {
  /** The number of unacked sends changed. */
  pending(count: number): void
  /** A send settled: acked (no error), rejected, dropped, failed, or of unknown outcome. */
  settled(id: string, topic: string | undefined, error: Error | undefined): void
  /** Pending sends the storage does not hold now (LL-SEND-9); empty when it holds them all again. */
  unsaved(ids: readonly string[]): void
  /** Sends a page before this one had but could not keep (LL-SEND-9). */
  lost(ids: readonly string[]): void
}

export interface SendsOptions {
  readonly limits: OutboxLimits
  readonly storage: SessionStorage
  readonly clock: Clock
  readonly idPrefix: string
  readonly onOverflow: ((message: DroppedMessage, error: Error) => void) | undefined
}

export class Sends {
  private readonly outbox: Outbox
  private readonly keeper: Keeper
  private nextId = 1
  /** The de-duplication window the current session writes under (LL-SEND-10); '' when unknown. */
  private dedupEpoch = ''
  /** How much the server lets us keep unacked on the wire (LL-LIMIT-7); unbounded until told. */
  private window: SendWindow = { maxSends: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }

  constructor(
    private readonly options: SendsOptions,
    inbox: Inbox,
    session: () => KeptSession,
    private readonly events: SendsEvents,
  ) {
    this.outbox = new Outbox(options.limits)
    this.keeper = new Keeper(options.storage, this.outbox, inbox, session, {
      unsaved: (ids) => events.unsaved(ids),
    })
  }

  get size(): number {
    return this.outbox.size
  }

  /** Unacked sends, oldest first: after a reload, the ones kept from before it too. */
  pendingMessages(): Array<{
    readonly id: string
    readonly topic: string | undefined
    readonly data: unknown
  }> {
    return this.outbox.messages().map(({ id, topic, data }) => ({ id, topic, data }))
  }

  /** A new message; the promise settles once, as the message does (LL-CLIENT-5). */
  add(data: unknown, options: SendOptions, maxFrameBytes: number): Promise<void> {
    const encoded = encodeData(data, options.topic, options.id)
    if (encoded instanceof Error) return this.refuse(options, encoded)
    const id = options.id ?? `${this.options.idPrefix}.${this.nextId++}`
    const refused = tooLarge(encoded, id, options.topic, maxFrameBytes)
    if (refused !== undefined) return this.refuse({ ...options, id }, refused)
    let resolve!: () => void
    let reject!: (error: Error) => void
    const sent = new Promise<void>((ok, fail) => {
      resolve = ok
      reject = fail
    })
    const message: OutgoingMessage = {
      id,
      topic: options.topic,
      data,
      json: encoded,
      seq: 0,
      settle: (error) => {
        this.events.settled(id, options.topic, error)
        if (error === undefined) return resolve()
        // A failure nobody awaits must not crash the app as an unhandled rejection (it is also the
        // `settled` event); the handler goes on when it fails, not on every send.
        sent.catch(ignore)
        reject(error)
      },
    }
    let dropped: OutgoingMessage[]
    try {
      dropped = this.outbox.add(message)
    } catch (error) {
      this.options.onOverflow?.({ id, topic: options.topic, data }, error as Error)
      this.events.settled(id, options.topic, error as Error)
      sent.catch(ignore)
      reject(error as Error)
      return sent
    }
    for (const victim of dropped) this.drop(victim)
    this.changed()
    return sent
  }

  /** A send refused before it reached the outbox: it fails, and says so through `settled` too. */
  refuse(options: SendOptions, error: Error): Promise<void> {
    this.events.settled(options.id ?? `${this.options.idPrefix}.${this.nextId++}`, options.topic, error)
    const refused = Promise.reject(error)
    refused.catch(ignore)
    return refused
  }

  /** What a page before this one kept (LL-SEND-9): its sends go first, and what it lost is told. */
  restore(stored: StoredSession | undefined): void {
    if (stored === undefined) return
    this.keeper.restore(stored, (message, error) => this.events.settled(message.id, message.topic, error))
    if (stored.unsaved !== undefined && stored.unsaved.length > 0) this.events.lost(stored.unsaved)
    if (this.outbox.size > 0) this.events.pending(this.outbox.size)
  }

  /** The queued sends to write now, numbered; the numbering is saved before they are written. */
  take(): OutgoingMessage[] {
    const counter = this.outbox.counter
    const queued = this.outbox.takeQueued(this.dedupEpoch, this.options.clock.now(), this.window)
    // A seq given out must be in the storage before the frame that carries it leaves (LL-SEND-8).
    if (this.outbox.counter !== counter && this.keeper.keepsSends) void this.keeper.save()
    return queued
  }

  ack(seq: number): void {
    this.outbox.ack(seq)
    this.changed()
  }

  /** LL-SEND-5: the server app said no. */
  reject(seq: number, code: number, reason: string): void {
    this.outbox.reject(seq, new SendRejectedError(code, reason))
    this.changed()
  }

  /**
   * A welcome: sends queued before it are checked against the limit it brings; a resume settles
   * what was processed and numbers after what was received (LL-RESUME-5, LL-SEND-8); a new session
   * renumbers from 1 and fails the sends whose outcome it cannot know (LL-RESUME-6, LL-SEND-10).
   */
  welcome(frame: Welcome): void {
    const max = frame.limits.maxFrameBytes
    this.outbox.discardQueued((message) => tooLarge(message.json, message.id, message.topic, max))
    if (frame.resumed) {
      this.outbox.resumed(frame.ackedSeq, frame.receivedSeq ?? frame.ackedSeq)
    } else {
      const now = this.options.clock.now()
      const epoch = frame.dedupEpoch ?? ''
      for (const message of this.outbox.newSession(epoch, frame.limits.dedupMs, now)) {
        message.settle(new OutcomeUnknownError(message.id))
      }
    }
    this.dedupEpoch = frame.dedupEpoch ?? ''
    // LL-LIMIT-7: never more unacked on the wire than the server holds unprocessed.
    this.window = {
      maxSends: frame.limits.maxPendingSends ?? Number.POSITIVE_INFINITY,
      maxBytes: frame.limits.maxPendingSendBytes ?? Number.POSITIVE_INFINITY,
    }
  }

  /** Saves the session and the sends now; a promise when the storage is asynchronous. */
  save(): undefined | Promise<void> {
    return this.keeper.save()
  }

  /** The page is going away: nothing more is saved, so the next page's storage stays its own. */
  detach(): void {
    this.keeper.stop()
  }

  connectionLost(): void {
    this.outbox.connectionLost()
  }

  failAll(error: Error): void {
    this.outbox.failAll(error)
    this.events.pending(0)
  }

  private drop(message: OutgoingMessage): void {
    const error = new BufferOverflowError(
      'dropped by the outbox overflow policy',
      this.options.limits.overflow,
    )
    this.options.onOverflow?.({ id: message.id, topic: message.topic, data: message.data }, error)
    message.settle(error)
  }

  private changed(): void {
    this.events.pending(this.outbox.size)
    this.keeper.saveSoon()
  }
}
