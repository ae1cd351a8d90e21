import { createHmac, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto'
import { MAX_APP_MEMENTO_LENGTH, MAX_MEMENTO_LENGTH } from '@lifeline/protocol'

/** What a memento carries. `exp` is on the server's clock, in ms (LL-MEMENTO-4). */
export interface MementoClaims {
  /** The session's public id. */
  sid: string
  /** The subject the memento was issued to (LL-AUTH-5). */
  sub: string
  /** Generation, bumped on every resuming welcome (LL-MEMENTO-5). */
  gen: number
  /** Expiry, server-clock ms; the caller judges it with its own clock. */
  exp: number
}

export interface MementoSignerOptions {
  /** Secrets by key id; at least 32 bytes each (UTF-8 bytes for strings). Key ids use [A-Za-z0-9_-]. */
  keys: Readonly<Record<string, string | Uint8Array>>
  /** The key id new tokens are signed with; must be in keys. */
  currentKeyId: string
  /** Random bytes source, injectable for deterministic tests. Default: crypto.randomBytes. */
  randomBytes?: (size: number) => Uint8Array
}

export type VerifyFailure = 'malformed' | 'unknown-key' | 'bad-signature'

export type VerifyResult = { ok: true; claims: MementoClaims } | { ok: false; reason: VerifyFailure }

export type AppVerifyResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: VerifyFailure | 'wrong-subject' }

/** Shortest key accepted: HMAC-SHA256 is only as strong as a key of its output size. */
export const MIN_KEY_BYTES = 32

const MAX_KEY_ID_LENGTH = 64
const MEMENTO_PREFIX = 'm1'
const APP_MEMENTO_PREFIX = 'a1'
const NONCE_BYTES = 16
const PART = /^[A-Za-z0-9_-]+$/

type Opened = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: VerifyFailure }

/**
 * Signs and verifies mementos (LL-MEMENTO-2..4) and app mementos (LL-APPM-1, LL-APPM-4).
 *
 * Tokens are `<prefix>.<kid>.<payload>.<mac>`, the MAC covering `<prefix>.<kid>.<payload>`. The two
 * kinds differ only by prefix (`m1` / `a1`), and the prefix is inside the MAC, so neither can pass as
 * the other. Expiry is not judged here: the server compares `exp` with its own clock (LL-MEMENTO-4).
 */
export class MementoSigner {
  private readonly keys = new Map<string, Buffer>()
  private readonly currentKeyId: string
  private readonly currentKey: Buffer
  private readonly randomBytes: (size: number) => Uint8Array

  constructor(options: MementoSignerOptions) {
    for (const [kid, secret] of Object.entries(options.keys)) {
      // The kid travels inside the token; a '.' in it would break the 4-part split.
      // At most 64 characters, so a memento with the longest subject still fits (LL-AUTH-6).
      if (!PART.test(kid) || kid.length > MAX_KEY_ID_LENGTH) {
        throw new Error(`MementoSigner: key id ${JSON.stringify(kid)} must be 1-64 of [A-Za-z0-9_-]`)
      }
      // Copied, so a caller zeroing or reusing its buffer cannot change our key.
      const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
      if (bytes.length < MIN_KEY_BYTES) {
        throw new Error(
          `MementoSigner: key ${JSON.stringify(kid)} is ${bytes.length} bytes; at least ${MIN_KEY_BYTES} are required`,
        )
      }
      this.keys.set(kid, bytes)
    }
    const currentKey = this.keys.get(options.currentKeyId)
    if (currentKey === undefined) {
      throw new Error(`MementoSigner: currentKeyId ${JSON.stringify(options.currentKeyId)} is not in keys`)
    }
    this.currentKeyId = options.currentKeyId
    this.currentKey = currentKey
    this.randomBytes = options.randomBytes ?? cryptoRandomBytes
  }

  /** A new memento for these claims. Throws when the claims are invalid or the token would be too long. */
  issue(claims: MementoClaims): string {
    const { sid, sub, gen, exp } = claims
    if (typeof sid !== 'string' || typeof sub !== 'string' || !isCount(gen) || !isCount(exp)) {
      throw new TypeError('MementoSigner.issue: sid and sub must be strings, gen and exp safe integers >= 0')
    }
    const nonce = Buffer.from(this.randomBytes(NONCE_BYTES))
    if (nonce.length !== NONCE_BYTES)
      throw new Error(`MementoSigner: randomBytes must return ${NONCE_BYTES} bytes`)
    // LL-MEMENTO-3: the nonce makes the token unguessable from sid, and distinct per issue.
    const json = JSON.stringify({ sid, sub, gen, exp, n: nonce.toString('base64url') })
    return this.seal(MEMENTO_PREFIX, json, MAX_MEMENTO_LENGTH)
  }

