import { describe, expect, it } from 'vitest'
import { browserEnvironment, type EnvironmentHandlers, inertEnvironment } from '../src/index.js'

type Listener = () => void

/** An event target that keeps its listeners, as window and document do. */
class FakeTarget {
  readonly listeners = new Map<string, Set<Listener>>()

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(type, set)
    }
    set.add(listener)
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener)
  }

  dispatch(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener()
  }

  get count(): number {
    let count = 0
    for (const set of this.listeners.values()) count += set.size
    return count
  }
}

class FakeDocument extends FakeTarget {
  visibilityState = 'visible'
}

class FakeWindow extends FakeTarget {
  navigator: { onLine?: boolean } = { onLine: true }
  readonly document: FakeDocument | undefined
  constructor(withDocument = true) {
    super()
    this.document = withDocument ? new FakeDocument() : undefined
  }
}

function recorder(): { calls: string[]; handlers: EnvironmentHandlers } {
  const calls: string[] = []
  return {
    calls,
    handlers: {
      online: () => calls.push('online'),
      offline: () => calls.push('offline'),
      visible: () => calls.push('visible'),
      hidden: () => calls.push('hidden'),
    },
  }
}

describe('browserEnvironment (LL-BEAT-4)', () => {
  it('LL-BEAT-4: reports online, offline, pagehide and visibility changes to the handlers', () => {
    const win = new FakeWindow()
    const doc = win.document ?? new FakeDocument()
    const environment = browserEnvironment(win)
    const { calls, handlers } = recorder()
    environment.subscribe(handlers)
    win.dispatch('offline')
    win.dispatch('online')
    win.dispatch('pagehide')
    doc.visibilityState = 'hidden'
    doc.dispatch('visibilitychange')
    doc.visibilityState = 'visible'
    doc.dispatch('visibilitychange')
    expect(calls).toEqual(['offline', 'online', 'hidden', 'hidden', 'visible'])
  })

  it('LL-BEAT-4: isOnline follows navigator.onLine, and is true when it is unknown', () => {
    const win = new FakeWindow()
    const environment = browserEnvironment(win)
    expect(environment.isOnline()).toBe(true)
    win.navigator.onLine = false
    expect(environment.isOnline()).toBe(false)
    win.navigator = {}
    expect(environment.isOnline()).toBe(true)
    const bare = new FakeWindow()
    Reflect.deleteProperty(bare, 'navigator')
    expect(browserEnvironment(bare).isOnline()).toBe(true)
  })

  it('LL-BEAT-4: listens on window for online/offline/pagehide and on document for visibilitychange', () => {
    const win = new FakeWindow()
    const doc = win.document ?? new FakeDocument()
    browserEnvironment(win).subscribe(recorder().handlers)
    expect([...win.listeners.keys()].sort()).toEqual(['offline', 'online', 'pagehide'])
    expect([...doc.listeners.keys()]).toEqual(['visibilitychange'])
    expect(win.count).toBe(3)
    expect(doc.count).toBe(1)
  })

  it('LL-BEAT-4: the unsubscribe function removes every listener it added, and only those', () => {
    const win = new FakeWindow()
    const doc = win.document ?? new FakeDocument()
    const other: Listener = () => {}
    win.addEventListener('online', other)
    doc.addEventListener('visibilitychange', other)
    const environment = browserEnvironment(win)
    const first = recorder()
    const second = recorder()
    const stopFirst = environment.subscribe(first.handlers)
    const stopSecond = environment.subscribe(second.handlers)
    expect(win.count).toBe(7)
    stopFirst()
    expect(win.count).toBe(4)
    expect(doc.count).toBe(2)
    win.dispatch('online')
    doc.dispatch('visibilitychange')
    expect(first.calls).toEqual([])
    expect(second.calls).toEqual(['online', 'visible'])
    stopSecond()
    expect(win.count).toBe(1)
    expect(doc.count).toBe(1)
    expect(win.listeners.get('online')?.has(other)).toBe(true)
    win.dispatch('offline')
    win.dispatch('pagehide')
    expect(second.calls).toEqual(['online', 'visible'])
  })

  it('LL-BEAT-4: is inert without a document (a worker, Node)', () => {
    const win = new FakeWindow(false)
    const environment = browserEnvironment(win)
    expect(environment).toBe(inertEnvironment)
    const { calls, handlers } = recorder()
    const stop = environment.subscribe(handlers)
    win.dispatch('offline')
    expect(calls).toEqual([])
    expect(win.count).toBe(0)
    expect(environment.isOnline()).toBe(true)
    stop()
  })

  it('LL-BEAT-4: is inert without addEventListener, and for non-objects', () => {
    expect(browserEnvironment({ document: new FakeDocument() })).toBe(inertEnvironment)
    expect(browserEnvironment(undefined)).toBe(inertEnvironment)
    expect(browserEnvironment({})).toBe(inertEnvironment)
  })

  it('LL-BEAT-4: defaults to globalThis, which under Node has no document: inert', () => {
    expect(browserEnvironment()).toBe(inertEnvironment)
  })

  it('LL-BEAT-4: the inert environment is always online and its unsubscribe is harmless', () => {
    const { calls, handlers } = recorder()
    expect(inertEnvironment.isOnline()).toBe(true)
    const stop = inertEnvironment.subscribe(handlers)
    stop()
    stop()
    expect(calls).toEqual([])
  })
})
