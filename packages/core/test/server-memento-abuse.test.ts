/**
 * Memento abuse against a running server: flipped bits, truncations, expired, reused after rotation,
 * another subject's, signed with a retired key. Each is refused (a new session, or 4102 once the limit
 * is reached), never resumes the victim's session nor shows its data, and the victim still resumes.
 */
import { CloseCode } from '@lifeline/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MementoSigner } from '../src/server.js'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

const authenticate = (auth: unknown) => ({
  subject: String((auth as { token?: unknown })?.token ?? 'anonymous'),
})
const SECRET = 'k'.repeat(32)

async function setup(options: Parameters<typeof world>[0] = {}) {
  const w = await world({
    keys: { k1: SECRET },
    currentKeyId: 'k1',
    authenticate,
    graceMs: 600_000,
    // Every attempt below is its own address, so the limiter never decides these cases.
    resumeLimitKey: () => undefined,
    ...options,
  })
  const victim = rawClient(w.network, 'victim')
  await settle()
  victim.send(hello({ auth: { token: 'alice' } }))
  await settle()
  const welcome = victim.last('welcome') as { sid: string; memento: string }
  w.network.client('victim').reset()
  await settle()
  // What the victim's session holds while it is away: nobody else may ever see it.
  for (let i = 0; i < 3; i++) await w.server.send(welcome.sid, { secret: `alice-${i}` })
  let n = 0
  const attempt = async (memento: string, token = 'alice'): Promise<RawClient> => {
    const c = rawClient(w.network, `attacker-${n++}`)
    await settle(1)
    c.send(hello({ auth: { token }, resume: { memento, seq: 0 } }))
    await settle()
    return c
  }
  /** The attempt did not get the victim's session nor any of its data. */
  const refused = (c: RawClient) => {
    const seen = JSON.stringify(c.frames)
    expect(seen).not.toContain('alice-')
    expect(c.last('welcome')?.sid).not.toBe(welcome.sid)
    if (c.last('welcome') !== undefined) {
      expect(c.last('welcome')).toMatchObject({ resumed: false })
      c.send({ type: 'bye' }) // ends the fresh session at once, as an attacker's script might not
    }
    // No welcome: refused over the limit, or the hello itself is invalid (a character outside the token alphabet).
    else expect([CloseCode.RATE_LIMITED, CloseCode.PROTOCOL_ERROR]).toContain(c.last('bye')?.code)
    c.close()
  }
  /** The victim resumes afterwards and gets everything it was owed. */
  const victimResumes = async (memento = welcome.memento) => {
    const again = rawClient(w.network, 'victim-again')
    await settle()
    again.send(hello({ auth: { token: 'alice' }, resume: { memento, seq: 0 } }))
    await settle()
    expect(again.last('welcome')).toMatchObject({ sid: welcome.sid, resumed: true, recovered: true })
    expect(again.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual([
      { secret: 'alice-0' },
      { secret: 'alice-1' },
      { secret: 'alice-2' },
    ])
    return again
  }
  return { w, welcome, attempt, refused, victimResumes }
}

describe('memento abuse: rejected, never another session, the victim unharmed', () => {
  it('LL-MEMENTO-2: 300 random bit flips and truncations of a valid memento (fast-check)', async () => {
    const t = await setup()
    const token = t.welcome.memento
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(fc.nat(token.length - 1), fc.integer({ min: 0, max: 5 })).map(([at, bit]) => {
            const code = token.charCodeAt(at) ^ (1 << bit)
            return token.slice(0, at) + String.fromCharCode(code) + token.slice(at + 1)
          }),
          fc.nat(token.length - 1).map((at) => token.slice(0, at)),
          fc.nat(token.length - 1).map((at) => token.slice(0, at) + token.slice(at + 1)),
        ),
        async (bad) => {
          fc.pre(bad !== token && bad.length > 0)
          t.refused(await t.attempt(bad))
        },
      ),
      { numRuns: 300 },
    )
    await t.victimResumes()
  })

  it('LL-AUTH-5: the victim memento presented by another subject', async () => {
    const t = await setup()
    const c = await t.attempt(t.welcome.memento, 'mallory')
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    t.refused(c)
    await t.victimResumes()
  })

  it('LL-MEMENTO-4: an expired memento, judged on server time', async () => {
    const t = await setup({ mementoTtlMs: 10_000 })
    await t.w.advance(10_001)
    const c = await t.attempt(t.welcome.memento)
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'expired' })
    t.refused(c)
  })

  it('LL-MEMENTO-5: a memento reused after its rotation was proven', async () => {
    const t = await setup()
    const again = await t.victimResumes()
    const rotated = again.last('welcome')?.memento as string
    again.send({ type: 'ping' }) // proves the client holds the new memento
    await settle()
    again.close()
    await settle()
    const c = await t.attempt(t.welcome.memento)
    expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    expect(JSON.stringify(c.frames)).not.toContain('alice-')
    expect(rotated).not.toBe(t.welcome.memento)
  })

  it('LL-MEMENTO-3: a memento signed with a retired key, or a key the server never had, for a live session', async () => {
    const t = await setup()
    const claims = { sid: t.welcome.sid, sub: 'alice', gen: 0, exp: Date.now() + 1e9 }
    const retired = new MementoSigner({ keys: { k0: 'r'.repeat(32) }, currentKeyId: 'k0' }).issue(claims)
    const forged = new MementoSigner({ keys: { k1: 'f'.repeat(32) }, currentKeyId: 'k1' }).issue(claims)
    for (const [token, reason] of [
      [retired, 'retired'],
      [forged, 'invalid'],
    ]) {
      const c = await t.attempt(token as string)
      expect(c.last('welcome')).toMatchObject({ resumed: false, reason })
      t.refused(c)
    }
    await t.victimResumes()
  })

  it('LL-RESUME-9: past the limit, failing resumes get 4102 and the valid one still resumes', async () => {
    const t = await setup({ maxFailedResumesPerMinute: 5, resumeLimitKey: () => 'one key for all' })
    const codes: unknown[] = []
    for (let i = 0; i < 12; i++) {
      const c = await t.attempt(`${t.welcome.memento.slice(0, -2)}xx`)
      codes.push(c.last('bye')?.code ?? c.last('welcome')?.reason)
      t.refused(c)
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('invalid'))
    expect(codes.slice(5)).toEqual(Array(7).fill(CloseCode.RATE_LIMITED))
    await t.victimResumes()
  })
})
