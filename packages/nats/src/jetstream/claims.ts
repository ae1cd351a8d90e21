/**
 * Session ownership across nodes, correct on nats-server 2.9.10 with replicated streams, where a
 * compare-and-set (an expected last subject sequence, what a KV revision update uses) is not
 * serialisable (nats-server issue 4320). No compare-and-set is trusted here: a claim is a message
 * appended to the session's subject of a claims stream, and the stream leader's total order decides.
 *
 * - A node claims generation g = (highest generation it sees) + 1.
 * - The first claim of a generation, in stream order, wins it; every later claim of that generation,
 *   or of a lower one, loses. A claimer knows its claim's place from the publish ack and reads what
 *   came before it: everything ordered before an acknowledged message is already committed, so every
 *   node computing the outcome from the stream agrees.
 * - The owner is the winner of the highest generation. Every write an owner makes carries its
 *   generation (fencing): readers ignore writes of a lower generation, so a node that has not yet
 *   heard it was superseded cannot undo the new owner's state.
 */

import type { StorageType } from '@nats-io/jetstream'
import { DeliverPolicy, DiscardPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'

export interface Claim {
  readonly node: string
  readonly generation: number
}

export interface ClaimResult {
  readonly won: boolean
  /** The generation claimed (won or not). */
  readonly generation: number
  /** Who owns the session once this claim is ordered: this node when `won`. */
  readonly owner: Claim
}

interface Ordered extends Claim {
  readonly seq: number
}

export class Claims {
  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly root: string,
  ) {}

  static config(stream: string, root: string, storage: StorageType, replicas: number, maxAgeNs: number) {
    return {
      name: stream,
      subjects: [`${root}.claim.*`],
      // Only the latest claims decide; older ones are history.
      max_msgs_per_subject: 64,
      max_age: maxAgeNs,
      discard: DiscardPolicy.Old,
      storage,
      num_replicas: replicas,
    }
  }

  /** Claims the next generation of `key` for `node`; `won` says whether this node now owns it. */
  async claim(key: string, node: string): Promise<ClaimResult> {
    const before = winner(await this.read(key, undefined))
    const generation = (before?.generation ?? 0) + 1
    const ack = await this.js.publish(this.subject(key), JSON.stringify({ node, generation }))
    const upTo = await this.read(key, ack.seq)
    const owner = winner(upTo) as Claim
    const won =
      owner.node === node && owner.generation === generation && firstOf(upTo, generation)?.seq === ack.seq
    return { won, generation, owner: { node: owner.node, generation: owner.generation } }
  }

  /** The current owner of `key`, if any node ever claimed it. */
  async owner(key: string): Promise<Claim | undefined> {
    const current = winner(await this.read(key, undefined))
    return current === undefined ? undefined : { node: current.node, generation: current.generation }
  }

  /** Forgets a key's claims (the session ended). */
  async forget(jsm: JetStreamManager, key: string): Promise<void> {
    await jsm.streams.purge(this.stream, { filter: this.subject(key) })
  }

  private subject(key: string): string {
    return `${this.root}.claim.${key}`
  }

  /** The key's retained claims in stream order, through stream sequence `through` when given. */
  private async read(key: string, through: number | undefined): Promise<Ordered[]> {
    const info = await this.js
      .jetstreamManager()
      .then((jsm) => jsm.streams.info(this.stream, { subjects_filter: this.subject(key) }))
    const count = info.state.subjects?.[this.subject(key)] ?? 0
    if (count === 0) return []
    const consumer = await this.js.consumers.get(this.stream, {
      filter_subjects: this.subject(key),
      deliver_policy: DeliverPolicy.All,
    })
    const claims: Ordered[] = []
    try {
      const messages = await consumer.fetch({ max_messages: count, expires: 2000 })
      for await (const msg of messages) {
        if (through !== undefined && msg.seq > through) break
        const { node, generation } = msg.json<Claim>()
        claims.push({ node, generation, seq: msg.seq })
        if (claims.length >= count || msg.seq === through) break
      }
    } finally {
      await consumer.delete().catch(() => {})
    }
    return claims
  }
}

/** The first claim of `generation` in stream order. */
function firstOf(claims: readonly Ordered[], generation: number): Ordered | undefined {
  return claims.find((claim) => claim.generation === generation)
}

/** The winner of the highest generation: the first claim of it in stream order. */
function winner(claims: readonly Ordered[]): Ordered | undefined {
  let top: Ordered | undefined
  for (const claim of claims) if (top === undefined || claim.generation > top.generation) top = claim
  return top === undefined ? undefined : firstOf(claims, top.generation)
}
