/**
 * The chat as the page shows it: each message once, in the room's order (its number `n`), whether it
 * came live through Lifeline or from the chat's own history (the server's `/demo/history`). Loading
 * history is how a late joiner, a reloaded page and a page whose session could not be recovered catch
 * up; the topic's app memento (`{ upTo: n }`, LL-APPM-7) says up to where.
 */

/** What the reference server publishes for each chat message. */
export interface ChatMessage {
  readonly id: string
  readonly from: string
  readonly text: string
  readonly at: number
  /** The message's number in its room. */
  readonly n: number
}

/** The room's app memento: every message up to `upTo` is in the page, or in the history to load. */
export interface RoomMemento {
  readonly upTo: number
}

export function isChatMessage(data: unknown): data is ChatMessage {
  const m = data as Partial<ChatMessage> | null
  return (
    typeof m?.id === 'string' &&
    typeof m.from === 'string' &&
    typeof m.text === 'string' &&
    typeof m.n === 'number'
  )
}

export function isRoomMemento(value: unknown): value is RoomMemento {
  return typeof (value as Partial<RoomMemento> | null)?.upTo === 'number'
}

export class MessageList {
  private readonly shown = new Map<number, HTMLLIElement>()
  /** The highest number delivered live in this page, or kept from the page before it. */
  private liveUpTo = 0

  constructor(
    private readonly list: HTMLUListElement,
    private readonly me: string,
  ) {}

  /** The highest message number shown. */
  get last(): number {
    let last = 0
    for (const n of this.shown.keys()) last = Math.max(last, n)
    return last
  }

  /**
   * Where live delivery starts: after what the page before this one had (the room's app memento kept
   * with the session), or anew after a lost log.
   */
  liveFrom(upTo: number): void {
    this.liveUpTo = upTo
  }

  /**
   * Lifeline delivers a room's messages once and in order, so a live message at or below the last one
   * is a duplicate: counted in the list's `data-duplicates`, never hidden behind the history's merge.
   */
  duplicate(chat: ChatMessage): boolean {
    if (chat.n > this.liveUpTo) {
      this.liveUpTo = chat.n
      return false
    }
    this.list.dataset.duplicates = String(Number(this.list.dataset.duplicates ?? 0) + 1)
    return true
  }

  /**
   * Forgets what the page shows: after a lost log the room's numbers may have started over (a server
   * that restarted lost the chat), so the page reloads the chat from the history rather than mixing two.
   */
  clear(): void {
    this.list.replaceChildren()
    this.shown.clear()
    this.liveUpTo = 0
  }

  /** Shows a message in its place; false when it was already shown. */
  show(chat: ChatMessage, source: 'live' | 'history'): boolean {
    if (this.shown.has(chat.n)) return false
    const item = document.createElement('li')
    item.dataset.id = chat.id
    item.dataset.n = String(chat.n)
    item.dataset.from = chat.from
    item.dataset.source = source
    if (chat.from === this.me) item.classList.add('mine')
    item.title = new Date(chat.at).toLocaleString()
    const from = document.createElement('strong')
    from.textContent = chat.from
    item.append(from, `: ${chat.text}`)
    let next: HTMLLIElement | undefined
    for (const [n, other] of this.shown)
      if (n > chat.n && (next === undefined || n < Number(next.dataset.n))) next = other
    this.list.insertBefore(item, next ?? null)
    this.shown.set(chat.n, item)
    if (next === undefined) item.scrollIntoView({ block: 'nearest' })
    return true
  }

  /**
   * Loads the room's history up to `upTo` (its app memento) and shows what the page lacks; resolves with
   * how many messages that added. A page shows at most the newest 500.
   */
  async load(room: string, upTo: number): Promise<{ added: number; truncated: boolean }> {
    const query = new URLSearchParams({ room, after: '0', upTo: String(upTo) })
    const response = await fetch(`/demo/history?${query}`)
    if (!response.ok) throw new Error(`history: ${response.status}`)
    const page = (await response.json()) as { messages: unknown[]; truncated: boolean }
    let added = 0
    for (const message of page.messages) if (isChatMessage(message) && this.show(message, 'history')) added++
    return { added, truncated: page.truncated }
  }
}
