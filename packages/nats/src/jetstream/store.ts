/**
 * A SessionStore on NATS JetStream: each topic's log in a JetStream stream of its own (its sequence is
 * the topic's seq, so any node may append), every session's direct log on one subject of a shared
 * stream, ownership claims in a claims stream (claims.ts), and session records, topic members and
 * processed message ids in streams of one message per subject (records.ts). No compare-and-set
 * anywhere. Durability and what needs a newer nats-server: docs/nats.md.
 */

import { randomUUID } from 'node:crypto'
import type {
  AppendOptions,
  Claim,
  ClaimResult,
  DedupInfo,
  SessionRecord,
  SessionStore,
  StoredMember,
  StreamEntry,
  StreamHead,
  StreamName,
  StreamRead,
} from '@lifeline/core/server'
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream'
import { headers, type NatsConnection, NoRespondersError, TimeoutError } from '@nats-io/nats-core'
import { Claims } from './claims.js'
import {
  digest,
  EXCEPT_HEADER,
  entryOf,
  epochOf,
  fetchAll,
  type Layout,
  layout,
  nanos,
  type Place,
  place,
  token,
} from './layout.js'
import { Records } from './records.js'

export interface Bounds {
  /** Most entries held. Default 1000. */
  maxEntries: number
  /** Most bytes held (JetStream counts subjects and headers too). Default 1 MiB. */
  maxBytes: number
  /** Oldest entry age held, in ms. Default 5 minutes. */
  maxAgeMs: number
}

export interface JetStreamStoreOptions {
  /** Base of every stream, bucket and subject name. Default `LIFELINE`. */
  name?: string
  /** Replicas of every stream and of the bucket (1, 3 or 5; at most the cluster's size). Default 1. */
  replicas?: number
  /** `file` (survives a nats-server restart) or `memory`. Default `file`. */
  storage?: 'file' | 'memory'
  /** Bounds of each topic's log (LL-LIMIT-2), as its stream's limits. */
  topicLog?: Partial<Bounds>
  /** Bounds of each session's direct log (`maxBytes` is not enforced per session: see below). */
  directLog?: Partial<Bounds>
  /** Most bytes of the stream holding every session's direct log. Default 128 MiB. */
  directStreamMaxBytes?: number
  /** How long a client message id is remembered (LL-SEND-3): the duplicate window. Default 10 min. */
  dedupWindowMs?: number
  /**
   * How long a topic remembers publish ids (`publish(topic, data, { id })`, LL-NODE-8): a message
   * processed again after its node died is published once within it. JetStream holds every id of the
   * window in memory. Default 2 min.
   */
  publishIdWindowMs?: number
  /** Session records, claims and members older than this are dropped whatever happens (a leak bound). Default 24 h. */
  sessionTtlMs?: number
}

/** How long a publish is retried while a stream elects a leader. */
const PUBLISH_RETRY_MS = 15_000
/** Message ids are remembered this long: past every retry, and no longer (memory per message). */
const RETRY_WINDOW_MS = 20_000

/**
 * A timeout or "no responders": the stream had no leader for a moment. nats.js wraps "no responders"
 * of a request in a RequestError whose cause says so.
 */
export function retryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error instanceof TimeoutError || error instanceof NoRespondersError || error.name === 'TimeoutError')
    return true
  const noResponders = (error as { isNoResponders?: () => boolean }).isNoResponders
  if (typeof noResponders === 'function' && noResponders.call(error)) return true
  return error.cause !== undefined && error.cause !== error && retryable(error.cause)
}

const DEFAULT_BOUNDS: Bounds = { maxEntries: 1000, maxBytes: 1024 * 1024, maxAgeMs: 5 * 60_000 }
const STREAM_NOT_FOUND = 10059
const STREAM_NAME_IN_USE = 10058

export class JetStreamStore implements SessionStore {
  readonly layout: Layout
  readonly js: JetStreamClient
  readonly name: string
  private readonly topicBounds: Bounds
  private readonly directBounds: Bounds
  private readonly replicas: number
  private readonly storage: StorageType
  /** Topic streams made (or found) by this process, with their incarnation (LL-EPOCH-1). */
  private readonly topics = new Map<string, Promise<string>>()
  /** Direct streams' last seqs, known to this node (their writer). */
  private readonly counters = new Map<string, Promise<number>>()
  private ready: Promise<Ready> | undefined
  private readonly claims: Claims
  private readonly reconnected = new Set<() => void>()
  private watching = false

