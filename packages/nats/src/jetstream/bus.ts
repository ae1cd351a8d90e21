/**
 * A Bus for several nodes on the JetStream store. A topic's entries reach every node through an
 * ordered consumer on the topic's stream: JetStream delivers them in seq order with no gap (the
 * consumer restarts itself from the last seq it delivered when one goes missing), whichever node
 * appended them, so `publish` has nothing to do for topics. A direct stream has one writer (the node
 * that owns the session): its entries go to local listeners at once and to other nodes over core
 * NATS, in order on the writer's connection.
 */
import type { Bus, NodeReply, NodeRequest, StreamEntry, StreamName } from '@lifeline/core/server'
import { DeliverPolicy } from '@nats-io/jetstream'
import { headers, type Msg, NoRespondersError, type Subscription } from '@nats-io/nats-core'
import { EXCEPT_HEADER, entryOf, place, token } from './layout.js'
import { type JetStreamStore, retryable } from './store.js'

type Listener = (entry: StreamEntry) => void

const NODE_HEADER = 'Lifeline-Node'
/** A topic feed's pull expiry and heartbeat: two heartbeats missed and it starts over. */
const FEED_EXPIRES_MS = 10_000
const FEED_HEARTBEAT_MS = 1000

interface Feed {
  readonly listeners: Set<Listener>
  /** Highest seq delivered to the listeners: never a duplicate, never backwards (LL-SEQ-2). */
  delivered: number
  stop(): void
}

export interface JetStreamBusOptions {
  /** Called with errors of background consumers (the store's server reports them). */
  onError?: (error: Error) => void
  /**
   * How long a request to another node (LL-NODE-3, LL-NODE-9) waits for its answer; past it the node
   * counts as gone. Default 10 s.
   */
  requestTimeoutMs?: number
}

export class JetStreamBus implements Bus {
  private readonly feeds = new Map<StreamName, Feed>()
  private readonly node = Math.random().toString(36).slice(2)
  private closed = false

  constructor(
    private readonly store: JetStreamStore,
    private readonly options: JetStreamBusOptions = {},
  ) {}

  publish(stream: StreamName, entry: StreamEntry): void {
    if (!stream.startsWith('d:')) return // topics: the ordered consumer carries every node's entries
    this.deliver(this.feeds.get(stream), entry)
    const where = place(this.store.layout, this.store.name, stream)
    const h = headers()
    h.set(NODE_HEADER, this.node)
    if (entry.except !== undefined) h.set(EXCEPT_HEADER, entry.except)
    try {
      this.store.nc.publish(where.subject.replace('.d.', '.bus.'), entry.text, { headers: h })
    } catch (error) {
      this.report(error)
    }
  }

  subscribe(stream: StreamName, listener: Listener): () => void {
    let feed = this.feeds.get(stream)
    if (feed === undefined) {
      feed = stream.startsWith('d:') ? this.directFeed(stream) : this.topicFeed(stream)
      this.feeds.set(stream, feed)
    }
    feed.listeners.add(listener)
    const current = feed
    return () => {
      current.listeners.delete(listener)
      if (current.listeners.size > 0 || this.feeds.get(stream) !== current) return
      this.feeds.delete(stream)
      current.stop()
    }
  }

  /**
   * Core NATS request-reply on the node's subject: "no responders" (the node's connection is gone,
   * as after a SIGKILL) or no answer in time means no such node.
   */
  async request(node: string, request: NodeRequest): Promise<NodeReply | undefined> {
    try {
      const reply = await this.store.nc.request(this.nodeSubject(node), JSON.stringify(request), {
        timeout: this.options.requestTimeoutMs ?? 10_000,
      })
      return reply.json<NodeReply>()
    } catch (error) {
      if (error instanceof NoRespondersError || retryable(error)) return undefined
      throw error
    }
  }

  serve(node: string, handler: (request: NodeRequest) => Promise<NodeReply>): () => void {
    const sub = this.store.nc.subscribe(this.nodeSubject(node), {
      callback: (error, msg) => {
        if (error !== null) return this.report(error)
        let request: NodeRequest
        try {
          request = msg.json<NodeRequest>()
        } catch (bad) {
          return this.report(bad)
        }
        handler(request).then(
          (reply) => msg.respond(JSON.stringify(reply)),
          (failed: unknown) => {
            const message = failed instanceof Error ? failed.message : String(failed)
            msg.respond(JSON.stringify({ ok: false, error: message } satisfies NodeReply))
          },
        )
      },
    })
    return () => sub.unsubscribe()
  }

