/**
 * A session's store writes, in the order they were asked for (LL-NODE-2): a record never overtakes
 * an earlier one, a presence entry never its member write. A store in this process answers
 * synchronously, so while nothing is pending a write runs at once and the hot path stays free of
 * promises.
 */
export class WriteQueue {
  private tail: Promise<void> | undefined

  constructor(private readonly report: (error: unknown, what: string) => void) {}

  /** `what` names the write in the report of its failure. */
  run(write: () => void | Promise<void>, what: string): void {
    if (this.tail !== undefined) return this.track(this.tail.then(write), what)
    let result: void | Promise<void>
    try {
      result = write()
    } catch (error) {
      return this.report(error, what)
    }
    if (result instanceof Promise) this.track(result, what)
  }

  /** Whether a write is still in flight. */
  get busy(): boolean {
    return this.tail !== undefined
  }

  /** Resolves once every write asked for so far is done (failed ones reported). */
  idle(): Promise<void> {
    return this.tail ?? Promise.resolve()
  }

  private track(write: Promise<void>, what: string): void {
    const tail: Promise<void> = write
      .catch((error: unknown) => this.report(error, what))
      .then(() => {
        if (this.tail === tail) this.tail = undefined
      })
    this.tail = tail
  }
}