  constructor(
    readonly nc: NatsConnection,
    private readonly options: JetStreamStoreOptions = {},
  ) {
    this.name = options.name ?? 'LIFELINE'
    this.layout = layout(this.name)
    this.js = jetstream(nc)
    this.topicBounds = { ...DEFAULT_BOUNDS, ...options.topicLog }
    this.directBounds = { ...DEFAULT_BOUNDS, ...options.directLog }
    this.replicas = options.replicas ?? 1
    this.storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File
    this.claims = new Claims(this.js, `${this.name}_CLAIMS`, this.layout.root)
  }

  /** LL-NODE-1: the claims stream's order decides (claims.ts), so correct on 2.9.x replicated too. */
  async claim(sid: string, claim: Claim): Promise<ClaimResult> {
    await this.init()
    return this.retrying(() => this.claims.claim(token(sid), claim))
  }

  /** The session's current term and owner, as every node computes it from the claims stream. */
  async owner(sid: string): Promise<Claim> {
    await this.init()
    return this.retrying(() => this.claims.owner(token(sid)))
  }

  /** Creates the shared streams (idempotent); every method waits for it. */
  init(): Promise<Ready> {
    this.ready ??= this.setUp()
    return this.ready
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const { records } = await this.init()
    // A node reads a record when it takes the session (over): its direct seq may have moved on
    // elsewhere since this node last wrote it, so it is read again from the stream.
    this.counters.delete(place(this.layout, this.name, `d:${sid}`).subject)
    return this.retrying(() => records.getSession(sid))
  }

  /** LL-NODE-2: written under its term; the core's write queue orders one term's writes. */
  async putSession(record: SessionRecord): Promise<void> {
    const { records } = await this.init()
    await this.retrying(() => records.putSession(record))
  }

  /** LL-NODE-7: a topic's members of every node. */
  async setMember(stream: StreamName, sid: string, member: StoredMember | undefined): Promise<void> {
    const where = place(this.layout, this.name, stream)
    if (where.kind !== 'topic') return
    const { records } = await this.init()
    await this.retrying(() => records.setMember(where.id, sid, member))
  }

  async members(stream: StreamName): Promise<readonly StoredMember[]> {
    const where = place(this.layout, this.name, stream)
    if (where.kind !== 'topic') return []
    const { records } = await this.init()
    return this.retrying(() => records.members(where.id))
  }

  async append(
    stream: StreamName,
    build: (seq: number) => Omit<StreamEntry, 'seq' | 'epoch'>,
    options: AppendOptions = {},
  ): Promise<StreamEntry> {
    const where = place(this.layout, this.name, stream)
    if (where.kind === 'topic') {
      const epoch = await this.ensureTopic(where)
      // The seq is the stream's: known only from the ack. The frame is stored with seq 0 and gets its
      // real seq back here and on every read (entryOf). An append with an id that the topic's
      // duplicate window already holds is acked with the first one's seq (LL-NODE-8).
      const draft = build(0)
      const msgID = options.id === undefined ? randomUUID() : `id.${digest(options.id)}`
      const ack = await this.publish(where.subject, draft.text, draft.except, msgID)
      return entryOf(ack.seq, epoch, draft.text, draft.except)
    }
    const { directEpoch } = await this.init()
    const seq = await this.nextDirect(where)
    const entry: StreamEntry = { seq, epoch: directEpoch, ...build(seq) }
    await this.publish(where.subject, entry.text, entry.except, randomUUID())
    return entry
  }

  async read(stream: StreamName, afterSeq: number, limit: number): Promise<StreamRead> {
    const where = place(this.layout, this.name, stream)
    return where.kind === 'topic'
      ? this.readTopic(where, afterSeq, limit)
      : this.readDirect(where, afterSeq, limit)
  }

  async head(stream: StreamName): Promise<StreamHead> {
    const where = place(this.layout, this.name, stream)
    if (where.kind === 'direct') {
      const { directEpoch } = await this.init()
      return { epoch: directEpoch, lastSeq: await this.lastDirect(where) }
    }
    await this.ensureTopic(where)
    const info = await this.topicInfo(where)
    return { epoch: info === undefined ? 'js.none' : epochOf(info), lastSeq: info?.state.last_seq ?? 0 }
  }

  /** LL-ACK-4: drops what the client acked, keeping the last entry so the stream's seq survives. */
  async trim(stream: StreamName, throughSeq: number): Promise<void> {
    const where = place(this.layout, this.name, stream)
    if (where.kind !== 'direct') return // topic logs are bounded by their limits, not by one reader
    const { jsm } = await this.init()
    const last = await this.lastDirect(where)
    await jsm.streams.purge(where.stream, { filter: where.subject, keep: Math.max(1, last - throughSeq) })
  }

  /** A direct stream whose session ended; topic logs are never dropped (their seq must not go back). */
  async dropStream(stream: StreamName): Promise<void> {
    const where = place(this.layout, this.name, stream)
    if (where.kind !== 'direct') return
    const { jsm } = await this.init()
    this.counters.delete(where.subject)
    await jsm.streams.purge(where.stream, { filter: where.subject })
  }

