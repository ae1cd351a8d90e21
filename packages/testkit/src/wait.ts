/** Real-time helpers for integration tests. Unit tests use a simulated clock instead. */
import { createServer } from 'node:net'

/** A TCP port free on 127.0.0.1 right now (another process could still take it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('freePort: no TCP address')
  return address.port
}

export interface WaitForOptions {
  /** How long to wait before failing. Default: 5000 ms. */
  readonly timeoutMs?: number
  /** What is awaited, for the error message. Default: 'the condition'. */
  readonly what?: string
  /** Polling interval. Default: 5 ms. */
  readonly intervalMs?: number
}

/**
 * Polls `condition` until it holds, in real time; rejects after `timeoutMs` with `what` in the message.
 * Use it instead of sleeping for an outcome; sleep only to assert that nothing happens.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 5000, what = 'the condition', intervalMs = 5 } = options
  const started = performance.now()
  while (!(await condition())) {
    const elapsed = performance.now() - started
    if (elapsed > timeoutMs) throw new Error(`timed out after ${Math.round(elapsed)} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** Resolves after `ms` of real time. Only for asserting that nothing happens for a while. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
