import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { MementoSigner } from '../src/server.js'
import { hello, rawClient, settle, world } from './helpers.js'

const auth = (token: string) => ({ auth: { token } })
const authenticate = (value: unknown) => {
  const token = (value as { token?: string } | undefined)?.token
  if (token === undefined || token.startsWith('bad')) throw new Error('bad token')
  return { subject: token }
}

describe('server handshake', () => {
  it('LL-VERSION-1: picks the first listed version it speaks', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello({ versions: [7, 1] }))
    await settle()
    expect(c.last('welcome')?.version).toBe(1)
  })

  it('LL-VERSION-2: no common version gets bye 4001 and a close', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello({ versions: [2, 3] }))
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.UNSUPPORTED_VERSION, reconnect: false })
    expect(c.closed?.code).toBe(CloseCode.UNSUPPORTED_VERSION)
  })

  it('LL-AUTH-2: failed authentication gets bye 4003 and a close', async () => {
    const w = await world({ authenticate })
    const refused: number[] = []
    w.server.on('refused', (event) => refused.push(event.code))
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello(auth('bad-token')))
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.UNAUTHORIZED, reconnect: false })
    expect(refused).toEqual([CloseCode.UNAUTHORIZED])
  })

  it('LL-AUTH-2: authenticate returning no subject is refused too', async () => {
    const w = await world({ authenticate: () => ({}) as { subject: string } })
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    expect(c.last('bye')?.code).toBe(CloseCode.UNAUTHORIZED)
  })

  it('LL-HELLO-1, LL-FRAME-7: a frame before hello is a protocol error', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    c.send({ type: 'ping' })
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.PROTOCOL_ERROR, reconnect: false })
  })

  it('LL-HELLO-3: no hello within the hello timeout closes with 4103', async () => {
    const w = await world({ helloTimeoutMs: 1000 })
    const c = rawClient(w.network, 'c')
    await settle()
    await w.advance(999)
    expect(c.closed).toBeUndefined()
    await w.advance(1)
    expect(c.last('bye')).toMatchObject({ code: CloseCode.HELLO_TIMEOUT, reconnect: true })
  })

  it('LL-FRAME-4, LL-LIMIT-1: an oversized frame is refused with 4002 before parsing', async () => {
    const w = await world({ maxFrameBytes: 2048 })
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    expect(c.last('welcome')?.limits).toMatchObject({ maxFrameBytes: 2048 })
    c.sendText(`{"type":"send","seq":1,"id":"x","data":"${'y'.repeat(3000)}"}`)
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.FRAME_TOO_LARGE, reconnect: false })
  })

  it('LL-FRAME-5: garbage closes only the offender; its neighbour is untouched', async () => {
    const received: unknown[] = []
    const w = await world({ onMessage: (m) => void received.push(m.data) })
    const bad = rawClient(w.network, 'bad')
    const good = rawClient(w.network, 'good')
    await settle()
    bad.send(hello())
    good.send(hello())
    await settle()
    bad.sendText('{"type":"send",')
    good.send({ type: 'send', seq: 1, id: 'g.1', data: 'fine' })
    await settle()
    expect(bad.last('bye')?.code).toBe(CloseCode.PROTOCOL_ERROR)
    expect(good.closed).toBeUndefined()
    expect(good.last('ack')).toMatchObject({ seq: 1 })
    expect(received).toEqual(['fine'])
    expect(w.server.stats).toMatchObject({ sessions: 2, connected: 1, away: 1 })
  })

  it('LL-FRAME-7: a second hello on an open connection is a protocol error', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    c.send(hello())
    await settle()
    expect(c.last('bye')?.code).toBe(CloseCode.PROTOCOL_ERROR)
  })

  it('LL-SEND-2: a send that skips a seq is a protocol error', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    c.send({ type: 'send', seq: 2, id: 'x.2', data: 1 })
    await settle()
    expect(c.last('bye')?.code).toBe(CloseCode.PROTOCOL_ERROR)
  })

  it('LL-LIMIT-4: sessions per subject are bounded (4104)', async () => {
    const w = await world({ authenticate, maxSessionsPerSubject: 2 })
    const clients = ['a', 'b', 'c'].map((id) => rawClient(w.network, id))
    await settle()
    for (const c of clients) c.send(hello(auth('alice')))
    await settle()
    expect(clients.map((c) => c.last('welcome') !== undefined)).toEqual([true, true, false])
    expect(clients[2]?.last('bye')).toMatchObject({ code: CloseCode.TOO_MANY_SESSIONS, reconnect: true })
  })

  it('LL-LIMIT-4: sessions in all are bounded (4101 OVERLOADED)', async () => {
    const w = await world({ maxSessions: 1 })
    const a = rawClient(w.network, 'a')
    const b = rawClient(w.network, 'b')
    await settle()
    a.send(hello())
    b.send(hello())
    await settle()
    expect(b.last('bye')?.code).toBe(CloseCode.OVERLOADED)
  })
})

