#!/usr/bin/env node
// One connection floods sends at a server whose onMessage is async (the core README's pattern), over
// real WebSocket. Prints the server's peak heap during the flood and its heap after the attacker
// left. The attacker runs in a child process, so the heap measured is the server's.
//
//   node --expose-gc scripts/abuse/flood.mjs [--seconds 20] [--handler-ms 5] [--root DIR]
//
// --root points at another checkout (built) to measure it the same way, e.g. the code before a fix.
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'handler-ms': { type: 'string', default: '5' },
    root: { type: 'string', default: new URL('../..', import.meta.url).pathname },
    attacker: { type: 'string' },
  },
})

if (values.attacker !== undefined) {
  // The child: a raw ws client that ignores every window and sends as fast as its socket takes it.
  const require = createRequire(join(values.root, 'packages/ws/package.json'))
  const WebSocket = require('ws')
  const socket = new WebSocket(values.attacker)
  let seq = 0
  let sent = 0
  const pad = 'x'.repeat(64)
  socket.on('open', () => {
    socket.send(JSON.stringify({ type: 'hello', versions: [1], attempt: 0 }))
    const pump = () => {
      while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount < 8 * 1024 * 1024) {
        const batch = []
        for (let i = 0; i < 256; i++) batch.push({ type: 'send', seq: ++seq, id: `f.${seq}`, data: pad })
        socket.send(JSON.stringify(batch))
        sent += 256
      }
      if (socket.readyState === WebSocket.OPEN) setTimeout(pump, 1)
    }
    pump()
  })
  socket.on('close', (code) => {
    process.send?.({ closed: code, sent })
    process.exit(0)
  })
  process.on('message', () => process.send?.({ sent, buffered: socket.bufferedAmount }))
} else {
  await main()
}

async function main() {
  const root = resolve(values.root)
  const { createServer } = await import(join(root, 'packages/core/dist/server.js'))
  const { wsServerTransport } = await import(join(root, 'packages/ws/dist/server.js'))
  const handlerMs = Number(values['handler-ms'])
  const seconds = Number(values.seconds)
  let processed = 0
  const server = createServer({
    secret: 'x'.repeat(32),
    onMessage: async () => {
      await new Promise((done) => setTimeout(done, handlerMs))
      processed++
    },
  })
  server.on('error', () => {})
  const transport = wsServerTransport({ port: 0 })
  await server.attach(transport)
  const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10
  globalThis.gc?.()
  const baseline = process.memoryUsage().heapUsed
  let peak = baseline
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed)
  }, 50)
  const child = fork(new URL(import.meta.url).pathname, [
    '--root',
    root,
    '--attacker',
    `ws://127.0.0.1:${transport.port}/lifeline`,
  ])
  let closedWith
  let lastReport = { sent: 0 }
  child.on('message', (message) => {
    if (message.closed !== undefined) closedWith = message.closed
    lastReport = message
  })
  const started = performance.now()
  while (performance.now() - started < seconds * 1000 && closedWith === undefined) {
    await new Promise((done) => setTimeout(done, 1000))
    if (child.connected) child.send('report')
    const s = Math.round((performance.now() - started) / 1000)
    process.stderr.write(
      `\r${s}s heap ${mb(process.memoryUsage().heapUsed)} MB (peak ${mb(peak)}), pending ${server.stats.pendingSends}, processed ${processed}   `,
    )
  }
  process.stderr.write('\n')
  const sentByAttacker = lastReport.sent
  child.kill('SIGKILL')
  await new Promise((done) => setTimeout(done, 2000))
  globalThis.gc?.()
  const after = process.memoryUsage().heapUsed
  clearInterval(sampler)
  console.log(
    JSON.stringify(
      {
        root,
        seconds,
        handlerMs,
        baselineHeapMB: mb(baseline),
        peakHeapMB: mb(peak),
        heapAfterAttackerLeftMB: mb(after),
        attackerSent: sentByAttacker,
        processed,
        attackerClosedWith: closedWith ?? null,
      },
      null,
      2,
    ),
  )
  await server.shutdown()
  process.exit(0)
}
