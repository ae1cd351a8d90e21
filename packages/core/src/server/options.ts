import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { DEFAULT_MAX_FRAME_BYTES, SUPPORTED_VERSIONS, type UnrecoveredReason } from '@lifeline/protocol'
import { type Clock, systemClock } from '../clock.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { ConnectionInfo } from '../transport.js'
import { MemoryBus, MemoryStore, type MemoryStoreOptions } from './memory-store.js'
import type { Bus, SessionStore } from './store.js'

/** Who the app says a client is (LL-AUTH-1). */
export interface Identity {
  /** A stable id of the user: mementos are bound to it (LL-AUTH-5). */
  readonly subject: string
  /** Shown to topic peers in presence (LL-PRESENCE-1). */
  readonly meta?: unknown
}

/** Who a failed resume is counted against (LL-RESUME-9). */
export interface ResumeLimitContext {
  readonly connection: ConnectionInfo
  /** The subject `authenticate` returned for this hello. */
  readonly subject: string
}

export interface AuthContext {
  readonly connection: ConnectionInfo
  /** hello.attempt: how many attempts the client made before this one (LL-HELLO-4). */
  readonly attempt: number
  /** True when the client asks to resume a session. */
  readonly resuming: boolean
}

/** What the app sees of a session. */
export interface SessionHandle {
  readonly sid: string
  readonly subject: string
  readonly meta: unknown
  readonly topics: ReadonlySet<string>
  /**
   * Sends to this session's direct stream. `appMemento` sets the session's app memento with it
   * (LL-APPM-1): signed, bound to the subject, handed back to `onRecover` when a resume cannot recover,
   * and readable by the client app (`client.appMemento()`, the `unrecovered` event).
   */
  send(data: unknown, options?: { appMemento?: unknown }): Promise<number>
  /** Ends the session: bye KICKED, no reconnect, presence left (LL-INTENT-2). */
  kick(reason?: string): void
}

export interface IncomingMessage {
  readonly id: string
  readonly seq: number
  readonly topic: string | undefined
  readonly data: unknown
}

export interface RecoverContext {
  readonly session: SessionHandle
  readonly reason: UnrecoveredReason
  /** The app memento's value, when the client sent one that verifies for this subject (LL-APPM-3). */
  readonly appMemento: unknown
  /**
   * The topics the client follows. A resumed session's own topics; for a new session (`expired`,
   * `unknown`, `invalid`) the ones the client's hello names, which it rejoins right after, each
   * through `onJoin`: authorize any resync of a topic as you authorize a join.
   */
  readonly topics: readonly string[]
}

