/** The default store and bus: everything in this process, lost when it stops (LL-RESUME-4 `unknown`). */
import type { Clock } from '../clock.js'
import { DEFAULT_DEDUP_BOUNDS, type DedupBounds, DedupWindow } from './dedup-window.js'
import { type LogBounds, ReplayLog } from './replay-log.js'
import type {
  Bus,
  Claim,
  ClaimResult,
  DedupInfo,
  EndedReason,
  NodeReply,
  NodeRequest,
  SessionRecord,
  SessionStore,
  StoredMember,
  StreamEntry,
  StreamHead,
  StreamName,
  StreamRead,
} from './store.js'
import type { TopicLog } from './topic-log.js'
import { DEFAULT_TOPIC_LOG_BOUNDS, type TopicLogBounds, TopicLogs } from './topic-logs.js'

export interface MemoryStoreOptions {
  /**
   * Bounds of each topic's messages (LL-LIMIT-2); bytes count the memory entries hold (LL-LIMIT-10).
   * Default: 10,000 entries, 8 MiB, 5 minutes.
   */
  topicLog?: Partial<LogBounds>
  /**
   * Bounds of each topic's presence entries, kept apart so presence never evicts a message
   * (LL-PRESENCE-5). Default: 10,000 entries, 4 MiB, 5 minutes.
   */
  presenceLog?: Partial<LogBounds>
  /** Bounds of each session's direct log. Default: 10,000 entries, 1 MiB, 5 minutes. */
  directLog?: Partial<LogBounds>
  /** Bounds of each subject's message-id window (LL-SEND-3). Default: 4096 ids, 10 minutes. */
  dedup?: Partial<DedupBounds>
  /** Most subjects with a window; the oldest window goes first (LL-LIMIT-4). Default: 100000. */
  maxSubjects?: number
  /** Most ended sessions whose tombstone is kept (LL-RESUME-4); the oldest goes first. Default: 10000. */
  maxTombstones?: number
  /** Random bytes for incarnation ids (LL-EPOCH-1, LL-SEND-10). Default: crypto.getRandomValues. */
  randomBytes?: (size: number) => Uint8Array
  /** Logs of topics no session here holds any more, kept for rejoins from a cursor (LL-LIMIT-9). */
  releasedTopics?: Partial<TopicLogBounds>
}

/** A session's direct log; topic logs live in `TopicLogs`. */
interface DirectLog {
  readonly epoch: string
  readonly entries: ReplayLog<StreamEntry>
}

interface Window {
  readonly epoch: string
  readonly ids: DedupWindow
}

/**
 * Everything in this process. Several servers in one process may share one (with one MemoryBus):
 * claims, records and members are then decided here for all of them, as a shared store would.
 */
export class MemoryStore implements SessionStore {
  /** Records of sessions that have not ended. */
  private readonly sessions = new Map<string, SessionRecord>()
  /** Ended sessions, oldest end first, bounded (LL-RESUME-4): how and at which term they ended. */
  private readonly tombstones = new Map<string, Claim & { readonly ended: EndedReason }>()
  /** Each live session's current term, once claimed past its first (LL-NODE-1). */
  private readonly claims = new Map<string, Claim>()
  private readonly topicMembers = new Map<StreamName, Map<string, StoredMember>>()
  private readonly streams = new Map<StreamName, DirectLog>()
  private readonly topics: TopicLogs
  private readonly windows = new Map<string, Window>()
  private readonly maxSubjects: number
  private readonly dedupBounds: DedupBounds
  /**
   * Incarnations are this store's random id plus a counter: unique across restarts (a new store has a
   * new id), and no random draw per stream.
   */
  private readonly incarnation: string
  private incarnations = 0

  constructor(
    private readonly clock: Clock,
    private readonly options: MemoryStoreOptions = {},
  ) {
    this.maxSubjects = options.maxSubjects ?? 100_000
    this.dedupBounds = { ...DEFAULT_DEDUP_BOUNDS, ...options.dedup }
    const bytes = options.randomBytes?.(8) ?? globalThis.crypto.getRandomValues(new Uint8Array(8))
    this.incarnation = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
    const { topicLog, presenceLog } = options
    const logBounds = {
      ...(topicLog === undefined ? {} : { messages: topicLog }),
      ...(presenceLog === undefined ? {} : { presence: presenceLog }),
    }
    const bounds = { ...DEFAULT_TOPIC_LOG_BOUNDS, ...options.releasedTopics }
    this.topics = new TopicLogs(clock, logBounds, bounds, () => this.nextEpoch())
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const record = this.sessions.get(sid)
    if (record !== undefined) return record
    const tombstone = this.tombstones.get(sid)
    if (tombstone === undefined) return undefined
    const { node, term, ended } = tombstone
    return { ...TOMBSTONE, sid, node, term, ended }
  }

