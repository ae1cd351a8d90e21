/**
 * Several transports for one client, one picked per attempt by an injected policy (e.g. ws first, then
 * Socket.IO long-polling where a proxy refuses WebSocket upgrades). The session, its memento and its
 * streams belong to the client, so a session resumes over whichever transport the policy picks
 * (LL-RESUME-10).
 */
import type { ClientTransport } from '../transport.js'

/** What a policy knows when it picks the transport of the next attempt. */
export interface TransportChoice {
  /** The client's transports, in the order given. */
  readonly transports: readonly ClientTransport[]
  /** Failed attempts in a row since the last open connection (0: the first attempt after one, or at start). */
  readonly failures: number
  /** Failed attempts in a row on each transport, by index; reset when that transport opens a session. */
  readonly failuresOf: readonly number[]
  /** The index of the transport the last session-opening connection used, if any. */
  readonly lastOpen: number | undefined
  /** The index of the transport the previous attempt used, if any. */
  readonly previous: number | undefined
}

/** Picks the index of the transport for the next attempt; out-of-range answers are a TypeError. */
export type TransportPolicy = (choice: TransportChoice) => number

export interface FallbackPolicyOptions {
  /** Failed attempts in a row on one transport before the next one is tried. Default: 2. */
  readonly failuresBeforeFallback?: number
}

/**
 * The default policy: start with the transport that last worked (the first one at start), and after
 * `failuresBeforeFallback` failed attempts in a row move on to the next one in order, wrapping around.
 * With `[ws, socket.io polling]`: ws; after two ws failures, polling; after two polling failures, ws again.
 */
export function fallbackPolicy(options: FallbackPolicyOptions = {}): TransportPolicy {
  const limit = Math.max(1, Math.floor(options.failuresBeforeFallback ?? 2))
  return ({ transports, failures, lastOpen }) =>
    ((lastOpen ?? 0) + Math.floor(failures / limit)) % transports.length
}

/** Keeps the per-transport bookkeeping the policy is given, and asks it for each attempt. */
export class TransportPicker {
  private readonly failuresOf: number[]
  private lastOpen: number | undefined
  private previous: number | undefined

  constructor(
    readonly transports: readonly ClientTransport[],
    private readonly policy: TransportPolicy,
  ) {
    if (transports.length === 0) throw new TypeError('createClient: give at least one transport')
    this.failuresOf = transports.map(() => 0)
  }

  /** The transport of the next attempt, given the failed attempts in a row so far. */
  pick(failures: number): { readonly index: number; readonly transport: ClientTransport } {
    const index =
      this.transports.length === 1
        ? 0
        : this.policy({
            transports: this.transports,
            failures,
            failuresOf: [...this.failuresOf],
            lastOpen: this.lastOpen,
            previous: this.previous,
          })
    const transport = this.transports[index]
    if (!Number.isInteger(index) || transport === undefined) {
      throw new TypeError(`transport policy picked ${index}, not one of 0..${this.transports.length - 1}`)
    }
    this.previous = index
    return { index, transport }
  }

  /** The attempt on `index` ended before a session opened on it. */
  failed(index: number): void {
    this.failuresOf[index] = (this.failuresOf[index] ?? 0) + 1
  }

  /** A session opened (new or resumed) on `index`. */
  opened(index: number): void {
    this.failuresOf[index] = 0
    this.lastOpen = index
  }
}
