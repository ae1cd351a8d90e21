const resolved = Promise.resolve()

/**
 * Runs `task` at the end of this tick, in the same queue as `queueMicrotask`. Node wraps every
 * `queueMicrotask` callback in an async resource (~0.5 µs); the per-tick flushes of both sides run
 * once per message when traffic is one message per tick, so they use a resolved promise instead. A
 * task that throws surfaces as an unhandled rejection (nothing scheduled here is expected to throw).
 */
export function atEndOfTick(task: () => void): void {
  void resolved.then(task)
}