  /** LL-NODE-2: an older owner's late write never replaces a newer one's; a tombstone is final. */
  putSession(record: SessionRecord): void {
    const { sid } = record
    if (this.tombstones.has(sid)) return
    const stored = this.sessions.get(sid)
    if (
      stored !== undefined &&
      (stored.term > record.term || (stored.term === record.term && stored.version > record.version))
    )
      return
    if (record.ended === undefined) return void this.sessions.set(sid, record)
    // Kept small: how it ended is all a late resume needs (LL-RESUME-4).
    this.sessions.delete(sid)
    this.claims.delete(sid)
    this.tombstones.set(sid, { node: record.node, term: record.term, purpose: 'end', ended: record.ended })
    if (this.tombstones.size > (this.options.maxTombstones ?? 10_000)) {
      const oldest = this.tombstones.keys().next().value
      if (oldest !== undefined) this.tombstones.delete(oldest)
    }
  }

  /** LL-NODE-1: the next term goes to its first claim, unless the current one ended the session. */
  claim(sid: string, claim: Claim): ClaimResult {
    const current = this.tombstones.get(sid) ?? this.claims.get(sid) ?? this.firstTerm(sid)
    const final = current.purpose === 'expire' || current.purpose === 'end'
    const owner: Claim = { node: current.node, term: current.term, purpose: current.purpose }
    if (final || claim.term !== current.term + 1) return { won: false, owner }
    this.claims.set(sid, claim)
    return { won: true, owner: claim, previous: owner }
  }

  /** Term 1 is the session's creator's, never claimed. */
  private firstTerm(sid: string): Claim {
    const record = this.sessions.get(sid)
    return { node: record?.node ?? '', term: 1, purpose: 'resume' }
  }

  setMember(stream: StreamName, sid: string, member: StoredMember | undefined): void {
    let members = this.topicMembers.get(stream)
    if (member === undefined) {
      members?.delete(sid)
      if (members?.size === 0) this.topicMembers.delete(stream)
      return
    }
    if (members === undefined) {
      members = new Map()
      this.topicMembers.set(stream, members)
    }
    members.set(sid, member)
  }

  members(stream: StreamName): readonly StoredMember[] {
    return [...(this.topicMembers.get(stream)?.values() ?? [])]
  }

  /** Synchronous: the seq is known, and the entry fanned out, in the caller's tick. */
  append(stream: StreamName, build: (seq: number) => Omit<StreamEntry, 'seq' | 'epoch'>): StreamEntry {
    if (isTopic(stream)) return this.topics.append(stream, build)
    const { epoch, entries: log } = this.direct(stream)
    const seq = log.lastSeq + 1
    const entry: StreamEntry = { seq, epoch, ...build(seq) }
    log.append(entry, entry.size ?? entry.text.length)
    return entry
  }

  lastAppMemento(stream: StreamName): { readonly seq: number; readonly value: unknown } | undefined {
    return this.topics.lastAppMemento(stream)
  }

  /** A topic gained its first subscriber on this node: its log is live (LL-LIMIT-9). */
  retain(stream: StreamName): void {
    if (isTopic(stream)) this.topics.retain(stream)
  }

  /** A topic lost its last subscriber on this node: its log is parked, then dropped (LL-LIMIT-9). */
  release(stream: StreamName): void {
    if (isTopic(stream)) this.topics.release(stream)
  }

  async read(stream: StreamName, afterSeq: number, limit: number): Promise<StreamRead> {
    return this.readNow(stream, afterSeq, limit)
  }

  readNow(stream: StreamName, afterSeq: number, limit: number): StreamRead {
    const { epoch, entries: log } = this.log(stream)
    const lastSeq = log.lastSeq
    // LL-RESUME-11: a cursor above the end is not covered; nothing will ever reach it.
    if (afterSeq >= lastSeq) return { epoch, covered: afterSeq === lastSeq, entries: [], lastSeq }
    if (!log.covers(afterSeq)) return { epoch, covered: false, entries: [], lastSeq }
    const entries = log.read(afterSeq, limit).map((entry) => entry.value)
    return { epoch, covered: true, entries, lastSeq }
  }

  async head(stream: StreamName): Promise<StreamHead> {
    return this.headNow(stream)
  }