export interface ServerOptions {
  /**
   * Secret for signing mementos, at least 32 bytes. With `keys`, keys by id for rotation, and
   * `currentKeyId` to sign with. One of them is required in production; without both the server makes
   * a random key, so mementos do not survive a restart, and says so through `logger` at creation.
   */
  secret?: string | Uint8Array | undefined
  keys?: Readonly<Record<string, string | Uint8Array>> | undefined
  currentKeyId?: string | undefined
  /** Checks hello.auth on every hello, resumes included (LL-AUTH-1). Throw to refuse. Default: everyone is `anonymous`. */
  authenticate?: ((auth: unknown, context: AuthContext) => Identity | Promise<Identity>) | undefined
  /** Each client message, exactly once (LL-SEND-3). Throw or reject to reject it (LL-SEND-5). */
  onMessage?: ((message: IncomingMessage, session: SessionHandle) => void | Promise<void>) | undefined
  /** Decides a join (LL-TOPIC-1); false refuses it. Default: every join is allowed. */
  onJoin?: ((topic: string, session: SessionHandle) => boolean | Promise<boolean>) | undefined
  /** A resume that lost something (LL-APPM-3): resync the client from the app's own storage. */
  onRecover?: ((context: RecoverContext) => void | Promise<void>) | undefined
  /**
   * Whether a topic has presence (LL-PRESENCE-6). A topic without it publishes no presence entries
   * and its `joined` lists no members, so joining a big room costs O(1). Default: every topic has it.
   */
  presence?: ((topic: string) => boolean) | undefined
  /**
   * LL-PRESENCE-7: in a topic with 100 or more connected subscribers, presence entries may wait this
   * long for other frames going to the same connection, so a crowd joining or dropping costs one write
   * per connection per batch instead of one per change. 0 sends them at once. Default: 50 ms.
   */
  presenceBatchMs?: number | undefined
  /** Grace period after a drop (LL-GRACE-1). Default: 120000 ms. */
  graceMs?: number | undefined
  /** Heartbeat interval (LL-BEAT-1). Default: 25000 ms. */
  heartbeatMs?: number | undefined
  /** Extra silence before a link is dead (LL-BEAT-3). Default: 10000 ms. */
  heartbeatTimeoutMs?: number | undefined
  /** Time to wait for hello (LL-HELLO-3). Default: 10000 ms. */
  helloTimeoutMs?: number | undefined
  /** Largest frame accepted (LL-LIMIT-1). Default: 1 MiB. */
  maxFrameBytes?: number | undefined
  /** Topics per session (LL-TOPIC-8). Default: 100. */
  maxTopics?: number | undefined
  /**
   * Topics with a subscriber on this node (LL-LIMIT-9): a join that would make one more is refused
   * with join_error 4101 OVERLOADED. Default: 10000.
   */
  maxLiveTopics?: number | undefined
  /** Sessions per subject (LL-LIMIT-4). Default: 100. */
  maxSessionsPerSubject?: number | undefined
  /** Sessions in all, connected or in grace (LL-LIMIT-4). Default: 100000. */
  maxSessions?: number | undefined
  /** Unsent bytes per connection before it is closed as a slow consumer (LL-LIMIT-3). Default: 8 MiB. */
  maxBufferedBytes?: number | undefined
  /**
   * Sends of one session received but not yet processed (waiting for an async `onMessage`), by count
   * and by bytes (LL-LIMIT-7). At a quarter of either the connection stops reading (backpressure);
   * a client past either is closed with 4105 BACKLOG_OVERFLOW. Defaults: 4096 sends, 4 MiB (keep the
   * bytes at least twice maxFrameBytes: a transport reads a message or so after it is paused).
   */
  maxPendingSends?: number | undefined
  maxPendingSendBytes?: number | undefined
  /** Lifetime of a memento; refreshed on live connections at half-life (LL-MEMENTO-6). Default: 24 h. */
  mementoTtlMs?: number | undefined
  /**
   * Failed resumes (mementos that do not verify) allowed per key per minute; past it a failing resume
   * is refused with 4102 (LL-RESUME-9). A memento that verifies is never refused. Default: 30.
   */
  maxFailedResumesPerMinute?: number | undefined
  /**
   * The key failed resumes are counted by; undefined exempts the client. Default: the remote address
   * with the subject, so one user's failures never block another. Behind a reverse proxy, use the
   * header it sets: `({ connection }) => connection.headers?.['x-forwarded-for']` (the ws transport
   * passes it with `headers: ['x-forwarded-for']`).
   */
  resumeLimitKey?: (context: ResumeLimitContext) => string | undefined
  /**
   * Session store. Default: a MemoryStore with `memory` options. Nodes sharing a store (and a bus)
   * resume each other's sessions (LL-NODE-1..9).
   */
  store?: SessionStore | undefined
  /** Fan-out and requests between nodes. Default: a MemoryBus. */
  bus?: Bus | undefined
  /** This node's id among the nodes sharing the store and bus, unique to this process. Default: random. */
  node?: string | undefined
  /**
   * How long a node taking a session over waits for the node that held it to let go (LL-NODE-3);
   * past it, or when that node is gone, it goes on from the store. Default: 5000 ms.
   */
  handoverTimeoutMs?: number | undefined
  /** Options of the default MemoryStore (log and window bounds). */
  memory?: MemoryStoreOptions | undefined
  /** Protocol versions spoken, preferred first. Default: [1]. */
  versions?: readonly number[] | undefined
  /** Time source. Default: the system clock. */
  clock?: Clock | undefined
  /** Cryptographic random bytes, for session ids and keys. Default: node:crypto randomBytes. */
  randomBytes?: ((size: number) => Uint8Array) | undefined
  /** Where warnings and errors go (a missing secret, for one). Default: the console; `silentLogger` mutes. */
  logger?: Logger | undefined
}

