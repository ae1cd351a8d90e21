/**
 * The simulation's invariants, never switched off (not by a restart, a reload or a lost welcome):
 *
 * - server to client: every entry published to a stream an actor follows reaches its app exactly
 *   once and in order, or the app got a signal naming that stream (`gap`, or a `joined` that says
 *   where the stream continues); checked at every delivery and, after healing, at the tail;
 * - client to server: every send is processed at most once, exactly once when it was acked, and
 *   ends acked, failed with an error, or reported lost by id after a reload; first processings keep
 *   the order the app sent in.
 *
 * An actor is a user across page reloads: its pages share one storage, and its view of each stream
 * goes on from page to page.
 */
import type { StreamEntry } from '../../src/server.js'

export class SimulationFailure extends Error {
  override name = 'SimulationFailure'
}

/** What the app of an actor has of one stream: the incarnation and the last seq it is at. */
interface Position {
  epoch: string
  seq: number
}

/** Every entry published, per stream and incarnation: what a delivery must match. */
export class Published {
  private readonly entries = new Map<string, Map<number, string>>()
  private readonly last = new Map<string, number>()

  record(stream: string, entry: StreamEntry): void {
    const key = `${stream}|${entry.epoch}`
    let log = this.entries.get(key)
    if (log === undefined) {
      log = new Map()
      this.entries.set(key, log)
    }
    log.set(entry.seq, describe(entry.frame))
    this.last.set(key, Math.max(this.last.get(key) ?? 0, entry.seq))
  }

  at(stream: string, epoch: string, seq: number): string | undefined {
    return this.entries.get(`${stream}|${epoch}`)?.get(seq)
  }

  lastSeq(stream: string, epoch: string): number {
    return this.last.get(`${stream}|${epoch}`) ?? 0
  }
}

export function describe(frame: StreamEntry['frame']): string {
  return frame.type === 'msg' ? `msg ${JSON.stringify(frame.data)}` : `presence ${frame.sid} ${frame.event}`
}

export type Head = (stream: string) => { epoch: string; lastSeq: number }

export class ActorView {
  /** Stream name (`t:<topic>` or `d:<sid>`) -> position of the app in it. */
  private readonly positions = new Map<string, Position>()
  /** Deliveries seen, `stream|epoch|seq`: a second one is a duplicate. */
  private readonly delivered = new Set<string>()
  /** The actor's current session and its direct stream. */
  sid: string | undefined
  readonly sent: string[] = []
  readonly settled = new Map<string, 'acked' | 'failed' | 'lost'>()
  signals = 0

  constructor(
    readonly actor: string,
    private readonly published: Published,
    private readonly head: Head,
    private readonly fail: (message: string) => never,
  ) {}

  /** A welcome: a new session starts its direct stream at 0. */
  session(sid: string, resumed: boolean): void {
    if (!resumed || this.sid !== sid) this.place(`d:${sid}`, 0)
    this.sid = sid
  }

  /** A join answered, or a stream that lost entries (a signal): the app is now at `seq`. */
  place(stream: string, seq: number): void {
    this.positions.set(stream, { epoch: this.head(stream).epoch, seq })
  }

  /**
   * A join answered. `recovered: true` claims nothing was missed: the app must be exactly there, in
   * the live incarnation. Anything else names the stream and says where it goes on from.
   */
  joined(stream: string, seq: number, recovered: boolean | undefined): void {
    const position = this.positions.get(stream)
    if (recovered === true) {
      const epoch = this.head(stream).epoch
      if (position === undefined) this.fail(`${this.actor}: ${stream} rejoined as recovered, never followed`)
      if (position.epoch !== epoch) {
        this.fail(
          `${this.actor}: ${stream} rejoined as recovered across incarnations ${position.epoch} -> ${epoch}`,
        )
      }
      if (position.seq !== seq) {
        this.fail(`${this.actor}: ${stream} rejoined as recovered at ${seq}, the app was at ${position.seq}`)
      }
      return
    }
    if (recovered === false) this.signals++
    this.place(stream, seq)
  }

  signal(stream: string, seq: number): void {
    this.signals++
    this.place(stream, seq)
  }

  left(stream: string): void {
    this.positions.delete(stream)
  }

  /** An entry reached the app: the next one of its stream after where the app was, never twice. */
  deliver(stream: string, seq: number, what: string): void {
    const position = this.positions.get(stream)
    if (position === undefined)
      this.fail(`${this.actor}: ${stream} seq ${seq} (${what}) delivered unfollowed`)
    const key = `${stream}|${position.epoch}|${seq}`
    if (this.delivered.has(key)) this.fail(`${this.actor}: ${stream} seq ${seq} (${what}) delivered twice`)
    this.delivered.add(key)
    const expected = this.published.at(stream, position.epoch, seq)
    if (expected !== what) {
      this.fail(
        `${this.actor}: ${stream} seq ${seq} delivered ${what}, but incarnation ${position.epoch} published ${expected ?? 'nothing'} there`,
      )
    }
    if (seq !== position.seq + 1) {
      this.fail(`${this.actor}: ${stream} went from ${position.seq} to ${seq} with no signal naming it`)
    }
    position.seq = seq
  }

  /** After healing: every followed stream is at its end, in the incarnation that is live now. */
  tail(followed: readonly string[]): void {
    for (const stream of followed) {
      const position = this.positions.get(stream)
      if (position === undefined) this.fail(`${this.actor}: follows ${stream} but never joined it`)
      const { epoch, lastSeq } = this.head(stream)
      if (position.epoch !== epoch) {
        this.fail(
          `${this.actor}: ${stream} is live in incarnation ${epoch}, the app is still in ${position.epoch}`,
        )
      }
      if (position.seq !== lastSeq) {
        this.fail(
          `${this.actor}: ${stream} ends at ${lastSeq}, the app got to ${position.seq} with no signal`,
        )
      }
    }
  }

  /** Sends: processed at most once, exactly once when acked, every one accounted for. */
  sends(processed: readonly string[]): void {
    const counts = new Map<string, number>()
    for (const id of processed) counts.set(id, (counts.get(id) ?? 0) + 1)
    for (const [id, count] of counts)
      if (count > 1) this.fail(`${this.actor}: ${id} processed ${count} times`)
    for (const id of this.sent) {
      const outcome = this.settled.get(id)
      if (outcome === undefined) this.fail(`${this.actor}: ${id} never settled, failed or reported lost`)
      if (outcome === 'acked' && !counts.has(id)) this.fail(`${this.actor}: ${id} acked but never processed`)
    }
    const order = [...counts.keys()].map((id) => this.sent.indexOf(id))
    for (let i = 1; i < order.length; i++) {
      if ((order[i] as number) < (order[i - 1] as number))
        this.fail(`${this.actor}: sends processed out of order: ${[...counts.keys()].join(' ')}`)
    }
  }
}
