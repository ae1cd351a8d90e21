/**
 * Liveness for one connection, either side (LL-BEAT-1..3): ping when nothing was sent for
 * `intervalMs`, declare the link dead when nothing was heard for `intervalMs + timeoutMs`. Sending and
 * receiving only store a timestamp, so the per-frame cost is nil; one timer serves both deadlines.
 */
import { type Clock, Timer } from './clock.js'

export interface HeartbeatHandlers {
  ping(): void
  dead(): void
  /** Called on every tick, for periodic work such as a memento refresh. */
  tick?(now: number): void
}

export class Heartbeat {
  private lastSent = 0
  private lastReceived = 0
  private intervalMs = 0
  private deadAfterMs = 0
  private held = false
  private readonly timer: Timer

  constructor(
    private readonly clock: Clock,
    private readonly handlers: HeartbeatHandlers,
  ) {
    this.timer = new Timer(clock)
  }

  start(intervalMs: number, timeoutMs: number): void {
    this.intervalMs = intervalMs
    this.deadAfterMs = intervalMs + timeoutMs
    const now = this.clock.now()
    this.lastReceived = now
    this.lastSent = now
    this.schedule()
  }

  sent(): void {
    this.lastSent = this.clock.now()
  }

  received(): void {
    this.lastReceived = this.clock.now()
  }

  stop(): void {
    this.timer.clear()
  }

  /**
   * While we stopped reading the peer (backpressure), its silence is ours: the dead deadline waits, and
   * starts afresh when reading resumes.
   */
  hold(on: boolean): void {
    this.held = on
    if (!on) this.lastReceived = this.clock.now()
  }

  private schedule(): void {
    const next = Math.min(this.lastSent + this.intervalMs, this.lastReceived + this.deadAfterMs)
    this.timer.set(Math.max(0, next - this.clock.now()), () => this.check())
  }

  private check(): void {
    const now = this.clock.now()
    if (this.held) this.lastReceived = now
    // LL-BEAT-3: nothing heard for interval + timeout: dead, even if the socket looks open.
    if (now - this.lastReceived >= this.deadAfterMs) return this.handlers.dead()
    if (now - this.lastSent >= this.intervalMs) {
      this.handlers.ping() // LL-BEAT-1
      this.lastSent = now
    }
    this.handlers.tick?.(now)
    this.schedule()
  }
}
