/** A minimal typed event emitter: `on` returns the function that removes the listener. */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>()

  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener)
    return () => this.off(event, listener)
  }

  off<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    set.delete(listener)
    if (set.size === 0) this.listeners.delete(event)
  }

  /** Number of listeners in all, for leak checks. */
  get listenerCount(): number {
    let count = 0
    for (const set of this.listeners.values()) count += set.size
    return count
  }

  /**
   * Calls every listener. One that throws does not stop the others, nor the caller (a throwing message
   * listener must not cost the entries after it); its error is rethrown on its own, as a browser
   * reports an event listener's error.
   */
  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as (value: Events[K]) => void)(value)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear()
  }
}
