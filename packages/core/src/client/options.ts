import type { Clock, Random } from '../clock.js'
import { systemClock, systemRandom } from '../clock.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { ClientTransport } from '../transport.js'
import { fullJitter, type RetryDelay } from './backoff.js'
import { browserEnvironment, type ClientEnvironment } from './environment.js'
import { DEFAULT_OUTBOX_LIMITS, type OutboxLimits } from './outbox.js'
import { memoryStorage, type SessionStorage } from './storage.js'
import { fallbackPolicy, type TransportPolicy } from './transports.js'

/** Credentials for hello.auth, or a function returning them, called on every attempt (LL-AUTH-4). */
export type AuthOption = unknown | (() => unknown)

export interface DroppedMessage {
  readonly id: string
  readonly topic: string | undefined
  readonly data: unknown
}

export interface ClientOptions {
  /**
   * How to reach the server, e.g. `wsTransport(url)` from `@lifeline/ws`; or several, e.g.
   * `[wsTransport(url), socketIoTransport(origin, { transports: ['polling'] })]`, one picked per attempt
   * by `transportPolicy`: the session resumes over whichever it picks (LL-RESUME-10).
   */
  transport: ClientTransport | readonly ClientTransport[]
  /**
   * With several transports, picks the one of each attempt. Default: `fallbackPolicy()`: the one that
   * last worked, the next after two failed attempts in a row.
   */
  transportPolicy?: TransportPolicy | undefined
  /** Sent in hello.auth; a function (sync or async) is called for every attempt. Default: none. */
  auth?: AuthOption | undefined
  /** Delay before a retry after `attempt` failures. Default: `fullJitter()` (500 ms doubling to 30 s). */
  retryDelay?: RetryDelay | undefined
  /** Failed attempts in a row before the client gives up and closes. Default: unlimited. */
  maxAttempts?: number | undefined
  /** Bounds of the unacked-send buffer (count, size, overflow policy). Default: 10,000, 1 MiB, `reject`. */
  outbox?: Partial<OutboxLimits> | undefined
  /** Called for every message the overflow policy drops or refuses. Default: none. */
  onOverflow?: ((message: DroppedMessage, error: Error) => void) | undefined
  /** Ack after this many delivered entries. Default: 32. */
  ackEvery?: number | undefined
  /** Ack delivered entries after at most this long. Default: 200 ms. */
  ackDelayMs?: number | undefined
  /** A dial that has not produced welcome by then has failed. Default: 10000 ms. */
  connectTimeoutMs?: number | undefined
  /** After its bye, how long the client waits for the server to close (LL-INTENT-1). Default: 1000 ms. */
  closeTimeoutMs?: number | undefined
  /** Batch frames sent in the same tick into one transport message. Default: true. */
  batch?: boolean | undefined
  /** Where the memento, app memento and cursors are kept. Default: `memoryStorage()`. */
  storage?: SessionStorage | undefined
  /** Host signals (online, visibility). Default: the browser's when present, else none. */
  environment?: ClientEnvironment | undefined
  /**
   * In a new session, chooses which of the previously joined topics to join again (LL-TOPIC-6).
   * Default: all of them.
   */
  rejoin?: ((topics: readonly string[]) => readonly string[] | Promise<readonly string[]>) | undefined
  /** Protocol versions offered, preferred first. Default: [1]. */
  versions?: readonly number[] | undefined
  /** Time source. Default: the system clock. */
  clock?: Clock | undefined
  /** Randomness for jitter. Default: Math.random. */
  random?: Random | undefined
  /** Prefix of generated message ids; must be unique per client. Default: 64 random bits, hex. */
  idPrefix?: string | undefined
  /** Where the client warns about misuse (a send before `connect()`). Default: the console. */
  logger?: Logger | undefined
}

export interface ResolvedClientOptions {
  readonly transports: readonly ClientTransport[]
  readonly transportPolicy: TransportPolicy
  readonly auth: AuthOption
  readonly retryDelay: RetryDelay
  readonly maxAttempts: number
  readonly outbox: OutboxLimits
  readonly onOverflow: ((message: DroppedMessage, error: Error) => void) | undefined
  readonly ackEvery: number
  readonly ackDelayMs: number
  readonly connectTimeoutMs: number
  readonly closeTimeoutMs: number
  readonly batch: boolean
  readonly storage: SessionStorage
  readonly environment: ClientEnvironment
  readonly rejoin: ((topics: readonly string[]) => readonly string[] | Promise<readonly string[]>) | undefined
  readonly versions: readonly number[]
  readonly clock: Clock
  readonly random: Random
  readonly idPrefix: string
  readonly logger: Logger
}

function randomHex64(random: Random): string {
  const bytes = new Uint8Array(8)
  const crypto = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto
  if (crypto?.getRandomValues !== undefined) crypto.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256)
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const random = options.random ?? systemRandom
  const transport = options.transport
  return {
    transports: Array.isArray(transport) ? [...transport] : [transport as ClientTransport],
    transportPolicy: options.transportPolicy ?? fallbackPolicy(),
    auth: options.auth,
    retryDelay: options.retryDelay ?? fullJitter(),
    maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
    outbox: { ...DEFAULT_OUTBOX_LIMITS, ...options.outbox },
    onOverflow: options.onOverflow,
    ackEvery: Math.max(1, options.ackEvery ?? 32),
    ackDelayMs: options.ackDelayMs ?? 200,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 1000,
    batch: options.batch ?? true,
    storage: options.storage ?? memoryStorage(),
    environment: options.environment ?? browserEnvironment(),
    rejoin: options.rejoin,
    versions: options.versions ?? [1],
    clock: options.clock ?? systemClock,
    random,
    idPrefix: options.idPrefix ?? randomHex64(random),
    logger: options.logger ?? consoleLogger,
  }
}
