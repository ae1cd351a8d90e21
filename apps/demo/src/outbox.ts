/**
 * Your messages that the server has not acknowledged yet, greyed under the room. Keyed by message id,
 * so the ones a reload kept (the client's durable outbox, LL-SEND-9: `client.pendingSends`) show up
 * again in the new page, and every one leaves the list on its `settled` event, wherever it was typed.
 */
export class OutboxList {
  private readonly items = new Map<string, HTMLLIElement>()

  constructor(private readonly list: HTMLUListElement) {}

  add(id: string, text: string, restored = false): void {
    if (this.items.has(id)) return
    const item = document.createElement('li')
    item.dataset.id = id
    if (restored) item.dataset.restored = 'true'
    item.textContent = text
    this.list.append(item)
    this.items.set(id, item)
  }

  /** Sends kept from before a reload: they go out once the session is back. */
  restore(pending: ReadonlyArray<{ readonly id: string; readonly data: unknown }>): number {
    let restored = 0
    for (const { id, data } of pending) {
      const text = (data as { text?: unknown } | null)?.text
      if (typeof text !== 'string' || this.items.has(id)) continue
      this.add(id, text, true)
      restored++
    }
    return restored
  }

  settled(id: string, error: Error | undefined): void {
    const item = this.items.get(id)
    if (item === undefined) return
    this.items.delete(id)
    if (error === undefined) return item.remove()
    item.classList.add('failed')
    item.textContent = `${item.textContent} (not sent: ${error.message})`
  }

  /** Sends the storage could not keep across the reload: say so, never silently. */
  lost(ids: readonly string[]): void {
    for (const id of ids) this.settled(id, new Error('lost in the reload'))
  }
}
