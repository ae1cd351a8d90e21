/**
 * Inbound stream tracking: one cursor per stream (the direct stream and each topic), duplicates from
 * replay dropped (LL-SEQ-3), gaps accepted (LL-SEQ-4), and cumulative acks batched by count and time
 * (LL-ACK-1, LL-ACK-2).
 */

/** The key of the direct stream in cursor maps; topic names are never empty. */
export const DIRECT = ''

export interface AckFrame {
  readonly type: 'ack'
  readonly seq: number
  readonly topic?: string
}

export class Inbox {
  private readonly cursors = new Map<string, number>()
  /** Per topic, its app memento as of the cursor (LL-APPM-7): kept, stored and forgotten with it. */
  private readonly mementos = new Map<string, unknown>()
  /** The incarnation of each topic cursor (LL-EPOCH-2); the direct stream's is the session. */
  private readonly epochs = new Map<string, string>()
  /** Per stream with deliveries not yet acked: the seq to ack and how many entries wait for it. */
  private readonly unacked = new Map<string, { seq: number; count: number }>()
  private unackedCount = 0

  constructor(private readonly ackEvery: number) {}

  cursor(stream: string): number {
    return this.cursors.get(stream) ?? 0
  }

  hasCursor(stream: string): boolean {
    return this.cursors.has(stream)
  }

  /** True when an entry must be delivered; false for a duplicate (LL-SEQ-3). */
  accepts(stream: string, seq: number): boolean {
    return seq > (this.cursors.get(stream) ?? 0)
  }

  /** Records a delivered entry; returns true when enough are waiting to ack at once. */
  delivered(stream: string, seq: number): boolean {
    this.cursors.set(stream, seq)
    const waiting = this.unacked.get(stream)
    if (waiting === undefined) this.unacked.set(stream, { seq, count: 1 })
    else {
      waiting.seq = seq
      waiting.count++
    }
    this.unackedCount++
    return this.unackedCount >= this.ackEvery
  }

  get hasUnacked(): boolean {
    return this.unacked.size > 0
  }

  /** The ack frames to send now, one per stream (LL-ACK-1). */
  takeAcks(): AckFrame[] {
    const acks: AckFrame[] = []
    for (const [stream, { seq }] of this.unacked) {
      acks.push(stream === DIRECT ? { type: 'ack', seq } : { type: 'ack', seq, topic: stream })
    }
    this.unacked.clear()
    this.unackedCount = 0
    return acks
  }

  /**
   * Sets a stream's cursor (a join's starting point, LL-TOPIC-2, or a lost stream's new one,
   * LL-RESUME-12), even below the current one, with its incarnation.
   */
  setCursor(stream: string, seq: number, epoch: string | undefined): void {
    this.cursors.set(stream, seq)
    if (epoch === undefined) this.epochs.delete(stream)
    else this.epochs.set(stream, epoch)
  }

  epoch(stream: string): string | undefined {
    return this.epochs.get(stream)
  }

  /** The topic's app memento, from a delivered msg or a joined (LL-APPM-7, LL-APPM-8). */
  setAppMemento(topic: string, value: unknown): void {
    this.mementos.set(topic, value)
  }

  appMemento(topic: string): unknown {
    return this.mementos.get(topic)
  }

  forget(stream: string): void {
    this.cursors.delete(stream)
    this.mementos.delete(stream)
    this.epochs.delete(stream)
    const waiting = this.unacked.get(stream)
    if (waiting === undefined) return
    this.unacked.delete(stream)
    this.unackedCount -= waiting.count
  }

  /** A new session: the direct stream starts again from 1 (LL-RESUME-6); topic cursors are kept for `join.from`. */
  newSession(): void {
    this.cursors.delete(DIRECT)
    this.unacked.clear()
    this.unackedCount = 0
  }

  /** Cursors for hello.resume, each with its incarnation (LL-RESUME-1, LL-EPOCH-2). */
  resumeCursors(topics: Iterable<string>): {
    seq: number
    topics: Record<string, number>
    epochs: Record<string, string>
  } {
    const byTopic: Record<string, number> = {}
    const epochs: Record<string, string> = {}
    for (const topic of topics) {
      const cursor = this.cursors.get(topic)
      if (cursor === undefined) continue
      byTopic[topic] = cursor
      const epoch = this.epochs.get(topic)
      if (epoch !== undefined) epochs[topic] = epoch
    }
    return { seq: this.cursor(DIRECT), topics: byTopic, epochs }
  }

  /** Snapshot for storage, so a reload resumes where the app was. */
  snapshot(): { cursors: Record<string, number>; epochs: Record<string, string> } {
    return { cursors: Object.fromEntries(this.cursors), epochs: Object.fromEntries(this.epochs) }
  }

  restore(
    cursors: Readonly<Record<string, number>>,
    epochs: Readonly<Record<string, string>> | undefined,
  ): void {
    for (const [stream, seq] of Object.entries(cursors)) this.cursors.set(stream, seq)
    for (const [stream, epoch] of Object.entries(epochs ?? {})) this.epochs.set(stream, epoch)
  }

  /** The topics' app mementos for storage, next to the cursors. */
  mementosSnapshot(): Record<string, unknown> | undefined {
    return this.mementos.size === 0 ? undefined : Object.fromEntries(this.mementos)
  }

  restoreMementos(mementos: Readonly<Record<string, unknown>>): void {
    for (const [topic, value] of Object.entries(mementos)) this.mementos.set(topic, value)
  }
}
