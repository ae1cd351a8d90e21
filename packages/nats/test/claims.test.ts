/**
 * The claim race itself: two nodes claiming one session at the same moment, many times, on the
 * nats-server these tests run (Debian's 2.9.10), single and replicated (R3). Never two owners of a
 * term, and every node computes the same owner (LL-NODE-1).
 */
import { type NatsCluster, type NatsServer, startNatsCluster, startNatsServer } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JetStreamStore } from '../src/jetstream/store.js'
import { createJetStream } from '../src/jetstream.js'
import { onCleanup } from './helpers.js'

async function twoNodes(servers: string[], replicas: number): Promise<[JetStreamStore, JetStreamStore]> {
  const name = `C${Math.random().toString(36).slice(2, 8)}`
  const make = async () => {
    const nc = await connect({ servers })
    onCleanup(() => nc.close())
    return (await createJetStream(nc, { name, replicas, directStreamMaxBytes: 4 << 20 })).store
  }
  const a = await make()
  return [a, await make()]
}

/**
 * `rounds` rounds of both nodes claiming one session at once. Returns how many rounds were contested
 * (both claimed the same generation: the race proper; otherwise one saw the other's claim first and
 * took over from it, a legitimate takeover).
 */
async function race(a: JetStreamStore, b: JetStreamStore, rounds: number): Promise<number> {
  let contested = 0
  const sid = `s_race${Math.random().toString(36).slice(2, 8)}`
  const winners = new Map<number, string>()
  for (let round = 0; round < rounds; round++) {
    // Each node claims the term after the one it read, as the core does: sometimes both read the same.
    const [ta, tb] = await Promise.all([a.owner(sid), b.owner(sid)]).then(([x, y]) => [
      x.term + 1,
      y.term + 1,
    ])
    const [ra, rb] = await Promise.all([
      a.claim(sid, { node: 'A', term: ta as number, purpose: 'resume' }),
      b.claim(sid, { node: 'B', term: tb as number, purpose: 'resume' }),
    ])
    for (const [node, term, result] of [
      ['A', ta, ra],
      ['B', tb, rb],
    ] as const) {
      if (!result.won) continue
      // Never two owners of one term, in this round or any earlier one.
      expect(winners.has(term as number), `term ${term} won twice`).toBe(false)
      winners.set(term as number, node)
      expect(result.owner).toEqual({ node, term, purpose: 'resume' })
    }
    // Two claims of one term: exactly one wins. Both nodes then agree on who owns the session.
    if (ta === tb) {
      contested++
      expect(Number(ra.won) + Number(rb.won)).toBe(1)
    }
    const [oa, ob] = await Promise.all([a.owner(sid), b.owner(sid)])
    expect(oa).toEqual(ob)
    expect(winners.get(oa.term)).toBe(oa.node)
  }
  // Terms are won in order from 2 (1 is the creator's), none skipped by a winner.
  const terms = [...winners.keys()].sort((x, y) => x - y)
  expect(terms).toEqual(terms.map((_, i) => i + 2))
  console.info(`claim race: ${rounds} rounds, ${contested} contested, ${terms.length} terms won`)
  return contested
}

describe('ownership claims: the walk', () => {
  let nats: NatsServer
  beforeAll(async () => {
    nats = await startNatsServer()
  })
  afterAll(() => nats.stop())

  it('LL-NODE-1: a term won to end the session is its last; a claim skipping a term loses', async () => {
    const [a, b] = await twoNodes([nats.url], 1)
    expect(await a.claim('s_w', { node: 'A', term: 2, purpose: 'adopt' })).toMatchObject({ won: true })
    expect(await a.claim('s_w', { node: 'A', term: 4, purpose: 'resume' })).toMatchObject({ won: false })
    expect(await b.claim('s_w', { node: 'B', term: 2, purpose: 'resume' })).toMatchObject({
      won: false,
      owner: { node: 'A', term: 2 },
    })
    expect(await b.claim('s_w', { node: 'B', term: 3, purpose: 'end' })).toEqual({
      won: true,
      owner: { node: 'B', term: 3, purpose: 'end' },
      previous: { node: 'A', term: 2, purpose: 'adopt' },
    })
    expect(await a.claim('s_w', { node: 'A', term: 4, purpose: 'resume' })).toMatchObject({
      won: false,
      owner: { node: 'B', term: 3, purpose: 'end' },
    })
  })

  it('past the claims kept (64 per session), the walk starts below the oldest kept claim', async () => {
    const [a] = await twoNodes([nats.url], 1)
    for (let term = 2; term <= 80; term++)
      expect((await a.claim('s_long', { node: `N${term}`, term, purpose: 'adopt' })).won).toBe(true)
    expect(await a.owner('s_long')).toEqual({ node: 'N80', term: 80, purpose: 'adopt' })
  })
})

describe('ownership claims: two nodes, one session, at once', () => {
  let nats: NatsServer
  beforeAll(async () => {
    nats = await startNatsServer()
  })
  afterAll(() => nats.stop())

  it('one nats-server: 200 simultaneous claim rounds, never two owners', async () => {
    const [a, b] = await twoNodes([nats.url], 1)
    expect(await race(a, b, 200)).toBeGreaterThan(50)
  })
})

describe('ownership claims on a replicated stream (R3, where a KV compare-and-set is not serialisable on 2.9)', () => {
  let cluster: NatsCluster
  beforeAll(async () => {
    cluster = await startNatsCluster(3)
  })
  afterAll(() => cluster.stop())

  it('three nats-servers, each node on a different one: 100 rounds, never two owners', async () => {
    const [a, b] = await twoNodes([cluster.server(0).url], 3).then(async ([first]) => {
      const nc = await connect({ servers: [cluster.server(2).url] })
      onCleanup(() => nc.close())
      const second = (
        await createJetStream(nc, { name: first.name, replicas: 3, directStreamMaxBytes: 4 << 20 })
      ).store
      return [first, second] as const
    })
    expect(await race(a, b, 100)).toBeGreaterThan(25)
  })
})
