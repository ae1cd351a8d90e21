/**
 * The demo chat's own storage: what an app keeps in its database, here in memory and bounded. Each room
 * numbers its messages 1, 2, 3... (`n`), and each message is published with the topic app memento
 * `{ upTo: n }` (LL-APPM-6), so a page resyncs from here: a late joiner loads the history up to the
 * value its `joined` brings, a reloaded page up to the value its client kept, and a page whose session
 * could not be recovered loads what lies between the value it had and the new one.
 */
import type { ChatMessage } from './app.js'

export interface StoredMessage extends ChatMessage {
  /** The message's number in its room. */
  readonly n: number
}

export interface HistoryPage {
  readonly messages: readonly StoredMessage[]
  /** True when messages after `after` were already dropped by the bound: older history is gone. */
  readonly truncated: boolean
}

export interface HistoryBounds {
  /** Messages kept per room (the oldest go first). Default: 1000. */
  readonly perRoom: number
  /** Rooms kept (the least recently written goes first). Default: 1000. */
  readonly rooms: number
}

export class ChatHistory {
  private readonly rooms = new Map<string, { last: number; messages: StoredMessage[] }>()
  private readonly bounds: HistoryBounds

  constructor(bounds: Partial<HistoryBounds> = {}) {
    this.bounds = { perRoom: 1000, rooms: 1000, ...bounds }
  }

  /** Stores a message and returns it with its number. */
  append(room: string, message: ChatMessage): StoredMessage {
    let log = this.rooms.get(room)
    if (log === undefined) {
      if (this.rooms.size >= this.bounds.rooms) {
        const oldest = this.rooms.keys().next().value
        if (oldest !== undefined) this.rooms.delete(oldest)
      }
      log = { last: 0, messages: [] }
    } else this.rooms.delete(room) // re-inserted below: the map's order is the order of last writes
    this.rooms.set(room, log)
    const stored = { ...message, n: ++log.last }
    log.messages.push(stored)
    if (log.messages.length > this.bounds.perRoom)
      log.messages.splice(0, log.messages.length - this.bounds.perRoom)
    return stored
  }

  /** Messages numbered above `after` and up to `upTo`, oldest first, at most `limit` (the newest ones). */
  read(room: string, after: number, upTo: number, limit: number): HistoryPage {
    const messages = this.rooms.get(room)?.messages ?? []
    const wanted = messages.filter((message) => message.n > after && message.n <= upTo)
    const first = messages[0]?.n
    return {
      messages: wanted.slice(-limit),
      truncated: (first !== undefined && upTo > after && first > after + 1) || wanted.length > limit,
    }
  }
}