  verify(token: string): VerifyResult {
    const opened = this.open(token, MEMENTO_PREFIX, MAX_MEMENTO_LENGTH)
    if (!opened.ok) return opened
    const { payload } = opened
    const sid = own(payload, 'sid')
    const sub = own(payload, 'sub')
    const gen = own(payload, 'gen')
    const exp = own(payload, 'exp')
    if (typeof sid !== 'string' || typeof sub !== 'string' || !isCount(gen) || !isCount(exp)) {
      return { ok: false, reason: 'malformed' }
    }
    if (typeof own(payload, 'n') !== 'string') return { ok: false, reason: 'malformed' }
    return { ok: true, claims: { sid, sub, gen, exp } }
  }

  /**
   * An app memento binding `value` to `sub` (LL-APPM-1). `value` must be JSON-serializable; throws
   * when it is not, or when the token would exceed MAX_APP_MEMENTO_LENGTH.
   */
  issueAppMemento(sub: string, value: unknown): string {
    if (typeof sub !== 'string') throw new TypeError('MementoSigner.issueAppMemento: sub must be a string')
    let encoded: string | undefined
    try {
      encoded = JSON.stringify(value)
    } catch (cause) {
      throw new TypeError('MementoSigner.issueAppMemento: value is not JSON-serializable', { cause })
    }
    // undefined, functions and symbols stringify to nothing: the token would verify without a value.
    if (encoded === undefined)
      throw new TypeError('MementoSigner.issueAppMemento: value is not JSON-serializable')
    return this.seal(
      APP_MEMENTO_PREFIX,
      `{"sub":${JSON.stringify(sub)},"v":${encoded}}`,
      MAX_APP_MEMENTO_LENGTH,
    )
  }

  /** LL-APPM-4: a token of another subject is refused, as is one that fails verification. */
  verifyAppMemento(token: string, sub: string): AppVerifyResult {
    const opened = this.open(token, APP_MEMENTO_PREFIX, MAX_APP_MEMENTO_LENGTH)
    if (!opened.ok) return opened
    const { payload } = opened
    const tokenSub = own(payload, 'sub')
    if (typeof tokenSub !== 'string' || !Object.hasOwn(payload, 'v'))
      return { ok: false, reason: 'malformed' }
    if (tokenSub !== sub) return { ok: false, reason: 'wrong-subject' }
    return { ok: true, value: payload.v }
  }

  private seal(prefix: string, json: string, maxLength: number): string {
    const signed = `${prefix}.${this.currentKeyId}.${Buffer.from(json, 'utf8').toString('base64url')}`
    const token = `${signed}.${mac(this.currentKey, signed)}`
    // A token we could not verify back (it would be refused by length) must not be handed out.
    if (token.length > maxLength) {
      throw new RangeError(`MementoSigner: token is ${token.length} chars; the limit is ${maxLength}`)
    }
    return token
  }

  private open(token: string, prefix: string, maxLength: number): Opened {
    // Length first: a hostile hello must not make us hash megabytes.
    if (typeof token !== 'string' || token.length > maxLength) return { ok: false, reason: 'malformed' }
    const parts = token.split('.')
    if (parts.length !== 4) return { ok: false, reason: 'malformed' }
    const [tokenPrefix, kid, payload, presented] = parts as [string, string, string, string]
    if (tokenPrefix !== prefix || !PART.test(kid) || !PART.test(payload) || !PART.test(presented)) {
      return { ok: false, reason: 'malformed' }
    }
    const key = this.keys.get(kid)
    if (key === undefined) return { ok: false, reason: 'unknown-key' }
    // LL-MEMENTO-2: compare the canonical encodings, so a non-canonical last base64url character
    // (same decoded bytes, different text) is refused too; constant time over equal lengths.
    const expected = Buffer.from(mac(key, `${tokenPrefix}.${kid}.${payload}`), 'latin1')
    const given = Buffer.from(presented, 'latin1')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'bad-signature' }
    }
    // Only authenticated bytes reach the JSON parser.
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return { ok: false, reason: 'malformed' }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, reason: 'malformed' }
    }
    return { ok: true, payload: parsed as Record<string, unknown> }
  }
}

function mac(key: Buffer, input: string): string {
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url')
}

/** Own properties only: an inherited `sid` (prototype keys) must not count. */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
