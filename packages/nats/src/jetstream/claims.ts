/**
 * Session ownership across nodes, correct on nats-server 2.9.10 with replicated streams, where a
 * compare-and-set (an expected last subject sequence, what a KV revision update uses) is not
 * serialisable (nats-server issue 4320). No compare-and-set is trusted here: a claim is a message
 * appended to the session's subject of a claims stream, and the stream leader's total order decides.
 *
 * - A node claims term t = (the term it read) + 1, saying why (resume, adopt, expire, end).
 * - Walking the claims in stream order from term 1 (the creator's, never claimed), a claim wins when
 *   its term is the current one plus one and the current one did not end the session; every other
 *   claim loses. A claimer knows its claim's place from the publish ack and reads what came before
 *   it: everything ordered before an acknowledged message is already committed, so every node
 *   computing the outcome from the stream agrees.
 * - Every record an owner writes is keyed by its term (fencing): readers take the highest term, so a
 *   node that has not yet heard it was superseded cannot undo the new owner's state.
 */

import type { Claim, ClaimPurpose, ClaimResult } from '@lifeline/core/server'
import type { StorageType } from '@nats-io/jetstream'
import { DeliverPolicy, DiscardPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { fetchAll } from './layout.js'

export type { Claim, ClaimResult } from '@lifeline/core/server'

interface Ordered extends Claim {
  readonly seq: number
}

const isFinal = (purpose: ClaimPurpose) => purpose === 'expire' || purpose === 'end'

/** Term 1: the creator's, never claimed; its node only the session's record knows. */
const FIRST: Claim = { node: '', term: 1, purpose: 'resume' }

/**
 * Walks claims in stream order, calling `won` with each winner and the one before it (undefined for
 * the creator). Claims older than the stream keeps (its per-subject and age limits) are gone: the walk
 * then starts just below the oldest kept one, which settled long ago.
 */
function walk(claims: readonly Ordered[], won: (current: Claim, previous: Claim | undefined) => void): void {
  const oldest = claims[0]
  let current: Claim = oldest !== undefined && oldest.term > 2 ? { ...FIRST, term: oldest.term - 1 } : FIRST
  won(current, undefined)
  for (const ordered of claims) {
    if (isFinal(current.purpose) || ordered.term !== current.term + 1) continue
    const previous = current.node === '' ? undefined : current
    current = { node: ordered.node, term: ordered.term, purpose: ordered.purpose }
    won(current, previous)
  }
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

  /**
   * Appends a claim of `claim.term` for `key` and reads back everything ordered before it: the claim
   * wins when it is the first claim of the term after the current one, and the current one did not
   * end the session (LL-NODE-1). Every node reading the stream computes the same outcome.
   */
  async claim(key: string, claim: Claim): Promise<ClaimResult> {
    const ack = await this.js.publish(this.subject(key), JSON.stringify(claim))
    let result: ClaimResult = { won: false, owner: FIRST }
    walk(await this.read(key, ack.seq), (current, previous) => {
      // By node and term rather than by seq: a publish retried after a lost ack is the same claim
      // (a node claims a term once).
      const mine = current.node === claim.node && current.term === claim.term
      result = mine ? { won: true, owner: current, previous } : { won: false, owner: current }
    })
    return result
  }

  /** The current owner of `key`: the last claim that won; term 1 (the creator's, node '') if none did. */
  async owner(key: string): Promise<Claim> {
    let owner: Claim = FIRST
    walk(await this.read(key, undefined), (current) => {
      owner = current
    })
    return owner
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
      await fetchAll(consumer, count, (msg) => {
        if (through !== undefined && msg.seq > through) return true
        const { node, term, purpose } = msg.json<Claim>()
        claims.push({ node, term, purpose, seq: msg.seq })
        return claims.length >= count || msg.seq === through
      })
    } finally {
      await consumer.delete().catch(() => {})
    }
    return claims
  }
}