  /** LL-SEND-3 across nodes: an id is recorded once its message was processed (LL-NODE-8). */
  async seenMessageId(subject: string, id: string): Promise<boolean> {
    const { records } = await this.init()
    return this.retrying(() => records.seenMessageId(subject, id))
  }

  async recordMessageId(subject: string, id: string): Promise<void> {
    const { records } = await this.init()
    await this.retrying(() => records.recordMessageId(subject, id))
  }

  /** The ids stream is bounded by age only; its incarnation is the window's (LL-SEND-10). */
  async dedupInfo(): Promise<DedupInfo> {
    const { dedupEpoch } = await this.init()
    const maxAgeMs = this.options.dedupWindowMs ?? 10 * 60_000
    return { epoch: dedupEpoch, maxIds: Number.MAX_SAFE_INTEGER, maxAgeMs }
  }

  async close(): Promise<void> {
    this.topics.clear()
    this.counters.clear()
  }

  /**
   * Publishes with a message id, retrying while the stream has no leader (an election after a node
   * failed): JetStream's duplicate window makes a retry of a publish that did land a no-op, so an
   * entry is stored once whatever the retries.
   */
  private publish(subject: string, text: string, except: string | undefined, msgID: string): Promise<PubAck> {
    return this.retrying(() => this.js.publish(subject, text, { ...exceptHeaders(except), msgID }))
  }

  /** Calls `listener` each time the NATS connection is back after a drop; returns the unsubscribe. */
  onReconnect(listener: () => void): () => void {
    this.reconnected.add(listener)
    if (!this.watching) {
      this.watching = true
      void (async () => {
        for await (const status of this.nc.status())
          if (status.type === 'reconnect') for (const l of [...this.reconnected]) l()
      })().catch(() => {})
    }
    return () => this.reconnected.delete(listener)
  }

