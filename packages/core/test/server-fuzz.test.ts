import { closeCodeAction } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../src/testing.js'
import { hello, rawClient, settle, world } from './helpers.js'

const valid = [
  { type: 'send', seq: 1, id: 'x.1', data: { text: 'hi' } },
  { type: 'ack', seq: 3, topic: 'room' },
  { type: 'join', topic: 'room', from: 2 },
  { type: 'leave', topic: 'room' },
  { type: 'ping', id: 1 },
  hello({ resume: { memento: 'm1.k1.AAAA.BBBB', seq: 0 } }),
]

/** A mutation of a valid frame's text: truncation, a flipped character, a swapped value, garbage. */
function mutate(random: () => number): string {
  const base = JSON.stringify(valid[Math.floor(random() * valid.length)])
  const at = Math.floor(random() * base.length)
  switch (Math.floor(random() * 6)) {
    case 0:
      return base.slice(0, at)
    case 1:
      return `${base.slice(0, at)}${String.fromCharCode(32 + Math.floor(random() * 95))}${base.slice(at + 1)}`
    case 2:
      return base.replace(
        /:\s*("[^"]*"|\d+)/,
        `:${JSON.stringify([null, -1, 1e300, '', {}, [], true][Math.floor(random() * 7)])}`,
      )
    case 3:
      return `[${base},${base.slice(0, at)}]`
    case 4:
      return JSON.stringify({
        type: ['constructor', '__proto__', 'toString', 'welcome', 'msg'][Math.floor(random() * 5)],
      })
    default:
      return Array.from({ length: Math.floor(random() * 40) }, () =>
        String.fromCharCode(Math.floor(random() * 0xffff)),
      ).join('')
  }
}

describe('malformed input never crashes the server nor touches another session (LL-FRAME-5)', () => {
  it('LL-FRAME-3, LL-FRAME-5: 1,000 mutated frames from hostile connections; a neighbour keeps working', async () => {
    const processed: unknown[] = []
    const errors: Error[] = []
    const w = await world({ onMessage: (m) => void processed.push(m.data) })
    w.server.on('error', (error) => errors.push(error))
    const neighbour = rawClient(w.network, 'neighbour')
    await settle()
    neighbour.send(hello())
    await settle()
    const random = seededRandom(2026)
    const closes = new Map<number, number>()
    for (let round = 0; round < 1000; round++) {
      const hostile = rawClient(w.network, `hostile-${round % 20}`)
      await settle()
      if (random() < 0.7) hostile.send(hello())
      hostile.sendText(mutate(random))
      await settle()
      if (hostile.closed !== undefined) {
        closes.set(hostile.closed.code, (closes.get(hostile.closed.code) ?? 0) + 1)
        // Every refusal says why with a documented code, and none invites a reconnect loop.
        expect(hostile.last('bye')?.code).toBe(hostile.closed.code)
        expect(['fatal', 'backoff']).toContain(closeCodeAction(hostile.closed.code))
      } else hostile.close()
      if (round % 100 === 0) {
        neighbour.send({ type: 'send', seq: round / 100 + 1, id: `n.${round}`, data: round })
        await settle()
      }
    }
    await settle()
    expect(neighbour.closed).toBeUndefined()
    expect(processed.filter((data) => typeof data === 'number')).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 100),
    )
    expect(neighbour.last('ack')).toMatchObject({ seq: 10 })
    expect(errors).toEqual([])
    expect(closes.get(4000) ?? 0).toBeGreaterThan(300)
  })
})
