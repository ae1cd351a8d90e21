/** The default store and bus: everything in this process, lost when it stops (LL-RESUME-4 `unknown`). */
import type { Clock } from '../clock.js'
import { type DedupBounds, DedupWindow } from './dedup-window.js'
import { type LogBounds, ReplayLog } from './replay-log.js'
import type { Bus, SessionRecord, SessionStore, StreamEntry, StreamName, StreamRead } from './store.js'
import { TopicLog } from './topic-log.js'

export interface MemoryStoreOptions {
  /** Bounds of each topic's messages (LL-LIMIT-2). Default: 10,000 entries, 4 MiB, 5 minutes. */
  topicLog?: Partial<LogBounds>
  /**
   * Bounds of each topic's presence entries, kept apart so presence never evicts a message
   * (LL-PRESENCE-5). Default: 10,000 entries, 2 MiB, 5 minutes.
   */
  presenceLog?: Partial<LogBounds>
  /** Bounds of each session's direct log. Default: 10,000 entries, 1 MiB, 5 minutes. */
  directLog?: Partial<LogBounds>
  /** Bounds of each subject's message-id window (LL-SEND-3). Default: 4096 ids, 10 minutes. */
  dedup?: Partial<DedupBounds>
  /** Most subjects with a window; the oldest window goes first (LL-LIMIT-4). Default: 100000. */
  maxSubjects?: number
}

export class MemoryStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>()
  private readonly streams = new Map<StreamName, ReplayLog<StreamEntry> | TopicLog<StreamEntry>>()
  private readonly windows = new Map<string, DedupWindow>()
  /** Per topic stream, the last app memento published with an entry (LL-APPM-8): one value per topic. */
  private readonly appMementos = new Map<StreamName, { readonly seq: number; readonly value: unknown }>()
  private readonly maxSubjects: number

  constructor(
    private readonly clock: Clock,
    private readonly options: MemoryStoreOptions = {},
  ) {
    this.maxSubjects = options.maxSubjects ?? 100_000
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    return this.sessions.get(sid)
  }

  async putSession(record: SessionRecord): Promise<void> {
    this.sessions.set(record.sid, record)
  }

  async deleteSession(sid: string): Promise<void> {
    this.sessions.delete(sid)
  }

  /** Synchronous: the seq is known, and the entry fanned out, in the caller's tick. */
  append(stream: StreamName, build: (seq: number) => Omit<StreamEntry, 'seq'>): StreamEntry {
    const log = this.log(stream)
    const seq = log.lastSeq + 1
    const entry: StreamEntry = { seq, ...build(seq) }
    if (log instanceof ReplayLog) log.append(entry, entry.text.length)
    else log.append(entry, entry.text.length, entry.frame.type === 'presence')
    const frame = entry.frame
    if (frame.type === 'msg' && frame.topic !== undefined && 'amv' in frame)
      this.appMementos.set(stream, { seq, value: frame.amv })
    return entry
  }

  lastAppMemento(stream: StreamName): { readonly seq: number; readonly value: unknown } | undefined {
    return this.appMementos.get(stream)
  }

  async read(stream: StreamName, afterSeq: number, limit: number): Promise<StreamRead> {
    return this.readNow(stream, afterSeq, limit)
  }

  readNow(stream: StreamName, afterSeq: number, limit: number): StreamRead {
    const log = this.streams.get(stream)
    if (log === undefined) return { covered: afterSeq === 0, entries: [], lastSeq: 0 }
    if (afterSeq >= log.lastSeq)
      return { covered: afterSeq === log.lastSeq, entries: [], lastSeq: log.lastSeq }
    if (!log.covers(afterSeq)) return { covered: false, entries: [], lastSeq: log.lastSeq }
    return {
      covered: true,
      entries: log.read(afterSeq, limit).map((entry) => entry.value),
      lastSeq: log.lastSeq,
    }
  }

  async lastSeq(stream: StreamName): Promise<number> {
    return this.lastSeqNow(stream)
  }

  lastSeqNow(stream: StreamName): number {
    return this.streams.get(stream)?.lastSeq ?? 0
  }

  async trim(stream: StreamName, throughSeq: number): Promise<void> {
    const log = this.streams.get(stream)
    if (log instanceof ReplayLog) log.trimThrough(throughSeq)
  }

  async dropStream(stream: StreamName): Promise<void> {
    this.streams.delete(stream)
    this.appMementos.delete(stream)
  }

  admitMessageId(subject: string, id: string): boolean {
    let window = this.windows.get(subject)
    if (window === undefined) {
      // Beyond maxSubjects the oldest window goes: nothing is touched per message on the hot path.
      if (this.windows.size >= this.maxSubjects) {
        const oldest = this.windows.keys().next().value
        if (oldest !== undefined) this.windows.delete(oldest)
      }
      window = new DedupWindow(this.clock, this.options.dedup)
      this.windows.set(subject, window)
    }
    return window.admit(id)
  }

  async close(): Promise<void> {
    this.sessions.clear()
    this.streams.clear()
    this.windows.clear()
    this.appMementos.clear()
  }

  /** Counts for metrics and leak checks. */
  get stats(): { sessions: number; streams: number; subjects: number } {
    return { sessions: this.sessions.size, streams: this.streams.size, subjects: this.windows.size }
  }

  private log(stream: StreamName): ReplayLog<StreamEntry> | TopicLog<StreamEntry> {
    let log = this.streams.get(stream)
    if (log !== undefined) return log
    // A topic's log is kept for the life of the process, even when empty: its lastSeq must never go
    // back, or clients holding a cursor would drop new entries as duplicates (LL-SEQ-3). Its content
    // is bounded; direct logs go with their session.
    const { directLog, topicLog, presenceLog } = this.options
    log = stream.startsWith('d:')
      ? new ReplayLog<StreamEntry>(this.clock, directLog)
      : new TopicLog<StreamEntry>(this.clock, {
          ...(topicLog === undefined ? {} : { messages: topicLog }),
          ...(presenceLog === undefined ? {} : { presence: presenceLog }),
        })
    this.streams.set(stream, log)
    return log
  }
}

/** Delivers entries to subscribers in this process, synchronously and in order. */
export class MemoryBus implements Bus {
  /** Copied on change, so a listener that unsubscribes while called leaves the iteration intact; an
   * array, not a Set, because most streams have one listener (a session's direct stream). */
  private readonly listeners = new Map<StreamName, ReadonlyArray<(entry: StreamEntry) => void>>()

  publish(stream: StreamName, entry: StreamEntry): void {
    const list = this.listeners.get(stream)
    if (list === undefined) return
    for (const listener of list) listener(entry)
  }

  subscribe(stream: StreamName, listener: (entry: StreamEntry) => void): () => void {
    this.listeners.set(stream, [...(this.listeners.get(stream) ?? []), listener])
    return () => {
      const current = this.listeners.get(stream)
      if (current === undefined || !current.includes(listener)) return
      const rest = current.filter((other) => other !== listener)
      if (rest.length === 0) this.listeners.delete(stream)
      else this.listeners.set(stream, rest)
    }
  }

  get subscriptions(): number {
    return this.listeners.size
  }

  async close(): Promise<void> {
    this.listeners.clear()
  }
}