describe('server resume decisions', () => {
  async function opened(options: Parameters<typeof world>[0] = {}) {
    const w = await world({ authenticate, graceMs: 10_000, ...options })
    const first = rawClient(w.network, 'first')
    await settle()
    first.send(hello(auth('alice')))
    await settle()
    const welcome = first.last('welcome') as { sid: string; memento: string }
    return { w, first, welcome }
  }

  async function resume(w: Awaited<ReturnType<typeof opened>>['w'], memento: string, token = 'alice') {
    const c = rawClient(w.network, `r${Math.random()}`)
    await settle()
    c.send(hello({ ...auth(token), resume: { memento, seq: 0 } }))
    await settle()
    return c
  }

  it('LL-MEMENTO-3: the sid is not a memento', async () => {
    const { w, welcome } = await opened()
    const c = await resume(w, welcome.sid)
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    expect(welcome.memento).not.toContain(welcome.sid)
  })

  it('LL-MEMENTO-2: a memento with any character changed is invalid', async () => {
    const { w, welcome } = await opened()
    // The character before the last (the last may carry unused base64 bits), always changed.
    const at = welcome.memento.length - 2
    const flipped = `${welcome.memento.slice(0, at)}${welcome.memento[at] === 'A' ? 'B' : 'A'}${welcome.memento.slice(-1)}`
    const c = await resume(w, flipped)
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
  })

  it('LL-AUTH-5: another subject cannot resume the session', async () => {
    const { w, welcome } = await opened()
    const c = await resume(w, welcome.memento, 'mallory')
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    expect(c.last('welcome')?.sid).not.toBe(welcome.sid)
  })

  it('LL-MEMENTO-4: an expired memento is not resumable, judged on server time', async () => {
    const { w, first, welcome } = await opened({ mementoTtlMs: 5000, graceMs: 60_000 })
    first.close()
    await w.advance(5001)
    const c = await resume(w, welcome.memento)
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'expired' })
  })

  it('LL-RESUME-4: a session that ended answers expired; one never seen answers unknown', async () => {
    const { w, first, welcome } = await opened({ graceMs: 1000 })
    first.close()
    await w.advance(1001)
    const ended = await resume(w, welcome.memento)
    expect(ended.last('welcome')).toMatchObject({ resumed: false, reason: 'expired' })
    const other = new MementoSigner({ keys: { k1: 'x'.repeat(32) }, currentKeyId: 'k1' })
    const stranger = other.issue({ sid: 's_never', sub: 'alice', gen: 0, exp: 1e12 })
    const unknown = await resume(w, stranger)
    expect(unknown.last('welcome')).toMatchObject({ resumed: false, reason: 'unknown' })
  })

  it('LL-RESUME-9: failed resumes are rate limited per source (4102)', async () => {
    const { w } = await opened({ maxFailedResumesPerMinute: 2 })
    const source = rawClient(w.network, 'attacker')
    await settle()
    source.send(hello({ ...auth('alice'), resume: { memento: 'm1.k1.AAAA.BBBB', seq: 0 } }))
    await settle()
    const results: unknown[] = []
    for (let i = 0; i < 3; i++) {
      const c = rawClient(w.network, 'attacker')
      await settle()
      c.send(hello({ ...auth('alice'), resume: { memento: 'm1.k1.AAAA.BBBB', seq: 0 } }))
      await settle()
      results.push(c.last('bye')?.code ?? c.last('welcome')?.reason)
    }
    expect(results).toEqual(['invalid', CloseCode.RATE_LIMITED, CloseCode.RATE_LIMITED])
    await w.advance(60_000)
    const later = rawClient(w.network, 'attacker')
    await settle()
    later.send(hello({ ...auth('alice'), resume: { memento: 'm1.k1.AAAA.BBBB', seq: 0 } }))
    await settle()
    expect(later.last('welcome')?.reason).toBe('invalid')
  })

  it('LL-AUTH-1: a resume is authenticated like any hello, and a failure leaves the session alone', async () => {
    const { w, welcome } = await opened()
    const c = await resume(w, welcome.memento, 'bad')
    expect(c.last('bye')?.code).toBe(CloseCode.UNAUTHORIZED)
    expect(w.server.session(welcome.sid)).toBeDefined()
    expect(w.server.stats.connected).toBe(1)
  })

  it('LL-RESUME-8: the same client instance supersedes its own connection without a fatal code', async () => {
    const w = await world({ authenticate })
    const a = rawClient(w.network, 'a')
    await settle()
    a.send(hello({ ...auth('alice'), cid: 'tab-1' }))
    await settle()
    const memento = a.last('welcome')?.memento
    const b = rawClient(w.network, 'b')
    await settle()
    b.send(hello({ ...auth('alice'), cid: 'tab-1', resume: { memento, seq: 0 } }))
    await settle()
    expect(a.last('bye')).toMatchObject({ code: CloseCode.SUPERSEDED, reconnect: true })
    expect(b.last('welcome')).toMatchObject({ resumed: true })
  })

  it('LL-MEMENTO-6: a long-lived connection gets a fresh memento at half-life', async () => {
    const w = await world({ mementoTtlMs: 60_000, heartbeatMs: 10_000 })
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    const keepAlive = async (ms: number) => {
      for (let t = 0; t < ms; t += 5000) {
        c.send({ type: 'pong' })
        await w.advance(5000)
      }
    }
    await keepAlive(25_000)
    expect(c.last('memento')).toBeUndefined()
    await keepAlive(10_000)
    const fresh = c.last('memento')?.memento
    expect(typeof fresh).toBe('string')
    expect(fresh).not.toBe(c.last('welcome')?.memento)
  })
})
