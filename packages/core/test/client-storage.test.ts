import { describe, expect, it } from 'vitest'
import { memoryStorage, type StoredSession, type WebStorageLike, webStorage } from '../src/index.js'

/** sessionStorage as a Map, with switches for the failures browsers produce. */
class FakeWebStorage implements WebStorageLike {
  readonly items = new Map<string, string>()
  failReads = false
  failWrites = false

  getItem(key: string): string | null {
    if (this.failReads) throw new Error('SecurityError')
    return this.items.get(key) ?? null
  }

  setItem(key: string, value: string): void {
    if (this.failWrites) throw new Error('QuotaExceededError')
    this.items.set(key, value)
  }

  removeItem(key: string): void {
    if (this.failWrites) throw new Error('SecurityError')
    this.items.delete(key)
  }
}

const session: StoredSession = {
  memento: 'm1.k1.payload.mac',
  appMemento: 'a1.k1.value.mac',
  cursors: { '': 4, 'room:1': 45 },
}

describe('memoryStorage (LL-MEMENTO-1)', () => {
  it('LL-MEMENTO-1: keeps the session as saved, and forgets it on clear', () => {
    const storage = memoryStorage()
    expect(storage.load()).toBeUndefined()
    storage.save(session)
    expect(storage.load()).toEqual(session)
    storage.save({ memento: 'm2' })
    expect(storage.load()).toEqual({ memento: 'm2' })
    storage.clear()
    expect(storage.load()).toBeUndefined()
  })

  it('LL-MEMENTO-1: can start from an initial session', () => {
    expect(memoryStorage(session).load()).toEqual(session)
  })
})

describe('webStorage (LL-MEMENTO-1, LL-RESUME-1)', () => {
  it('LL-MEMENTO-1: round-trips the memento, app memento and cursors untouched under the default key', () => {
    const backing = new FakeWebStorage()
    const storage = webStorage(backing)
    expect(storage.load()).toBeUndefined()
    storage.save(session)
    expect([...backing.items.keys()]).toEqual(['lifeline.session'])
    expect(JSON.parse(backing.items.get('lifeline.session') ?? 'null')).toEqual(session)
    // A fresh wrapper over the same backing store (a reload) reads the same session.
    expect(webStorage(backing).load()).toEqual(session)
    storage.clear()
    expect(backing.items.size).toBe(0)
    expect(storage.load()).toBeUndefined()
  })

  it('LL-MEMENTO-1: uses the given key, so two clients of one page keep two sessions', () => {
    const backing = new FakeWebStorage()
    const a = webStorage(backing, 'a')
    const b = webStorage(backing, 'b')
    a.save({ memento: 'ma' })
    b.save({ memento: 'mb' })
    expect(a.load()).toEqual({ memento: 'ma' })
    expect(b.load()).toEqual({ memento: 'mb' })
    a.clear()
    expect(b.load()).toEqual({ memento: 'mb' })
  })

  it('LL-MEMENTO-1: unreadable or foreign contents load as nothing, so the client still connects', () => {
    const backing = new FakeWebStorage()
    const storage = webStorage(backing)
    for (const text of ['not json', '42', 'null', '"string"', '']) {
      backing.items.set('lifeline.session', text)
      expect(storage.load()).toBeUndefined()
    }
    backing.items.set('lifeline.session', JSON.stringify(session))
    backing.failReads = true
    expect(storage.load()).toBeUndefined()
  })

  it('LL-SEND-9: a failing save throws, so the client can keep less and say what it could not keep', () => {
    const backing = new FakeWebStorage()
    const storage = webStorage(backing)
    backing.failWrites = true
    expect(() => storage.save(session)).toThrow()
    expect(() => storage.clear()).not.toThrow()
    backing.failWrites = false
    expect(storage.load()).toBeUndefined()
  })
})