  /** Runs a JetStream request again while it times out or finds no responder (a leader election). */
  async retrying<T>(request: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + PUBLISH_RETRY_MS
    for (;;) {
      try {
        return await request()
      } catch (error) {
        if (!retryable(error) || performance.now() > deadline || this.nc.isClosed()) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  /** The topic stream's config: the log's bounds as JetStream limits, oldest dropped first. */
  topicConfig(where: Place): Partial<StreamConfig> & { name: string } {
    const b = this.topicBounds
    return {
      name: where.stream,
      subjects: [where.subject],
      max_msgs: b.maxEntries,
      max_bytes: b.maxBytes,
      max_age: nanos(b.maxAgeMs),
      discard: DiscardPolicy.Old,
      storage: this.storage,
      num_replicas: this.replicas,
      allow_direct: true,
      duplicate_window: nanos(Math.min(this.options.publishIdWindowMs ?? 120_000, b.maxAgeMs)),
    }
  }

  /** Creates a topic's stream once per process (idempotent at the server); resolves with its epoch. */
  ensureTopic(where: Place): Promise<string> {
    let ready = this.topics.get(where.stream)
    if (ready === undefined) {
      ready = this.init().then(async ({ jsm }) =>
        epochOf(await this.retrying(() => addOrUpdate(jsm, this.topicConfig(where)))),
      )
      ready.catch(() => this.topics.delete(where.stream))
      this.topics.set(where.stream, ready)
    }
    return ready
  }

  private async setUp(): Promise<Ready> {
    const jsm = await jetstreamManager(this.nc)
    const d = this.directBounds
    const direct = await addOrUpdate(jsm, {
      name: this.layout.direct,
      subjects: [`${this.layout.root}.d.*`],
      max_msgs_per_subject: d.maxEntries,
      max_age: nanos(d.maxAgeMs),
      max_bytes: this.options.directStreamMaxBytes ?? 128 * 1024 * 1024,
      duplicate_window: nanos(Math.min(RETRY_WINDOW_MS, d.maxAgeMs)),
      discard: DiscardPolicy.Old,
      storage: this.storage,
      num_replicas: this.replicas,
      allow_direct: true,
    })
    const ttl = this.options.sessionTtlMs ?? 24 * 60 * 60_000
    await addOrUpdate(
      jsm,
      Claims.config(`${this.name}_CLAIMS`, this.layout.root, this.storage, this.replicas, nanos(ttl)),
    )
    const records = new Records(this.js, jsm, this.layout)
    const infos: StreamInfo[] = []
    for (const config of records.configs({
      storage: this.storage,
      replicas: this.replicas,
      ttlMs: ttl,
      dedupWindowMs: this.options.dedupWindowMs ?? 10 * 60_000,
    }))
      infos.push(await addOrUpdate(jsm, config))
    const ids = infos.find((info) => info.config.name === this.layout.ids) as StreamInfo
    return { records, jsm, directEpoch: epochOf(direct), dedupEpoch: epochOf(ids) }
  }

  private async topicInfo(where: Place): Promise<StreamInfo | undefined> {
    const { jsm } = await this.init()
    try {
      return await this.retrying(() => jsm.streams.info(where.stream))
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND) return undefined
      throw error
    }
  }

  private async readTopic(where: Place, afterSeq: number, limit: number): Promise<StreamRead> {
    await this.ensureTopic(where)
    const info = await this.topicInfo(where)
    if (info === undefined) return { epoch: 'js.none', covered: afterSeq === 0, entries: [], lastSeq: 0 }
    const epoch = epochOf(info)
    const { first_seq: first, last_seq: last } = info.state
    // LL-RESUME-11: a cursor above the end is not covered.
    if (afterSeq >= last) return { epoch, covered: afterSeq === last, entries: [], lastSeq: last }
    // LL-REPLAY-3: entries after afterSeq were dropped when the oldest kept one is further on.
    if (first > afterSeq + 1) return { epoch, covered: false, entries: [], lastSeq: last }
    const entries = await this.fetch(where, epoch, afterSeq + 1, Math.min(limit, last - afterSeq), undefined)
    return { epoch, covered: true, entries, lastSeq: last }
  }

  private async readDirect(where: Place, afterSeq: number, limit: number): Promise<StreamRead> {
    const { directEpoch: epoch } = await this.init()
    const last = await this.lastDirect(where)
    if (afterSeq >= last) return { epoch, covered: afterSeq === last, entries: [], lastSeq: last }
    const kept = await this.fetch(where, epoch, 1, this.directBounds.maxEntries, last)
    const first = kept[0]?.seq
    if (first === undefined || first > afterSeq + 1)
      return { epoch, covered: false, entries: [], lastSeq: last }
    const entries = kept.filter((e) => e.seq > afterSeq).slice(0, limit)
    return { epoch, covered: true, entries, lastSeq: last }
  }

  /**
   * Reads `count` entries from JetStream sequence `from` with an ordered consumer (filtered to the
   * place's subject), stopping early at an entry whose seq is `until`.
   */
  private async fetch(
    where: Place,
    epoch: string,
    from: number,
    count: number,
    until: number | undefined,
  ): Promise<StreamEntry[]> {
    // Retried as a whole: a fetch whose consumer died with its nats-server is abandoned (fetchAll).
    return this.retrying(async () => {
      const consumer = await this.js.consumers.get(where.stream, {
        filter_subjects: where.subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      })
      const entries: StreamEntry[] = []
      try {
        await fetchAll(consumer, count, (msg) => {
          const except = msg.headers?.get(EXCEPT_HEADER) || undefined
          const seq = where.kind === 'topic' ? msg.seq : (JSON.parse(msg.string()) as { seq: number }).seq
          entries.push(entryOf(seq, epoch, msg.string(), except))
          return entries.length >= count || seq === until
        })
      } finally {
        await consumer.delete().catch(() => {})
      }
      return entries
    })
  }

  private lastDirect(where: Place): Promise<number> {
    let last = this.counters.get(where.subject)
    if (last === undefined) {
      last = this.loadDirect(where)
      last.catch(() => this.counters.delete(where.subject))
      this.counters.set(where.subject, last)
    }
    return last
  }

  private async loadDirect(where: Place): Promise<number> {
    const { jsm } = await this.init()
    const stored = await jsm.streams
      .getMessage(where.stream, { last_by_subj: where.subject })
      .catch(() => null)
    return stored === null ? 0 : (stored.json<{ seq: number }>().seq ?? 0)
  }

  /** Numbers a direct stream's entries in this node, its single writer (ownership: docs/nats.md). */
  private nextDirect(where: Place): Promise<number> {
    const next = this.lastDirect(where).then((last) => last + 1)
    this.counters.set(where.subject, next)
    return next
  }
}

function exceptHeaders(except: string | undefined): { headers?: ReturnType<typeof headers> } {
  if (except === undefined) return {}
  const h = headers()
  h.set(EXCEPT_HEADER, except)
  return { headers: h }
}

interface Ready {
  readonly records: Records
  readonly jsm: JetStreamManager
  /** Incarnations of the shared direct stream and of the ids stream (LL-EPOCH-1, LL-SEND-10). */
  readonly directEpoch: string
  readonly dedupEpoch: string
}

async function addOrUpdate(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<StreamInfo> {
  try {
    return await jsm.streams.add(config)
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NAME_IN_USE) throw error
    return await jsm.streams.update(config.name, config)
  }
}
