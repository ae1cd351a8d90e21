/** The child side of Peer: imports the module asked for and runs the function, one reply per call. */
import { pathToFileURL } from 'node:url'

interface Call {
  readonly id: number
  readonly module: string
  readonly fn: string
  readonly args: unknown
}

const send = (message: unknown) => process.send?.(message)

process.on('message', async (call: Call) => {
  try {
    const url = call.module.startsWith('file:') ? call.module : pathToFileURL(call.module).href
    const module = (await import(url)) as Record<string, unknown>
    const fn = module[call.fn]
    if (typeof fn !== 'function') throw new Error(`${call.module} exports no function ${call.fn}`)
    send({ id: call.id, value: await fn(call.args) })
  } catch (error) {
    send({ id: call.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  }
})
// The parent goes away with us: no orphan holding sockets.
process.on('disconnect', () => process.exit(0))
// A normal exit, so --cpu-prof and friends write their files.
process.on('SIGTERM', () => process.exit(0))
send({ ready: true })
