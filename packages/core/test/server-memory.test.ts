import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { MessageTooDeepError } from '../src/index.js'
import type { MemoryStore } from '../src/server.js'
import { hello, rawClient, settle, world } from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const deep = (levels: number): unknown => {
  let value: unknown = 0
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

describe('LL-LIMIT-10: a log counts the memory it holds, not the length of its text', () => {
  it('LL-LIMIT-10: a 1 MiB topic log of structure-heavy messages holds about 1 MiB of heap', async () => {
    const w = await world({ memory: { topicLog: { maxBytes: 1024 * 1024, maxEntries: 100_000 } } })
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    c.send({ type: 'join', topic: 'room' })
    await settle()
    expect(c.last('joined')).toMatchObject({ topic: 'room' })
    w.network.client('c').reset() // away, in grace: the log must be kept for it
    await settle()
    const before = heapUsed()
    // 900 characters of text each, ~19 KB of objects once parsed: 2,000 of them.
    for (let i = 0; i < 2000; i++) {
      await w.server.publish(
        'room',
        Array.from({ length: 300 }, () => ({})),
      )
    }
    const held = heapUsed() - before
    expect(held).toBeLessThan(3 * 1024 * 1024)
    const store = (w.server as unknown as { core: { options: { store: MemoryStore } } }).core.options.store
    expect(store.stats.streams).toBe(1)
  })
})

describe('LL-LIMIT-8: nesting depth is bounded both ways', () => {
  it('LL-LIMIT-8: a frame nested 3,000 deep closes its connection with 4000; a neighbour keeps working', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (m) => void processed.push(m.data) })
    const neighbour = rawClient(w.network, 'n')
    const attacker = rawClient(w.network, 'a')
    await settle()
    neighbour.send(hello())
    attacker.send(hello())
    await settle()
    attacker.sendText(JSON.stringify({ type: 'send', seq: 1, id: 'a.1', data: deep(3000) }))
    neighbour.send({ type: 'send', seq: 1, id: 'n.1', data: 'fine' })
    await settle()
    expect(attacker.closed?.code).toBe(CloseCode.PROTOCOL_ERROR)
    expect(attacker.last('bye')).toMatchObject({ code: CloseCode.PROTOCOL_ERROR, reconnect: false })
    expect(processed).toEqual(['fine'])
    expect(neighbour.closed).toBeUndefined()
  })

  it('LL-LIMIT-8: the server refuses to publish what its clients would refuse', async () => {
    const w = await world()
    await expect(w.server.publish('room', deep(63))).rejects.toBeInstanceOf(MessageTooDeepError)
    await expect(w.server.publish('room', deep(60))).resolves.toBeGreaterThan(0)
  })

  it('LL-LIMIT-8: the client refuses to send what the server would refuse, and never sends it', async () => {
    const w = await world()
    const client = w.client('c')
    const sent: string[] = []
    w.network.tap = (_id, direction, payload) => {
      if (direction === 'c2s') sent.push(String(payload))
    }
    client.connect()
    await settle()
    await expect(client.send(deep(70))).rejects.toBeInstanceOf(MessageTooDeepError)
    await expect(client.send(deep(60))).resolves.toBeUndefined()
    expect(sent.filter((text) => text.includes('"send"'))).toHaveLength(1)
    client.close()
  })
})
