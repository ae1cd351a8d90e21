/**
 * The claim race itself: two nodes claiming one session at the same moment, many times, on the
 * nats-server these tests run (Debian's 2.9.10), single and replicated (R3). Never two owners of a
 * generation, and every node computes the same owner.
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
    const [ra, rb] = await Promise.all([a.claim(sid, 'A'), b.claim(sid, 'B')])
    for (const [node, result] of [
      ['A', ra],
      ['B', rb],
    ] as const) {
      if (!result.won) continue
      // Never two owners of one generation, in this round or any earlier one.
      expect(winners.has(result.generation), `generation ${result.generation} won twice`).toBe(false)
      winners.set(result.generation, node)
      expect(result.owner).toEqual({ node, generation: result.generation })
    }
    // Two claims of one generation: exactly one wins. Both nodes then agree on who owns the session.
    if (ra.generation === rb.generation) {
      contested++
      expect(Number(ra.won) + Number(rb.won)).toBe(1)
    }
    const [oa, ob] = await Promise.all([a.owner(sid), b.owner(sid)])
    expect(oa).toEqual(ob)
    expect(winners.get(oa?.generation ?? -1)).toBe(oa?.node)
  }
  // Generations are won in order, none skipped by a winner.
  const generations = [...winners.keys()].sort((x, y) => x - y)
  expect(generations).toEqual(generations.map((_, i) => i + 1))
  console.info(`claim race: ${rounds} rounds, ${contested} contested, ${generations.length} generations won`)
  return contested
}

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