  headNow(stream: StreamName): StreamHead {
    const { epoch, entries } = this.log(stream)
    return { epoch, lastSeq: entries.lastSeq }
  }

  /** LL-ACK-4: only direct logs are trimmed by acks; a topic's entries serve every subscriber. */
  async trim(stream: StreamName, throughSeq: number): Promise<void> {
    this.streams.get(stream)?.entries.trimThrough(throughSeq)
  }

  async dropStream(stream: StreamName): Promise<void> {
    if (isTopic(stream)) this.topics.drop(stream)
    else this.streams.delete(stream)
  }

  seenMessageId(subject: string, id: string): boolean {
    return this.window(subject).ids.has(id)
  }

  recordMessageId(subject: string, id: string): void {
    this.window(subject).ids.admit(id)
  }

  dedupInfo(subject: string): DedupInfo {
    const { maxIds, maxAgeMs } = this.dedupBounds
    return { epoch: this.window(subject).epoch, maxIds, maxAgeMs }
  }

  async close(): Promise<void> {
    this.sessions.clear()
    this.tombstones.clear()
    this.claims.clear()
    this.topicMembers.clear()
    this.streams.clear()
    this.windows.clear()
    this.topics.clear()
  }

  /**
   * Counts for metrics and leak checks: sessions, logs holding entries (live topics and direct
   * streams; `parked`: released topics' logs still kept), subjects with a de-dup window.
   */
  get stats(): { sessions: number; streams: number; parked: number; subjects: number } {
    const topics = this.topics.stats
    return {
      sessions: this.sessions.size,
      streams: this.streams.size + topics.live,
      parked: topics.parked,
      subjects: this.windows.size,
    }
  }

  /**
   * A stream's log, made when missing. A new log is a new incarnation (LL-EPOCH-1): cursors of a log
   * this store dropped, or a store before a restart held, are never read against it. Direct logs go
   * with their session; topic logs with the last session here that holds them (LL-LIMIT-9).
   */
  private log(stream: StreamName): {
    readonly epoch: string
    readonly entries: ReplayLog<StreamEntry> | TopicLog<StreamEntry>
  } {
    return isTopic(stream) ? this.topics.log(stream) : this.direct(stream)
  }

  private direct(stream: StreamName): DirectLog {
    let log = this.streams.get(stream)
    if (log === undefined) {
      log = {
        epoch: this.nextEpoch(),
        entries: new ReplayLog<StreamEntry>(this.clock, this.options.directLog),
      }
      this.streams.set(stream, log)
    }
    return log
  }

  private window(subject: string): Window {
    let window = this.windows.get(subject)
    if (window !== undefined) return window
    // Beyond maxSubjects the oldest window goes: nothing is touched per message on the hot path.
    // A window made again has a new epoch, so clients learn their old ids are forgotten (LL-SEND-10).
    if (this.windows.size >= this.maxSubjects) {
      const oldest = this.windows.keys().next().value
      if (oldest !== undefined) this.windows.delete(oldest)
    }
    window = { epoch: this.nextEpoch(), ids: new DedupWindow(this.clock, this.dedupBounds) }
    this.windows.set(subject, window)
    return window
  }

  private nextEpoch(): string {
    return `${this.incarnation}.${(++this.incarnations).toString(36)}`
  }
}

const isTopic = (stream: StreamName) => stream.startsWith('t:')

/** What a tombstone reads as, beside its id, node, term and reason. */
const TOMBSTONE: Omit<SessionRecord, 'sid' | 'node' | 'term' | 'ended'> = Object.freeze({
  version: 0,
  subject: '',
  meta: undefined,
  generation: 0,
  proven: 0,
  processedSeq: 0,
  receivedSeq: 0,
  directAcked: 0,
  topics: {},
  appMemento: undefined,
  expiresAt: undefined,
})

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

  /** Nodes of this process sharing the bus, by id. */
  private readonly nodes = new Map<string, (request: NodeRequest) => Promise<NodeReply>>()

  /** Answered in a later microtask, as a remote node would; undefined when no such node serves. */
  async request(node: string, request: NodeRequest): Promise<NodeReply | undefined> {
    await undefined
    const handler = this.nodes.get(node)
    return handler === undefined ? undefined : handler(request)
  }

  serve(node: string, handler: (request: NodeRequest) => Promise<NodeReply>): () => void {
    this.nodes.set(node, handler)
    return () => {
      if (this.nodes.get(node) === handler) this.nodes.delete(node)
    }
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.nodes.clear()
  }
}