export interface ResolvedServerOptions {
  readonly keys: Readonly<Record<string, string | Uint8Array>>
  readonly currentKeyId: string
  readonly generatedKey: boolean
  readonly authenticate: (auth: unknown, context: AuthContext) => Identity | Promise<Identity>
  readonly onMessage: ServerOptions['onMessage']
  readonly onJoin: ServerOptions['onJoin']
  readonly onRecover: ServerOptions['onRecover']
  readonly presence: (topic: string) => boolean
  readonly presenceBatchMs: number
  readonly graceMs: number
  readonly heartbeatMs: number
  readonly heartbeatTimeoutMs: number
  readonly helloTimeoutMs: number
  readonly maxFrameBytes: number
  readonly maxTopics: number
  readonly maxLiveTopics: number
  readonly maxSessionsPerSubject: number
  readonly maxSessions: number
  readonly maxBufferedBytes: number
  readonly maxPendingSends: number
  readonly maxPendingSendBytes: number
  readonly mementoTtlMs: number
  readonly maxFailedResumesPerMinute: number
  readonly resumeLimitKey: (context: ResumeLimitContext) => string | undefined
  readonly store: SessionStore
  readonly bus: Bus
  readonly node: string
  readonly handoverTimeoutMs: number
  readonly versions: readonly number[]
  readonly logger: Logger
  readonly clock: Clock
  readonly randomBytes: (size: number) => Uint8Array
}

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const clock = options.clock ?? systemClock
  const randomBytes = options.randomBytes ?? ((size: number) => new Uint8Array(nodeRandomBytes(size)))
  let keys = options.keys
  let currentKeyId = options.currentKeyId
  let generatedKey = false
  if (keys === undefined) {
    generatedKey = options.secret === undefined
    keys = { k1: options.secret ?? randomBytes(32) }
    currentKeyId = 'k1'
  }
  const store = options.store ?? new MemoryStore(clock, { randomBytes, ...options.memory })
  const node = options.node ?? `n_${Buffer.from(randomBytes(8)).toString('base64url')}`
  return {
    keys,
    currentKeyId: currentKeyId ?? Object.keys(keys)[0] ?? 'k1',
    generatedKey,
    authenticate: options.authenticate ?? (() => ({ subject: 'anonymous' })),
    onMessage: options.onMessage,
    onJoin: options.onJoin,
    onRecover: options.onRecover,
    presence: options.presence ?? (() => true),
    presenceBatchMs: options.presenceBatchMs ?? 50,
    graceMs: options.graceMs ?? 120_000,
    heartbeatMs: options.heartbeatMs ?? 25_000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxTopics: options.maxTopics ?? 100,
    maxLiveTopics: options.maxLiveTopics ?? 10_000,
    maxSessionsPerSubject: options.maxSessionsPerSubject ?? 100,
    maxSessions: options.maxSessions ?? 100_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
    maxPendingSends: options.maxPendingSends ?? 4096,
    maxPendingSendBytes: options.maxPendingSendBytes ?? 4 * 1024 * 1024,
    mementoTtlMs: options.mementoTtlMs ?? 24 * 60 * 60 * 1000,
    maxFailedResumesPerMinute: options.maxFailedResumesPerMinute ?? 30,
    resumeLimitKey:
      options.resumeLimitKey ??
      (({ connection, subject }) => `${connection.remoteAddress ?? 'unknown'} ${subject}`),
    store,
    bus: options.bus ?? new MemoryBus(),
    node,
    handoverTimeoutMs: options.handoverTimeoutMs ?? 5000,
    versions: options.versions ?? SUPPORTED_VERSIONS,
    logger: options.logger ?? consoleLogger,
    clock,
    randomBytes,
  }
}
