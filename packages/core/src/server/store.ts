/**
 * Where sessions and streams live. Asynchronous, so a remote store (NATS JetStream, in its own
 * package) fits; the memory implementations (memory-store.ts) are the default for one node.
 */

/** A stream's name: `t:<topic>` for a topic, `d:<sid>` for a session's direct stream. */
export type StreamName = string

export const topicStream = (topic: string): StreamName => `t:${topic}`
export const directStream = (sid: string): StreamName => `d:${sid}`

/** One entry of a stream: a message or a presence change, with its encoded frame. */
export interface StreamEntry {
  readonly seq: number
  /** The stream's incarnation when the entry was appended (LL-EPOCH-1). */
  readonly epoch: string
  /** The frame as sent to every subscriber: `msg` or `presence`. */
  readonly frame: EntryFrame
  /** The frame as JSON text, encoded once for every subscriber and transport. */
  readonly text: string
  /** A session that must not receive this entry (the sender, when the app asks; LL-SEQ-4). */
  readonly except?: string
  /**
   * Memory the entry holds (its text and its frame), estimated: what a store counts against its byte
   * bounds (LL-LIMIT-10). Without it, the text's length.
   */
  readonly size?: number
}

export type EntryFrame =
  | {
      readonly type: 'msg'
      readonly seq: number
      readonly topic?: string
      readonly data: unknown
      readonly am?: string
      /** The app memento's value: of `am` on a direct stream, the topic's own on a topic (LL-APPM-5, -6). */
      readonly amv?: unknown
    }
  | {
      readonly type: 'presence'
      readonly seq: number
      readonly topic: string
      readonly sid: string
      readonly event: 'joined' | 'away' | 'reconnected' | 'left'
      readonly meta?: unknown
    }

/** Where a stream's numbering stands: its incarnation and its last seq (LL-EPOCH-1). */
export interface StreamHead {
  /**
   * The incarnation: it changes whenever the stream's numbering starts again (a store that lost it),
   * never while its numbering goes on. A store creates the stream, and fixes its epoch, on first use.
   */
  readonly epoch: string
  /** The stream's last seq (0 when it never had an entry). */
  readonly lastSeq: number
}

/** What a stream holds after a given seq. */
export interface StreamRead extends StreamHead {
  /**
   * False when entries after `afterSeq` were already dropped by the log's bounds (LL-REPLAY-3), or
   * `afterSeq` is above the stream's last seq (LL-RESUME-11).
   */
  readonly covered: boolean
  readonly entries: readonly StreamEntry[]
}

/** A subject's de-duplication window as a client sees it (LL-SEND-10, LL-LIMIT-6). */
export interface DedupInfo {
  /** Changes whenever the window was lost (evicted, or the store restarted). */
  readonly epoch: string
  readonly maxIds: number
  readonly maxAgeMs: number
}

export interface AppendOptions {
  /** An idempotency key: the same key appends once (LL-NODE-8). */
  readonly id?: string | undefined
}

/** Why a session ended, as its tombstone keeps it for late resumes (LL-RESUME-4). */
export type EndedReason = 'ended' | 'kicked' | 'expired'

/** What another node needs to resume a session (LL-GRACE-1), or how it ended (its tombstone). */
export interface SessionRecord {
  readonly sid: string
  /**
   * Who wrote the record: the owning node, its ownership term, and the write's number within the
   * term. A store keeps the record of the highest term, then version: an older owner's late write
   * never replaces a newer owner's (LL-NODE-2).
   */
  readonly node: string
  readonly term: number
  readonly version: number
  /** Set when the session ended: the record is then its tombstone (LL-NODE-4). */
  readonly ended?: EndedReason
  readonly subject: string
  readonly meta: unknown
  /**
   * Newest memento generation issued, and the highest one the client proved it holds: every
   * generation from `proven` to `generation` resumes (LL-MEMENTO-5).
   */
  readonly generation: number
  readonly proven: number
  /** Highest client send seq processed (welcome.ackedSeq) and received (welcome.receivedSeq). */
  readonly processedSeq: number
  readonly receivedSeq: number
  /**
   * The send counters may lag what the client was told: the session was taken from a node that died
   * before handing it over, and no send came since (LL-NODE-3).
   */
  readonly resync?: boolean
  /** Highest direct-stream seq the client acked. */
  readonly directAcked: number
  /** Joined topics with the seq the client acked in each, and the incarnation it belongs to. */
  readonly topics: Readonly<Record<string, { readonly seq: number; readonly epoch: string | undefined }>>
  /** The app memento token, as last issued. */
  readonly appMemento: string | undefined
  /** Server-clock time at which the session ends unless resumed; undefined while connected. */
  readonly expiresAt: number | undefined
}

/**
 * Why a node claims a session's next term (LL-NODE-1): to resume it for a client (`resume`), to take
 * a gone node's session (`adopt`), or to end it (`expire`, `end`). A term won to end the session is
 * its last: no claim wins after it.
 */
export type ClaimPurpose = 'resume' | 'adopt' | 'expire' | 'end'

export interface Claim {
  readonly node: string
  readonly term: number
  readonly purpose: ClaimPurpose
}

export interface ClaimResult {
  readonly won: boolean
  /** The session's owner once this claim is ordered: the claim itself when won. */
  readonly owner: Claim
  /** The owner of the term before the claimed one, when the store knows it. */
  readonly previous?: Claim | undefined
}

