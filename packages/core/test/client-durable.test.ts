/**
 * The durable outbox (LL-SEND-9), the counter across reloads (LL-SEND-8), sends of unknown outcome
 * (LL-SEND-10), the memento stored before it is proven with an asynchronous storage (LL-MEMENTO-8).
 */
import { describe, expect, it } from 'vitest'
import {
  type LifelineClient,
  OutcomeUnknownError,
  type SessionStorage,
  type StoredSession,
} from '../src/index.js'
import { createServer } from '../src/server.js'
import type { ClientTransport, Payload } from '../src/transport.js'
import { settle, type World, world } from './helpers.js'

/** sessionStorage across a reload: a copy per load, and, when `maxChars` is set, a quota. */
function pageStorage(maxChars = Number.POSITIVE_INFINITY) {
  const storage = {
    persistent: true,
    value: undefined as string | undefined,
    load: (): StoredSession | undefined =>
      storage.value === undefined ? undefined : (JSON.parse(storage.value) as StoredSession),
    save: (session: StoredSession) => {
      const text = JSON.stringify(session)
      if (text.length > maxChars) throw new Error('QuotaExceededError')
      storage.value = text
    },
    clear: () => {
      storage.value = undefined
    },
  }
  return storage
}

/** A page: a client on a storage, with what its app saw. */
function page(w: World, actor: string, storage: SessionStorage) {
  const client = w.client(actor, { storage })
  const seen = { settled: [] as Array<[string, string]>, unsaved: [] as string[][], lost: [] as string[][] }
  client.on('settled', (event) => seen.settled.push([event.id, event.error?.name ?? 'acked']))
  client.on('unsaved', (event) => seen.unsaved.push([...event.ids]))
  client.on('sendsLost', (event) => seen.lost.push([...event.ids]))
  return { client, seen }
}

describe('LL-SEND-9: a durable outbox', () => {
  it('LL-SEND-9: messages typed offline go out exactly once after a reload', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (m) => void processed.push(m.data) })
    const storage = pageStorage()
    const first = page(w, 'p1', storage)
    first.client.connect()
    await first.client.send('before')
    w.network.client('p1').blackhole() // offline: nothing reaches the server
    void first.client.send('offline 1').catch(() => {})
    void first.client.send('offline 2').catch(() => {})
    await settle()
    expect(first.client.pending).toBe(2)
    first.client.detach() // the reload
    const second = page(w, 'p2', storage)
    expect(second.client.pendingSends.map((s) => s.data)).toEqual([]) // nothing until connect reads the storage
    second.client.connect()
    expect(second.client.pendingSends.map((s) => s.data)).toEqual(['offline 1', 'offline 2'])
    await w.advance(100)
    expect(processed).toEqual(['before', 'offline 1', 'offline 2'])
    expect(second.client.pending).toBe(0)
    expect(second.seen.settled.map(([, outcome]) => outcome)).toEqual(['acked', 'acked'])
    second.client.close()
  })

  it('LL-SEND-9, LL-SEND-8: a reload while sends are in flight processes each exactly once', async () => {
    const processed: unknown[] = []
    let finish: (() => void) | undefined
    const w = await world({
      onMessage: (m) => {
        processed.push(m.data)
        if (m.data === 'slow') return new Promise<void>((resolve) => (finish = resolve))
      },
    })
    const storage = pageStorage()
    const first = page(w, 'p1', storage)
    first.client.connect()
    await w.advance(10)
    for (const data of ['slow', 'a', 'b']) void first.client.send(data).catch(() => {})
    await settle() // written and received; 'slow' is still being processed
    first.client.detach()
    const second = page(w, 'p2', storage)
    second.client.connect()
    await w.advance(10)
    finish?.()
    await second.client.send('after')
    await w.advance(10)
    expect(processed).toEqual(['slow', 'a', 'b', 'after'])
    expect(second.seen.settled.map(([, outcome]) => outcome)).toEqual(['acked', 'acked', 'acked', 'acked'])
    second.client.close()
  })

  it('LL-SEND-9: sends a full storage cannot keep are reported by id, then as lost after the reload', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (m) => void processed.push(m.data) })
    const storage = pageStorage(1500)
    const first = page(w, 'p1', storage)
    first.client.connect()
    await w.advance(10)
    w.network.client('p1').blackhole()
    const ids = Array.from({ length: 6 }, (_, i) => `m${i}`)
    for (const id of ids) void first.client.send('x'.repeat(200), { id }).catch(() => {})
    await settle()
    const unsaved = first.seen.unsaved.at(-1) ?? []
    expect(unsaved.length).toBeGreaterThan(0)
    expect(ids.slice(-unsaved.length)).toEqual(unsaved) // the newest are the ones left out
    first.client.detach()
    const second = page(w, 'p2', storage)
    second.client.connect()
    await w.advance(100)
    expect(second.seen.lost).toEqual([unsaved])
    expect(processed).toHaveLength(ids.length - unsaved.length)
    second.client.close()
  })
})

describe('LL-SEND-10: sends whose outcome a new session cannot know', () => {
  it('LL-SEND-10: after a server restart, sends written before it fail as unknown; sends never written go out', async () => {
    const processed: unknown[] = []
    const onMessage = (m: { data: unknown }) => {
      processed.push(m.data)
      return new Promise<void>(() => {}) // never done: the ack can never come
    }
    const w = await world({ onMessage })
    const client = w.client('c1')
    client.connect()
    await w.advance(10)
    const written = client.send('written').catch((error: unknown) => error)
    await settle()
    // The server dies with 'written' processed and unacked; a new one starts with a new store.
    await w.server.shutdown()
    w.network.client('c1').blackhole()
    const fresh = createServer({
      secret: 'x'.repeat(32),
      clock: w.clock,
      onMessage: (m) => void processed.push(m.data),
    })
    await fresh.attach(w.network.serverTransport())
    const queued = client.send('never written')
    w.network.client('c1').reset()
    for (let i = 0; i < 100; i++) await w.advance(100)
    expect(await written).toBeInstanceOf(OutcomeUnknownError)
    await queued
    expect(processed).toEqual(['written', 'never written'])
    client.close()
  })
})

describe('LL-MEMENTO-8 with an asynchronous storage', () => {
  it('LL-MEMENTO-8: no frame leaves after welcome until the new memento is saved; load may be asynchronous too', async () => {
    const w = await world()
    let stored: StoredSession | undefined
    let release: (() => void) | undefined
    const storage: SessionStorage = {
      persistent: true,
      load: async () => stored,
      save: (session) =>
        new Promise<void>((resolve) => {
          release = () => {
            stored = session
            resolve()
          }
        }),
      clear: async () => {},
    }
    const inner = w.network.client('c1')
    const written: string[] = []
    const transport: ClientTransport = {
      name: 'spy',
      encoding: 'text',
      connect: (handlers) => {
        const link = inner.connect(handlers)
        return {
          send: (payload: Payload) => {
            written.push(String(payload))
            link.send(payload)
          },
          close: (code, reason) => link.close(code, reason),
        }
      },
    }
    const client: LifelineClient = w.client('c1', { storage, transport })
    void client.join('room')
    client.connect()
    await settle()
    expect(client.status.type).toBe('open')
    expect(written.map((text) => JSON.parse(text).type)).toEqual(['hello'])
    release?.()
    await settle()
    expect(stored?.memento).toEqual(expect.any(String))
    expect(written.some((text) => text.includes('"join"'))).toBe(true)
    client.close()
  })
})
