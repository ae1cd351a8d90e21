/** Checks a direction message by message: what arrived against what was sent, 1..sent in order. */
import type { DirectionTally } from './types.js'

/** Arrivals of one stream, numbered 1, 2, 3... by their sender. */
export class Sequence {
  private readonly seen = new Set<number>()
  private highest = 0
  duplicated = 0
  outOfOrder = 0

  arrive(n: number): void {
    if (this.seen.has(n)) {
      this.duplicated++
      return
    }
    if (n < this.highest) this.outOfOrder++
    this.highest = Math.max(this.highest, n)
    this.seen.add(n)
  }

  get delivered(): number {
    return this.seen.size
  }
}

export function tally(streams: ReadonlyArray<{ sent: number; sequence: Sequence }>): DirectionTally {
  let sent = 0
  let delivered = 0
  let duplicated = 0
  let outOfOrder = 0
  for (const { sent: count, sequence } of streams) {
    sent += count
    delivered += sequence.delivered
    duplicated += sequence.duplicated
    outOfOrder += sequence.outOfOrder
  }
  return { sent, delivered, lost: sent - delivered, duplicated, outOfOrder }
}
