import { describe, expect, it } from 'vitest'
import { decodeClientFrame, decodeServerFrame, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '../src/index.js'

describe('versioning', () => {
  it('LL-VERSION-3, LL-FRAME-2: a member added without a new version is ignored, not refused', () => {
    const msg = decodeServerFrame('{"type":"msg","seq":1,"data":1,"priority":"high","x-trace":"abc"}')
    expect(msg).toMatchObject({ type: 'msg', seq: 1, data: 1 })
    const hello = decodeClientFrame('{"type":"hello","versions":[1],"attempt":0,"locale":"fr"}')
    expect(hello).toMatchObject({ type: 'hello' })
  })

  it('LL-VERSION-1: this implementation speaks version 1, preferred first', () => {
    expect(PROTOCOL_VERSION).toBe(1)
    expect(SUPPORTED_VERSIONS[0]).toBe(PROTOCOL_VERSION)
  })
})
