import { createHmac } from 'node:crypto'
import { MAX_APP_MEMENTO_LENGTH, MAX_MEMENTO_LENGTH } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { type MementoClaims, MementoSigner } from '../src/server/memento.js'
import { seededRandom } from '../src/testing/simulated-clock.js'

const KEY_1 = 'k1-secret-k1-secret-k1-secret-k1-secret'
const KEY_2 = new Uint8Array(32).fill(7)
const CLAIMS: MementoClaims = { sid: 's-123', sub: 'user:1', gen: 3, exp: 1_700_000_000_000 }
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Deterministic bytes, so tokens are reproducible. */
function seededBytes(seed: number): (size: number) => Uint8Array {
  const random = seededRandom(seed)
  return (size) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256))
}

function signer(
  keys: Record<string, string | Uint8Array> = { k1: KEY_1 },
  currentKeyId = 'k1',
): MementoSigner {
  return new MementoSigner({ keys, currentKeyId, randomBytes: seededBytes(1) })
}

/** Signs an arbitrary payload with a real key, to reach the checks that run after the MAC. */
function forge(prefix: string, kid: string, key: string | Uint8Array, payloadJson: string): string {
  const signed = `${prefix}.${kid}.${Buffer.from(payloadJson, 'utf8').toString('base64url')}`
  return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`
}

function flips(token: string): string[] {
  const out: string[] = []
  for (let i = 0; i < token.length; i++) {
    for (const c of B64URL) {
      if (c !== token[i]) out.push(token.slice(0, i) + c + token.slice(i + 1))
    }
  }
  return out
}

describe('MementoSigner construction', () => {
  it('refuses keys shorter than 32 bytes, with the key id in the message', () => {
    expect(() => signer({ k1: 'short' })).toThrow(/"k1" is 5 bytes; at least 32/)
    expect(() => signer({ k1: new Uint8Array(31) })).toThrow(/31 bytes/)
    // 32 UTF-8 bytes from 16 two-byte characters is enough.
    expect(() => signer({ k1: 'é'.repeat(16) })).not.toThrow()
  })

  it('refuses a currentKeyId that is not in keys, including prototype names', () => {
    expect(() => signer({ k1: KEY_1 }, 'k2')).toThrow(/currentKeyId "k2" is not in keys/)
    expect(() => signer({ k1: KEY_1 }, 'constructor')).toThrow(/not in keys/)
    expect(() => signer({ k1: KEY_1 }, '__proto__')).toThrow(/not in keys/)
  })

  it('refuses key ids that would break the token format', () => {
    expect(() => signer({ 'k.1': KEY_1 }, 'k.1')).toThrow(/key id "k.1"/)
    expect(() => signer({ '': KEY_1 }, '')).toThrow(/key id ""/)
  })

  it('copies key bytes, so mutating the caller buffer changes nothing', () => {
    const key = new Uint8Array(32).fill(1)
    const s = signer({ k1: key })
    const token = s.issue(CLAIMS)
    key.fill(2)
    expect(s.verify(token).ok).toBe(true)
  })

  it('uses crypto.randomBytes by default', () => {
    const s = new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1' })
    expect(s.issue(CLAIMS)).not.toBe(s.issue(CLAIMS))
  })

  it('refuses a randomBytes source that returns the wrong size', () => {
    const s = new MementoSigner({
      keys: { k1: KEY_1 },
      currentKeyId: 'k1',
      randomBytes: () => new Uint8Array(4),
    })
    expect(() => s.issue(CLAIMS)).toThrow(/16 bytes/)
  })
})

describe('LL-MEMENTO-2 LL-MEMENTO-4 mementos', () => {
  it('round-trips the claims, in the m1.<kid>.<payload>.<mac> format', () => {
    const s = signer()
    const token = s.issue(CLAIMS)
    expect(token).toMatch(/^m1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    expect(s.verify(token)).toEqual({ ok: true, claims: CLAIMS })
  })

  it('carries sid, sub, gen, exp and a 16-byte nonce in the payload', () => {
    const token = signer().issue(CLAIMS)
    const payload = JSON.parse(Buffer.from(token.split('.')[2] ?? '', 'base64url').toString('utf8'))
    expect(Object.keys(payload)).toEqual(['sid', 'sub', 'gen', 'exp', 'n'])
    expect(Buffer.from(payload.n, 'base64url')).toHaveLength(16)
  })

  it('returns only the four claims, as a fresh object', () => {
    const s = signer()
    const result = s.verify(forge('m1', 'k1', KEY_1, JSON.stringify({ ...CLAIMS, n: 'x', extra: true })))
    expect(result).toEqual({ ok: true, claims: CLAIMS })
  })

  it('refuses to issue invalid claims', () => {
    const s = signer()
    expect(() => s.issue({ ...CLAIMS, gen: -1 })).toThrow(TypeError)
    expect(() => s.issue({ ...CLAIMS, gen: 1.5 })).toThrow(TypeError)
    expect(() => s.issue({ ...CLAIMS, exp: Number.MAX_SAFE_INTEGER + 1 })).toThrow(TypeError)
    expect(() => s.issue({ ...CLAIMS, exp: Number.NaN })).toThrow(TypeError)
    expect(() => s.issue({ ...CLAIMS, sid: 1 } as unknown as MementoClaims)).toThrow(TypeError)
  })

  it('refuses to issue a memento longer than MAX_MEMENTO_LENGTH', () => {
    expect(() => signer().issue({ ...CLAIMS, sub: 'x'.repeat(MAX_MEMENTO_LENGTH) })).toThrow(RangeError)
  })

  it('fails every single-character change of the token', () => {
    const s = signer()
    const token = s.issue(CLAIMS)
    const variants = flips(token)
    // 63 other characters per base64url position, 64 for each of the three dots.
    expect(variants.length).toBe(token.length * 63 + 3)
    for (const variant of variants) {
      expect(s.verify(variant).ok, variant).toBe(false)
    }
  })

  it('refuses a non-canonical MAC encoding with the same decoded bytes', () => {
    const s = signer()
    const token = s.issue(CLAIMS)
    // The last of 43 base64url characters carries 4 data bits and 2 padding bits.
    const lastIndex = B64URL.indexOf(token.at(-1) ?? '')
    const sameBytes = `${token.slice(0, -1)}${B64URL[lastIndex ^ 1]}`
    expect(Buffer.from(sameBytes.split('.')[3] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[3] ?? '', 'base64url'),
    )
    expect(s.verify(sameBytes)).toEqual({ ok: false, reason: 'bad-signature' })
  })

  it('fails every truncation of the token', () => {
    const s = signer()
    const token = s.issue(CLAIMS)
    for (let length = 0; length < token.length; length++) {
      expect(s.verify(token.slice(0, length)).ok).toBe(false)
    }
  })

  it('reports the failure reasons', () => {
    const s = signer()
    const [prefix, kid, payload, mac] = s.issue(CLAIMS).split('.') as [string, string, string, string]
    expect(s.verify('')).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`${prefix}.${kid}.${payload}`)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`${prefix}.${kid}.${payload}.${mac}.x`)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`${prefix}.${kid}.${payload}.${mac}=`)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`${prefix}.${kid}..${mac}`)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`v1.${kid}.${payload}.${mac}`)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify(`${prefix}.k9.${payload}.${mac}`)).toEqual({ ok: false, reason: 'unknown-key' })
    expect(s.verify(`${prefix}.${kid}.${payload}.${mac.slice(1)}`)).toEqual({
      ok: false,
      reason: 'bad-signature',
    })
    expect(s.verify(`${prefix}.${kid}.${payload}.${mac}A`)).toEqual({ ok: false, reason: 'bad-signature' })
    // The MAC is checked before the payload is parsed: an unparsable payload with a wrong MAC is a bad signature.
    expect(s.verify(`${prefix}.${kid}.AAAA.${mac}`)).toEqual({ ok: false, reason: 'bad-signature' })
    expect(s.verify(undefined as unknown as string)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('treats prototype names as unknown key ids', () => {
    const s = signer()
    const [, , payload, mac] = s.issue(CLAIMS).split('.') as [string, string, string, string]
    for (const kid of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(s.verify(`m1.${kid}.${payload}.${mac}`)).toEqual({ ok: false, reason: 'unknown-key' })
    }
  })

  it('fails under a different key with the same key id', () => {
    const token = signer({ k1: KEY_1 }).issue(CLAIMS)
    expect(signer({ k1: KEY_2 }).verify(token)).toEqual({ ok: false, reason: 'bad-signature' })
  })

  it('verifies tokens of a rotated-out current key while that key is kept, and not after', () => {
    const old = signer({ k1: KEY_1 }, 'k1')
    const rotated = signer({ k1: KEY_1, k2: KEY_2 }, 'k2')
    const oldToken = old.issue(CLAIMS)
    const newToken = rotated.issue(CLAIMS)
    expect(newToken.startsWith('m1.k2.')).toBe(true)
    expect(rotated.verify(oldToken)).toEqual({ ok: true, claims: CLAIMS })
    expect(rotated.verify(newToken)).toEqual({ ok: true, claims: CLAIMS })
    expect(old.verify(newToken)).toEqual({ ok: false, reason: 'unknown-key' })
    const retired = signer({ k2: KEY_2 }, 'k2')
    expect(retired.verify(oldToken)).toEqual({ ok: false, reason: 'unknown-key' })
    expect(retired.verify(newToken).ok).toBe(true)
  })

  it('refuses tokens over MAX_MEMENTO_LENGTH before any crypto', () => {
    const s = signer()
    const long = forge('m1', 'k1', KEY_1, JSON.stringify({ ...CLAIMS, n: 'x'.repeat(MAX_MEMENTO_LENGTH) }))
    expect(long.length).toBeGreaterThan(MAX_MEMENTO_LENGTH)
    expect(s.verify(long)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verify('m1.k1.'.padEnd(MAX_MEMENTO_LENGTH + 1, 'A'))).toEqual({ ok: false, reason: 'malformed' })
  })

  it('accepts a token of exactly MAX_MEMENTO_LENGTH', () => {
    const s = signer()
    // Each 3 bytes of JSON are 4 base64url characters; grow n until the token lands on the limit.
    let n = ''
    let token = forge('m1', 'k1', KEY_1, JSON.stringify({ ...CLAIMS, n }))
    while (token.length < MAX_MEMENTO_LENGTH) {
      n += 'x'
      token = forge('m1', 'k1', KEY_1, JSON.stringify({ ...CLAIMS, n }))
    }
    expect(token.length).toBe(MAX_MEMENTO_LENGTH)
    expect(s.verify(token)).toEqual({ ok: true, claims: CLAIMS })
  })

  it('refuses signed payloads that are not objects of the exact field types', () => {
    const s = signer()
    const bad = [
      'null',
      '[]',
      '"m1"',
      '42',
      'true',
      '{',
      '{}',
      JSON.stringify([CLAIMS.sid, CLAIMS.sub, CLAIMS.gen, CLAIMS.exp, 'n']),
      JSON.stringify({ ...CLAIMS, n: 1 }),
      JSON.stringify({ sub: CLAIMS.sub, gen: 1, exp: 1, n: 'x' }),
      JSON.stringify({ ...CLAIMS, sid: 5, n: 'x' }),
      JSON.stringify({ ...CLAIMS, sub: null, n: 'x' }),
      JSON.stringify({ ...CLAIMS, gen: '3', n: 'x' }),
      JSON.stringify({ ...CLAIMS, gen: -1, n: 'x' }),
      JSON.stringify({ ...CLAIMS, gen: 1.5, n: 'x' }),
      JSON.stringify({ ...CLAIMS, exp: 2 ** 53, n: 'x' }),
      '{"sid":"s","sub":"u","gen":1,"exp":1e400,"n":"x"}',
    ]
    for (const json of bad) {
      expect(s.verify(forge('m1', 'k1', KEY_1, json)), json).toEqual({ ok: false, reason: 'malformed' })
    }
  })

  it('does not take claims from prototype keys', () => {
    const s = signer()
    const viaProto = `{"__proto__":${JSON.stringify({ ...CLAIMS, n: 'x' })}}`
    expect(s.verify(forge('m1', 'k1', KEY_1, viaProto))).toEqual({ ok: false, reason: 'malformed' })
    const viaConstructor = `{"constructor":{"prototype":${JSON.stringify({ ...CLAIMS, n: 'x' })}}}`
    expect(s.verify(forge('m1', 'k1', KEY_1, viaConstructor))).toEqual({ ok: false, reason: 'malformed' })
    expect(({} as Record<string, unknown>).sid).toBeUndefined()
  })
})

describe('LL-MEMENTO-3 mementos are unguessable from the sid', () => {
  it('never equals or contains the sid as a token part, and differs per issue for equal claims', () => {
    const s = new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1', randomBytes: seededBytes(9) })
    const tokens = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const token = s.issue(CLAIMS)
      expect(token).not.toBe(CLAIMS.sid)
      expect(token.split('.')).not.toContain(CLAIMS.sid)
      tokens.add(token)
    }
    expect(tokens.size).toBe(100)
  })

  it('depends on the nonce, not on the sid alone', () => {
    const a = new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1', randomBytes: seededBytes(1) })
    const b = new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1', randomBytes: seededBytes(2) })
    const c = new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1', randomBytes: seededBytes(1) })
    expect(a.issue(CLAIMS)).not.toBe(b.issue(CLAIMS))
    // Deterministic for an injected source.
    expect(
      new MementoSigner({ keys: { k1: KEY_1 }, currentKeyId: 'k1', randomBytes: seededBytes(1) }).issue(
        CLAIMS,
      ),
    ).toBe(c.issue(CLAIMS))
  })
})

describe('LL-APPM-1 LL-APPM-4 app mementos', () => {
  it('round-trips JSON values for the subject, in the a1.<kid>.<payload>.<mac> format', () => {
    const s = signer()
    for (const value of [null, 0, 'text', [1, 2], { doc: 9, at: 812, nested: { ok: true } }]) {
      const token = s.issueAppMemento('user:1', value)
      expect(token).toMatch(/^a1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
      expect(s.verifyAppMemento(token, 'user:1')).toEqual({ ok: true, value })
    }
  })

  it('refuses an app memento of another subject', () => {
    const s = signer()
    const token = s.issueAppMemento('user:1', { at: 1 })
    expect(s.verifyAppMemento(token, 'user:2')).toEqual({ ok: false, reason: 'wrong-subject' })
    expect(s.verifyAppMemento(token, '')).toEqual({ ok: false, reason: 'wrong-subject' })
  })

  it('refuses values JSON cannot carry', () => {
    const s = signer()
    expect(() => s.issueAppMemento('u', undefined)).toThrow(/not JSON-serializable/)
    expect(() => s.issueAppMemento('u', () => 1)).toThrow(/not JSON-serializable/)
    expect(() => s.issueAppMemento('u', 1n)).toThrow(/not JSON-serializable/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => s.issueAppMemento('u', cyclic)).toThrow(/not JSON-serializable/)
    expect(() => s.issueAppMemento(1 as unknown as string, 1)).toThrow(TypeError)
  })

  it('refuses to issue, and to verify, app mementos over MAX_APP_MEMENTO_LENGTH', () => {
    const s = signer()
    expect(() => s.issueAppMemento('u', 'x'.repeat(MAX_APP_MEMENTO_LENGTH))).toThrow(RangeError)
    const long = forge('a1', 'k1', KEY_1, JSON.stringify({ sub: 'u', v: 'x'.repeat(MAX_APP_MEMENTO_LENGTH) }))
    expect(s.verifyAppMemento(long, 'u')).toEqual({ ok: false, reason: 'malformed' })
    // Longer than a memento may be, yet within the app memento limit.
    const big = s.issueAppMemento('u', 'x'.repeat(2000))
    expect(big.length).toBeGreaterThan(MAX_MEMENTO_LENGTH)
    expect(s.verifyAppMemento(big, 'u').ok).toBe(true)
  })

  it('fails every single-character change of the token', () => {
    const s = signer()
    const token = s.issueAppMemento('user:1', { at: 812 })
    for (const variant of flips(token)) expect(s.verifyAppMemento(variant, 'user:1').ok, variant).toBe(false)
  })

  it('fails every truncation, an unknown key and a wrong key', () => {
    const s = signer()
    const token = s.issueAppMemento('user:1', 1)
    for (let length = 0; length < token.length; length++) {
      expect(s.verifyAppMemento(token.slice(0, length), 'user:1').ok).toBe(false)
    }
    expect(signer({ k2: KEY_1 }, 'k2').verifyAppMemento(token, 'user:1')).toEqual({
      ok: false,
      reason: 'unknown-key',
    })
    expect(signer({ k1: KEY_2 }).verifyAppMemento(token, 'user:1')).toEqual({
      ok: false,
      reason: 'bad-signature',
    })
  })

  it('verifies across key rotation', () => {
    const token = signer({ k1: KEY_1 }, 'k1').issueAppMemento('u', 5)
    expect(signer({ k1: KEY_1, k2: KEY_2 }, 'k2').verifyAppMemento(token, 'u')).toEqual({
      ok: true,
      value: 5,
    })
  })

  it('refuses signed payloads without a string sub or an own v', () => {
    const s = signer()
    for (const json of [
      'null',
      '[]',
      '7',
      '{}',
      '{"sub":"u"}',
      '{"v":1}',
      '{"sub":1,"v":1}',
      '{"__proto__":{"sub":"u","v":1}}',
    ]) {
      expect(s.verifyAppMemento(forge('a1', 'k1', KEY_1, json), 'u'), json).toEqual({
        ok: false,
        reason: 'malformed',
      })
    }
    expect(s.verifyAppMemento(forge('a1', 'k1', KEY_1, '{"sub":"u","v":null}'), 'u')).toEqual({
      ok: true,
      value: null,
    })
  })
})

describe('LL-APPM-1 domain separation between mementos and app mementos', () => {
  it('never verifies an app memento as a memento, or a memento as an app memento', () => {
    const s = signer()
    const memento = s.issue(CLAIMS)
    const app = s.issueAppMemento(CLAIMS.sub, { ...CLAIMS, n: 'x' })
    expect(s.verify(app)).toEqual({ ok: false, reason: 'malformed' })
    expect(s.verifyAppMemento(memento, CLAIMS.sub)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('does not verify when only the prefix is swapped, because the prefix is inside the MAC', () => {
    const s = signer()
    // An app memento whose payload also satisfies the memento shape.
    const app = forge('a1', 'k1', KEY_1, JSON.stringify({ ...CLAIMS, n: 'x', v: 1 }))
    expect(s.verifyAppMemento(app, CLAIMS.sub).ok).toBe(true)
    expect(s.verify(`m1${app.slice(2)}`)).toEqual({ ok: false, reason: 'bad-signature' })
    const memento = s.issue(CLAIMS)
    expect(s.verifyAppMemento(`a1${memento.slice(2)}`, CLAIMS.sub)).toEqual({
      ok: false,
      reason: 'bad-signature',
    })
  })
})
