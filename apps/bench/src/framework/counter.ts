/** A message counter for peer modules: what arrived since the last reset, and waiting for a total. */

let received = 0
let waiter: (() => void) | undefined

export function countArrived(n: number): void {
  received += n
  waiter?.()
}

export function resetCount(): number {
  const before = received
  received = 0
  return before
}

export const arrived = () => received

/** Resolves with the count once at least `total` arrived since the last reset; rejects after timeoutMs. */
export function waitForCount(total: number, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiter = undefined
      reject(new Error(`received ${received} of ${total}`))
    }, timeoutMs)
    const check = () => {
      if (received < total) return
      clearTimeout(timer)
      waiter = undefined
      resolve(received)
    }
    waiter = check
    check()
  })
}

/** Resolves once nothing arrived for `quietMs`: the end of a replay whose size is not known. */
export function waitForQuiet(quietMs: number): Promise<number> {
  return new Promise((resolve) => {
    let last = received
    const timer = setInterval(() => {
      if (received !== last) last = received
      else {
        clearInterval(timer)
        resolve(received)
      }
    }, quietMs)
  })
}

/** Forces a full garbage collection, with or without --expose-gc. */
export async function collectGarbage(): Promise<void> {
  const { setFlagsFromString } = await import('node:v8')
  const { runInNewContext } = await import('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}