/** A topic member as the store keeps it for every node (LL-NODE-7). */
export interface StoredMember {
  readonly sid: string
  readonly state: 'online' | 'away'
  readonly meta?: unknown
}

export interface SessionStore {
  /** The record of the highest term and version written, tombstones included. */
  getSession(sid: string): Promise<SessionRecord | undefined>
  /** Writes a record unless one of a higher term, or of the same term and a higher version, is there. */
  putSession(record: SessionRecord): Promise<void> | void
  /**
   * Orders a claim of a session's term (LL-NODE-1): the first claim of the term after the current
   * one wins it, unless the current term was won to end the session. Term 1 is the creator's, never
   * claimed. Every node computing the outcome agrees, whatever the store's replication.
   */
  claim(sid: string, claim: Claim): ClaimResult | Promise<ClaimResult>

  /**
   * Appends to a stream and returns the entry with its seq (LL-SEQ-1). `build` makes the entry for
   * the seq the store assigns (and may throw to refuse it); the entry's size is its `size`.
   * A store in this process may answer synchronously, which keeps the publish path free of promises.
   * `id` (LL-NODE-8): a store shared by nodes SHOULD store one entry per id within a window and answer
   * a repeat with the first entry, so an effect of a message processed again after its node died is
   * not duplicated.
   */
  append(
    stream: StreamName,
    build: (seq: number) => Omit<StreamEntry, 'seq' | 'epoch'>,
    options?: AppendOptions,
  ): StreamEntry | Promise<StreamEntry>
  /** Entries after `afterSeq`, oldest first, at most `limit`, with the stream's head. */
  read(stream: StreamName, afterSeq: number, limit: number): Promise<StreamRead>
  /** The stream's incarnation and last seq; creates the stream when it does not exist yet. */
  head(stream: StreamName): Promise<StreamHead>
  /**
   * The topic app memento as of the stream's last entry that carried one (LL-APPM-8), with that
   * entry's seq; undefined when there is none. Optional: a store without it makes `joined` carry no
   * `amv`. A store may forget it together with the stream's log.
   */
  lastAppMemento?(
    stream: StreamName,
  ):
    | { readonly seq: number; readonly value: unknown }
    | undefined
    | Promise<{ readonly seq: number; readonly value: unknown } | undefined>
  /** Drops entries up to seq (a cumulative ack of a direct stream, LL-ACK-4). */
  trim(stream: StreamName, throughSeq: number): Promise<void>
  /** Forgets a stream (a direct stream whose session ended). */
  dropStream(stream: StreamName): Promise<void>
  /**
   * A topic stream gained its first subscriber on this node (`retain`) or lost its last one
   * (`release`): a store local to the node keeps a topic's entries only while retained, and its
   * numbering always (LL-LIMIT-9, LL-SEQ-3). Stores shared between nodes may ignore both.
   */
  retain?(stream: StreamName): void
  release?(stream: StreamName): void

  /**
   * Whether a client message id of a subject was recorded as processed within the window (LL-SEND-3).
   * Ids are recorded only once the app processed the message (LL-NODE-8), so a node that dies in
   * between leaves the message to be processed again, never lost.
   */
  seenMessageId(subject: string, id: string): Promise<boolean> | boolean
  /** Records a client message id as processed. */
  recordMessageId(subject: string, id: string): Promise<void> | void
  /** The subject's window, made if needed: its incarnation and bounds (LL-SEND-10, LL-LIMIT-6). */
  dedupInfo(subject: string): Promise<DedupInfo> | DedupInfo

  /**
   * Sets (or, with undefined, removes) a session's membership of a topic, before the presence entry
   * saying so is appended, so the member list read after a topic's head is as of that head at least
   * (LL-NODE-7, LL-PRESENCE-3).
   */
  setMember(stream: StreamName, sid: string, member: StoredMember | undefined): void | Promise<void>
  /** A topic's members, every node's. */
  members(stream: StreamName): readonly StoredMember[] | Promise<readonly StoredMember[]>

  close(): Promise<void>
}

/** What one node asks another (LL-NODE-3, LL-NODE-9). */
export type NodeRequest =
  /** Let go of a session: another node won `term`. `cid` is the new connection's client instance. */
  | {
      readonly type: 'takeover'
      readonly sid: string
      readonly term: number
      readonly cid: string | undefined
    }
  | { readonly type: 'send'; readonly sid: string; readonly data: unknown; readonly appMemento?: unknown }
  | { readonly type: 'kick'; readonly sid: string; readonly reason: string }
  | { readonly type: 'remove'; readonly sid: string; readonly topic: string; readonly reason: string }

export type NodeReply =
  | { readonly ok: true; readonly seq?: number }
  /** `missing`: the node does not hold the session (any more). */
  | { readonly ok: false; readonly error: string; readonly missing?: boolean }

/** Carries stream entries to every node with subscribers, in seq order per stream, and node requests. */
export interface Bus {
  publish(stream: StreamName, entry: StreamEntry): void
  subscribe(stream: StreamName, listener: (entry: StreamEntry) => void): () => void
  /**
   * Asks node `node`; resolves with its reply, or undefined when no such node is there (it stopped
   * or died). The caller bounds the wait with its own clock.
   */
  request(node: string, request: NodeRequest): Promise<NodeReply | undefined>
  /** Answers the requests sent to `node` (this node). */
  serve(node: string, handler: (request: NodeRequest) => Promise<NodeReply>): () => void
  close(): Promise<void>
}
