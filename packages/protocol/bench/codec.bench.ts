/**
 * Codec throughput: decode + validate of typical frames against bare JSON.parse of the same strings,
 * in the same process, interleaved rounds, median ratio. Target (issue #2): >= 0.7x JSON.parse.
 * Run: pnpm --filter @lifeline/protocol bench
 */
import { decodeClientFrame, decodeServerFrame, encode } from '../src/index.js'

const serverFrames = [
  encode({
    type: 'msg',
    seq: 18_231,
    topic: 'room:42',
    data: { from: 'alice', text: 'see you at the standup' },
  }),
  encode({ type: 'msg', seq: 77, data: { kind: 'notice', unread: 3 } }),
  encode({ type: 'presence', seq: 18_232, topic: 'room:42', sid: 's_Qm9vb3RzdHJhcA', event: 'away' }),
  encode({ type: 'ack', seq: 912 }),
  encode({ type: 'ping', id: 4 }),
]
const clientFrames = [
  encode({
    type: 'send',
    seq: 912,
    id: 'f3a9c2d18e4b7a60.912',
    topic: 'room:42',
    data: { text: 'on my way' },
  }),
  encode({ type: 'ack', seq: 18_232, topic: 'room:42' }),
  encode({ type: 'pong', id: 4 }),
]

const ITERATIONS = 200_000
const ROUNDS = 9

function measure(texts: readonly string[], decode: (text: string) => unknown): number {
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < ITERATIONS; i++) {
    const result = decode(texts[i % texts.length] as string)
    if (result !== null) sink++
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (sink !== ITERATIONS) throw new Error('a frame failed to decode')
  return ITERATIONS / seconds
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

function compare(label: string, texts: readonly string[], decode: (text: string) => unknown) {
  for (let i = 0; i < 3; i++) measure(texts, decode) // warm up both paths equally
  for (let i = 0; i < 3; i++) measure(texts, JSON.parse)
  const codec: number[] = []
  const parse: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const a = measure(texts, JSON.parse)
    const b = measure(texts, decode)
    parse.push(a)
    codec.push(b)
    ratios.push(b / a)
  }
  const ratio = median(ratios)
  console.log(
    `${label.padEnd(34)} JSON.parse ${(median(parse) / 1e6).toFixed(2)}M/s  codec ${(median(codec) / 1e6).toFixed(2)}M/s  ratio ${ratio.toFixed(2)}x`,
  )
  return ratio
}

const results = [
  compare('server frames (client decodes)', serverFrames, decodeServerFrame),
  compare('client frames (server decodes)', clientFrames, decodeClientFrame),
]
const worst = Math.min(...results)
console.log(`worst ratio ${worst.toFixed(2)}x (target >= 0.70x)`)