  private nodeSubject(node: string): string {
    return `${this.store.layout.root}.node.${token(node)}`
  }

  get subscriptions(): number {
    return this.feeds.size
  }

  async close(): Promise<void> {
    this.closed = true
    for (const feed of this.feeds.values()) feed.stop()
    this.feeds.clear()
  }

  private deliver(feed: Feed | undefined, entry: StreamEntry): void {
    if (feed === undefined || entry.seq <= feed.delivered) return
    feed.delivered = entry.seq
    for (const listener of [...feed.listeners]) listener(entry)
  }

  /**
   * Every entry still in the topic's log, then every new one, in order (late ones are dropped by seq).
   * nats.js's ordered consumer does not recover from losing the nats-server its (R1, in-memory)
   * consumer lived on: it keeps asking for that consumer's info and delivers nothing, silently. So
   * the feed watches it and starts a new one after the last seq delivered when its heartbeats stop or
   * the connection came back.
   */
  private topicFeed(stream: StreamName): Feed {
    const where = place(this.store.layout, this.store.name, stream)
    let stopped = false
    let current: { close(): void } | undefined
    let generation = 0
    const feed: Feed = {
      listeners: new Set(),
      delivered: 0,
      stop: () => {
        stopped = true
        stopWatching()
        current?.close()
      },
    }
    const restart = (mine: number) => {
      if (mine !== generation || stopped || this.closed || this.store.nc.isClosed()) return
      current?.close()
      current = undefined
      run()
    }
    // A start that failed (no leader for longer than the store retries) is tried again.
    const run = () => {
      const mine = ++generation
      start(mine).catch((error: unknown) => {
        this.report(error)
        setTimeout(() => restart(mine), FEED_HEARTBEAT_MS).unref?.()
      })
    }
    const start = async (mine: number) => {
      const epoch = await this.store.ensureTopic(where)
      const from = feed.delivered + 1
      // Retried while the stream elects a leader (a nats-server of the cluster died).
      const consumer = await this.store.retrying(() =>
        this.store.js.consumers.get(
          where.stream,
          from === 1
            ? { filter_subjects: where.subject, deliver_policy: DeliverPolicy.All }
            : {
                filter_subjects: where.subject,
                deliver_policy: DeliverPolicy.StartSequence,
                opt_start_seq: from,
              },
        ),
      )
      if (stopped || this.closed || mine !== generation) return
      const messages = await consumer.consume({
        expires: FEED_EXPIRES_MS,
        idle_heartbeat: FEED_HEARTBEAT_MS,
        callback: (msg) => {
          if (stopped || mine !== generation) return
          const except = msg.headers?.get(EXCEPT_HEADER) || undefined
          this.deliver(feed, entryOf(msg.seq, epoch, msg.string(), except))
        },
      })
      current = { close: () => void messages.close().catch(() => {}) }
      if (stopped) return current.close()
      void (async () => {
        for await (const status of messages.status()) {
          if (status.type === 'heartbeats_missed' && status.count >= 2) return restart(mine)
        }
      })().catch(() => {})
    }
    // Back on NATS (maybe on another nats-server): the consumer may be gone with the old one.
    const stopWatching = this.store.onReconnect(() => restart(generation))
    run()
    return feed
  }

  private directFeed(stream: StreamName): Feed {
    const where = place(this.store.layout, this.store.name, stream)
    const feed: Feed = { listeners: new Set(), delivered: 0, stop: () => sub.unsubscribe() }
    // Entries carry the direct stream's incarnation (LL-EPOCH-1), known once the store is ready;
    // what arrives before waits for it, in order.
    let epoch: string | undefined
    const early: Msg[] = []
    const entry = (msg: Msg, known: string) => {
      const seq = (JSON.parse(msg.string()) as { seq: number }).seq
      return entryOf(seq, known, msg.string(), msg.headers?.get(EXCEPT_HEADER) || undefined)
    }
    this.store.init().then(
      (ready) => {
        epoch = ready.directEpoch
        for (const msg of early.splice(0)) this.deliver(feed, entry(msg, ready.directEpoch))
      },
      (error: unknown) => this.report(error),
    )
    const sub: Subscription = this.store.nc.subscribe(where.subject.replace('.d.', '.bus.'), {
      callback: (error, msg) => {
        if (error !== null || msg.headers?.get(NODE_HEADER) === this.node) return
        if (epoch === undefined) early.push(msg)
        else this.deliver(feed, entry(msg, epoch))
      },
    })
    return feed
  }

  private report(error: unknown): void {
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)))
  }
}
