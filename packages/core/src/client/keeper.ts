/**
 * What the client keeps for a reload (§17): the session (memento, app memento, cursors with their
 * epochs) and, in a storage that outlives the page, the send counter and every unacked send
 * (LL-SEND-9), written in one save. Saves are coalesced per tick, except where an order matters: the
 * memento before anything proves it (LL-MEMENTO-8), a seq before the send that carries it.
 */
import { atEndOfTick } from '../microtask.js'
import type { Inbox } from './inbox.js'
import type { Outbox, OutgoingMessage } from './outbox.js'
import { type SessionStorage, type StoredSend, type StoredSession, saveKeeping } from './storage.js'

/** The session part the client holds itself. */
export interface KeptSession {
  readonly memento: string | undefined
  readonly appMementoToken: string | undefined
  readonly appMementoValue: unknown
}

export interface KeeperEvents {
  /** The ids of pending sends the storage does not hold now (empty when it holds them all again). */
  unsaved(ids: readonly string[]): void
}

export class Keeper {
  private scheduled = false
  private stopped = false
  private reported: readonly string[] = []

  constructor(
    private readonly storage: SessionStorage,
    private readonly outbox: Outbox,
    private readonly inbox: Inbox,
    private readonly session: () => KeptSession,
    private readonly events: KeeperEvents,
  ) {}

  /** True when sends are kept too: the storage outlives the page. */
  get keepsSends(): boolean {
    return this.storage.persistent === true
  }

  /** Saves now; a promise when the storage is asynchronous (callers that must wait, wait for it). */
  save(): undefined | Promise<void> {
    this.scheduled = false
    if (this.stopped) return undefined
    const stored = this.snapshot()
    if (stored === undefined) return undefined
    const unsaved = saveKeeping(this.storage, stored)
    if (!(unsaved instanceof Promise)) return void this.report(unsaved)
    return unsaved.then((ids) => this.report(ids))
  }

  /** No save from now on: another page owns the storage. */
  stop(): void {
    this.stopped = true
  }

  /** Saves at the end of this tick: one write for a burst of sends and acks. */
  saveSoon(): void {
    if (this.scheduled || !this.keepsSends) return
    this.scheduled = true
    atEndOfTick(() => {
      if (this.scheduled) void this.save()
    })
  }

  /** Sends kept by a page before this one, as outbox messages settled through `settle`. */
  restore(stored: StoredSession, settle: (message: OutgoingMessage, error: Error | undefined) => void): void {
    const messages = (stored.sends ?? []).flatMap((send): OutgoingMessage[] => {
      let data: unknown
      try {
        data = JSON.parse(send.json)
      } catch {
        return [] // not what this client wrote: reported with the unsaved ones below
      }
      const message: OutgoingMessage = {
        id: send.id,
        topic: send.topic,
        data,
        json: send.json,
        seq: send.seq,
        settle: (error) => settle(message, error),
      }
      if (send.written !== undefined)
        message.written = { epochs: [...send.written.epochs], at: send.written.at }
      return [message]
    })
    this.outbox.restore(messages, stored.nextSeq ?? 1)
  }

  private snapshot(): StoredSession | undefined {
    const { memento, appMementoToken, appMementoValue } = this.session()
    const sends = this.keepsSends ? this.outbox.messages().map(storedSend) : []
    if (memento === undefined && sends.length === 0) return undefined
    const topicMementos = this.inbox.mementosSnapshot()
    return {
      ...(memento === undefined ? {} : { memento }),
      ...(appMementoToken === undefined ? {} : { appMemento: appMementoToken, appMementoValue }),
      ...this.inbox.snapshot(),
      ...(topicMementos === undefined ? {} : { topicMementos }),
      ...(this.keepsSends ? { sends, nextSeq: this.outbox.counter } : {}),
    }
  }

  private report(ids: readonly string[]): void {
    if (ids.length === this.reported.length && ids.every((id, i) => id === this.reported[i])) return
    this.reported = ids
    this.events.unsaved(ids)
  }
}

function storedSend(message: OutgoingMessage): StoredSend {
  const { id, seq, topic, json, written } = message
  const send: StoredSend = topic === undefined ? { id, seq, json } : { id, seq, topic, json }
  return written === undefined ? send : { ...send, written: { epochs: [...written.epochs], at: written.at } }
}
