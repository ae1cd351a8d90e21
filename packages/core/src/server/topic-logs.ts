/**
 * The memory store's topic logs over their life (LL-LIMIT-9): live while a session on this node holds
 * the topic (connected or in grace); then parked, in a pool bounded by count and bytes, so a client
 * whose session ended can still rejoin from its cursor for a while; then dropped. A log made again is
 * a new incarnation (LL-EPOCH-1), so a cursor on the old one reads as not covered: `recovered: false`,
 * never a silent gap. A topic nobody here holds gets a parked log when something is published to it,
 * so publishing to topics without members is bounded by the same pool.
 */
import type { Clock } from '../clock.js'
import type { LogBounds } from './replay-log.js'
import type { StreamEntry, StreamName } from './store.js'
import { TopicLog } from './topic-log.js'

export interface TopicLogBounds {
  /** Released topics whose log is kept (parked). Default: 1000. */
  readonly maxParked: number
  /** Bytes held by parked logs in all (LL-LIMIT-10). Default: 16 MiB. */
  readonly maxParkedBytes: number
}

export const DEFAULT_TOPIC_LOG_BOUNDS: TopicLogBounds = Object.freeze({
  maxParked: 1000,
  maxParkedBytes: 16 * 1024 * 1024,
})

export interface Log {
  readonly epoch: string
  readonly entries: TopicLog<StreamEntry>
}

type Bounds = { messages?: Partial<LogBounds>; presence?: Partial<LogBounds> }

export class TopicLogs {
  private readonly live = new Map<StreamName, Log>()
  /** How many holders (nodes sharing this store) retain each topic. */
  private readonly retained = new Map<StreamName, number>()
  /** Released topics' logs with the bytes counted for each, oldest release first. */
  private readonly parked = new Map<StreamName, { readonly log: Log; bytes: number }>()
  private parkedBytes = 0
  /** The last app memento of each topic with a log (LL-APPM-8): it goes with the log. */
  private readonly appMementos = new Map<StreamName, { readonly seq: number; readonly value: unknown }>()

  constructor(
    private readonly clock: Clock,
    private readonly logBounds: Bounds,
    private readonly bounds: TopicLogBounds,
    private readonly nextEpoch: () => string,
  ) {}

  /** The topic's log, made when it has none: live when a session here holds the topic, else parked. */
  log(stream: StreamName): Log {
    const found = this.live.get(stream) ?? this.parked.get(stream)?.log
    if (found !== undefined) return found
    const log: Log = {
      epoch: this.nextEpoch(),
      entries: new TopicLog<StreamEntry>(this.clock, this.logBounds),
    }
    if (this.retained.has(stream)) this.live.set(stream, log)
    else this.park(stream, log)
    return log
  }

  append(stream: StreamName, build: (seq: number) => Omit<StreamEntry, 'seq' | 'epoch'>): StreamEntry {
    const log = this.log(stream)
    const seq = log.entries.lastSeq + 1
    const entry: StreamEntry = { seq, epoch: log.epoch, ...build(seq) }
    log.entries.append(entry, entry.size ?? entry.text.length, entry.frame.type === 'presence')
    const frame = entry.frame
    if (frame.type === 'msg' && 'amv' in frame) this.appMementos.set(stream, { seq, value: frame.amv })
    const parked = this.parked.get(stream)
    if (parked !== undefined) {
      this.parkedBytes += log.entries.bytes - parked.bytes
      parked.bytes = log.entries.bytes
      this.trim()
    }
    return entry
  }

  lastAppMemento(stream: StreamName): { readonly seq: number; readonly value: unknown } | undefined {
    return this.appMementos.get(stream)
  }

  retain(stream: StreamName): void {
    this.retained.set(stream, (this.retained.get(stream) ?? 0) + 1)
    const parked = this.parked.get(stream)
    if (parked === undefined) return
    this.parked.delete(stream)
    this.parkedBytes -= parked.bytes
    this.live.set(stream, parked.log)
  }

  release(stream: StreamName): void {
    const holders = this.retained.get(stream)
    if (holders === undefined) return
    if (holders > 1) return void this.retained.set(stream, holders - 1)
    this.retained.delete(stream)
    const log = this.live.get(stream)
    if (log === undefined) return
    this.live.delete(stream)
    this.park(stream, log)
  }

  /** Forgets a topic's log at once (a store losing it): the next one is a new incarnation. */
  drop(stream: StreamName): void {
    this.live.delete(stream)
    const parked = this.parked.get(stream)
    if (parked !== undefined) {
      this.parked.delete(stream)
      this.parkedBytes -= parked.bytes
    }
    this.appMementos.delete(stream)
  }

  clear(): void {
    this.live.clear()
    this.retained.clear()
    this.parked.clear()
    this.appMementos.clear()
    this.parkedBytes = 0
  }

  get stats(): { live: number; parked: number; parkedBytes: number } {
    return { live: this.live.size, parked: this.parked.size, parkedBytes: this.parkedBytes }
  }

  private park(stream: StreamName, log: Log): void {
    this.parked.set(stream, { log, bytes: log.entries.bytes })
    this.parkedBytes += log.entries.bytes
    this.trim()
  }

  /** Parked logs beyond the bounds go, oldest first, with their app memento. */
  private trim(): void {
    while (this.parked.size > this.bounds.maxParked || this.parkedBytes > this.bounds.maxParkedBytes) {
      const oldest = this.parked.entries().next().value
      if (oldest === undefined) return
      const [stream, { bytes }] = oldest
      this.parked.delete(stream)
      this.parkedBytes -= bytes
      this.appMementos.delete(stream)
    }
  }
}
