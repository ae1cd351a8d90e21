import { CloseCode } from '@lifeline/protocol'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Logger, PublicError } from '../src/index.js'
import { MemoryStore, type SessionStore } from '../src/server.js'
import { SimulatedClock } from '../src/testing.js'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

function capture(): Logger & { errors: Array<[string, unknown]> } {
  const errors: Array<[string, unknown]> = []
  return { errors, error: (message, fields) => void errors.push([message, fields?.error]), warn: () => {} }
}

async function open(w: Awaited<ReturnType<typeof world>>, id: string, extra = {}): Promise<RawClient> {
  const c = rawClient(w.network, id)
  await settle()
  c.send(hello(extra))
  await settle()
  return c
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('LL-LIMIT-11: what a client reads of a failure is deliberate; every failure is logged', () => {
  it('LL-LIMIT-11: an app hook error reaches the client as a generic reason, and the logger gets it', async () => {
    const logger = capture()
    const secret = 'connect ECONNREFUSED 10.0.0.5:5432 (db password=hunter2)'
    const w = await world({
      logger,
      authenticate: (auth) => {
        if (auth === 'crash') throw new Error(secret)
        return { subject: 'alice' }
      },
      onMessage: () => {
        throw new Error(secret)
      },
      onJoin: async () => {
        throw new Error(secret)
      },
    })
    const refused = await open(w, 'refused', { auth: 'crash' })
    expect(refused.last('bye')).toMatchObject({ code: CloseCode.UNAUTHORIZED, reason: 'unauthorized' })
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 1 })
    c.send({ type: 'join', topic: 'room' })
    await settle()
    expect(c.last('error')).toMatchObject({ code: CloseCode.REJECTED, reason: 'rejected', ref: 1 })
    expect(c.last('join_error')).toMatchObject({ code: CloseCode.JOIN_FAILED, reason: 'join failed' })
    const wire = JSON.stringify([...refused.frames, ...c.frames])
    expect(wire).not.toContain('hunter2')
    expect(logger.errors.map(([message]) => message)).toEqual([
      'authenticate failed',
      'onMessage failed',
      'onJoin failed',
    ])
    expect(logger.errors.every(([, error]) => (error as Error).message === secret)).toBe(true)
  })

  it('LL-LIMIT-11: a PublicError is the app saying what the client may read', async () => {
    const logger = capture()
    const w = await world({
      logger,
      onMessage: () => {
        throw new PublicError('messages are closed for today')
      },
    })
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 1 })
    await settle()
    expect(c.last('error')).toMatchObject({ reason: 'messages are closed for today' })
    expect(logger.errors).toEqual([])
  })

  it('LL-LIMIT-11: a failing store write is logged by default, with nobody listening', async () => {
    const clock = new SimulatedClock()
    const memory = new MemoryStore(clock)
    const store: SessionStore = Object.assign(Object.create(memory) as MemoryStore, {
      putSession: async () => {
        throw new Error('disk full')
      },
    })
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    const w = await world({ store, clock })
    await open(w, 'c')
    await settle()
    expect(spy).toHaveBeenCalled()
    expect(String(spy.mock.calls[0]?.[0])).toContain('putSession failed')
    expect(spy.mock.calls[0]?.[1]).toMatchObject({ error: { message: 'disk full' } })
  })

  it('LL-LIMIT-11: a logger that throws does not take the server down', async () => {
    const w = await world({
      logger: {
        error: () => {
          throw new Error('logger broken')
        },
        warn: () => {},
      },
      onMessage: () => {
        throw new Error('boom')
      },
    })
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 1 })
    c.send({ type: 'send', seq: 2, id: 'c.2', data: 2 })
    await settle()
    expect(c.last('ack')).toMatchObject({ seq: 2 })
    expect(c.closed).toBeUndefined()
  })
})
