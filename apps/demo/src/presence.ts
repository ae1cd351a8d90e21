/**
 * Who is in the room: online, or away with the time left before the server gives up on them (the
 * grace period, from the welcome) and they are `left`. Your own entry follows your connection: while
 * you are offline it says so, as the others see you away.
 */
import type { LifelineClient } from '@lifeline/core'

function nameOf(meta: unknown, fallback: string): string {
  const name = (meta as { name?: unknown } | null | undefined)?.name
  return typeof name === 'string' ? name : fallback
}

/** What your own entry says while this tab is not in the session. */
const SELF = {
  away: 'offline: the others see you away',
  closed: 'this tab left the session: reload to come back',
} as const

export class PresenceList {
  /** When each member was seen going away (page time), for the countdown. */
  private readonly awaySince = new Map<string, number>()
  private graceMs = 0
  private readonly timer: ReturnType<typeof setInterval>

  constructor(
    private readonly list: HTMLUListElement,
    private readonly client: LifelineClient,
    private readonly room: string,
  ) {
    this.timer = setInterval(() => this.render(), 1000)
  }

  setGrace(graceMs: number): void {
    this.graceMs = graceMs
  }

  changed(sid: string, event: 'joined' | 'away' | 'reconnected' | 'left'): void {
    if (event === 'away') this.awaySince.set(sid, Date.now())
    else this.awaySince.delete(sid)
    this.render()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  render(): void {
    const members = [...this.client.members(this.room)].sort(([, a], [, b]) =>
      nameOf(a.meta, '').localeCompare(nameOf(b.meta, '')),
    )
    const status = this.client.status.type
    // Your own entry follows this tab: open, away while the link is down, out once the session is closed.
    const me = status === 'open' ? 'online' : status === 'closed' ? 'closed' : 'away'
    this.list.replaceChildren(
      ...members.map(([sid, member]) => {
        const mine = sid === this.client.sid
        const state = mine ? me : member.state
        const item = document.createElement('li')
        const memberName = nameOf(member.meta, sid)
        item.dataset.sid = sid
        item.dataset.name = memberName
        item.dataset.state = state
        item.className = state
        const label = document.createElement('span')
        label.textContent = mine ? `${memberName} (you)` : memberName
        const detail = document.createElement('em')
        detail.dataset.testid = 'presence-detail'
        detail.textContent = !mine || me === 'online' ? this.detail(sid, state) : SELF[me]
        item.append(label, ' ', detail)
        return item
      }),
    )
  }

  private detail(sid: string, state: string): string {
    if (state !== 'away') return state
    const since = this.awaySince.get(sid)
    if (since === undefined || this.graceMs === 0)
      return `away · leaves within ${Math.round(this.graceMs / 1000)} s`
    const left = Math.ceil((since + this.graceMs - Date.now()) / 1000)
    return left > 0 ? `away · leaves in ${left} s` : 'away · leaving'
  }
}
