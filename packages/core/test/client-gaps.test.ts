/**
 * The client side of "never a silent gap" (spec revision 1.1): lost streams named and reset, the
 * memento stored before it is proven, the send counter after a reload.
 */
import { describe, expect, it } from 'vitest'
import { type GapEvent, memoryStorage, type SessionStorage, type StoredSession } from '../src/index.js'
import type { ClientTransport, Payload } from '../src/transport.js'
import { world } from './helpers.js'

/** Storage that keeps a copy, like sessionStorage across a reload. */
function copyingStorage(): SessionStorage & { value: StoredSession | undefined } {
  const storage = {
    value: undefined as StoredSession | undefined,
    load: () => (storage.value === undefined ? undefined : structuredClone(storage.value)),
    save: (session: StoredSession) => {
      storage.value = structuredClone(session)
    },
    clear: () => {
      storage.value = undefined
    },
  }
  return storage
}

describe('LL-RESUME-12, LL-RESUME-7: lost streams are named and continue', () => {
  it('LL-RESUME-12: a topic that lost entries is reported by name, its cursor reset, and the stream goes on', async () => {
    const w = await world({ memory: { topicLog: { maxEntries: 2 } } })
    const client = w.client('c1')
    const gaps: GapEvent[] = []
    const unrecovered: unknown[] = []
    const delivered: Array<[string | undefined, unknown]> = []
    client.on('gap', (gap) => gaps.push(gap))
    client.on('unrecovered', (event) => unrecovered.push(event))
    client.on('message', (message) => delivered.push([message.topic, message.data]))
    client.connect()
    await client.join('busy')
    await client.join('calm')
    await w.advance(300)
    // Dropped; everything below is published before the client is back.
    w.server.drop(client.sid as string)
    for (let i = 0; i < 5; i++) void w.server.publish('busy', `lost ${i}`)
    void w.server.publish('calm', 'kept')
    await w.advance(10)
    expect(client.status).toMatchObject({ type: 'open', resumed: true, recovered: false })
    expect(unrecovered).toEqual([
      { reason: 'overflow', appMemento: undefined, direct: false, topics: ['busy'] },
    ])
    expect(gaps).toEqual([{ topic: 'busy', reason: 'overflow', seq: expect.any(Number) }])
    expect(delivered).toContainEqual(['calm', 'kept'])
    await w.server.publish('busy', 'after')
    await w.advance(10)
    expect(delivered.filter(([topic]) => topic === 'busy')).toEqual([['busy', 'after']])
    client.close()
  })

  it('LL-RESUME-11, LL-RESUME-12: cursors above the end (a stale storage) are reset, not left silent', async () => {
    const w = await world()
    const storage = copyingStorage()
    const first = w.client('c1', { storage })
    first.connect()
    await first.join('room')
    await w.advance(300)
    const sid = first.sid as string
    const stored = storage.value as StoredSession
    // Another page of the same session: its storage claims more than the server ever sent.
    const reloaded = w.client('c2', {
      storage: memoryStorage({ ...stored, cursors: { '': 50, room: 40 } }),
    })
    const gaps: GapEvent[] = []
    const delivered: unknown[] = []
    reloaded.on('gap', (gap) => gaps.push(gap))
    reloaded.on('message', (message) => delivered.push(message.data))
    void reloaded.join('room') // a reloaded page joins its topics again before it connects
    reloaded.connect()
    await w.advance(10)
    expect(reloaded.sid).toBe(sid)
    expect(gaps.map((gap) => gap.topic)).toEqual([undefined, 'room'])
    await w.server.send(sid, 'direct')
    await w.server.publish('room', 'topic')
    await w.advance(10)
    expect(delivered).toEqual(['direct', 'topic'])
    reloaded.close()
  })
})

describe('LL-MEMENTO-8: the memento is stored before anything proves it', () => {
  it('LL-MEMENTO-8: every frame after welcome is written when the storage already holds that welcome memento', async () => {
    const w = await world()
    const storage = copyingStorage()
    const inner = w.network.client('c1')
    const violations: string[] = []
    let latest: string | undefined
    const transport: ClientTransport = {
      name: 'spy',
      get encoding() {
        return inner.encoding
      },
      connect: (handlers) => {
        let welcomed = false
        const link = inner.connect({
          ...handlers,
          message: (payload: Payload) => {
            const text = String(payload)
            const match = /"type":"welcome".*?"memento":"([^"]+)"/.exec(text)
            if (match !== null) {
              latest = match[1]
              welcomed = true
            }
            handlers.message(payload)
          },
        })
        return {
          ...link,
          send: (payload: Payload) => {
            if (welcomed && storage.value?.memento !== latest) violations.push(String(payload))
            link.send(payload)
          },
          close: (code, reason) => link.close(code, reason),
        }
      },
    }
    const client = w.client('c1', { storage, transport, batch: false })
    client.connect()
    await client.join('room')
    for (let i = 0; i < 3; i++) {
      await client.send(`m${i}`)
      inner.reset()
      await w.advance(100)
    }
    expect(client.status.type).toBe('open')
    expect(violations).toEqual([])
    client.close()
  })
})

describe('LL-SEND-8: a seq is never given to two messages', () => {
  it('LL-SEND-8: a page whose stored state lagged behind numbers after welcome.receivedSeq, so its sends are processed', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (message) => void processed.push(message.data) })
    const storage = copyingStorage()
    const first = w.client('c1', { storage })
    first.connect()
    await w.advance(10)
    const stale = structuredClone(storage.value)
    await first.send('one')
    await first.send('two')
    w.network.client('c1').blackhole()
    // A reload restoring the storage as it was before those sends.
    const reloaded = w.client('c2', { storage: memoryStorage(stale) })
    reloaded.connect()
    await w.advance(10)
    expect(reloaded.sid).toBe(first.sid)
    await reloaded.send('after reload')
    expect(processed).toEqual(['one', 'two', 'after reload'])
    reloaded.close()
  })
})
