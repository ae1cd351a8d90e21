/**
 * Makes a drop visible: when the connection comes back, a toast says how long it was gone and what
 * came back: missed messages replayed by the session, messages reloaded from the chat's own history
 * when the session could not be recovered, and your own messages that waited and went out.
 */
import type { SessionEvent } from '@lifeline/core'

/** How long after the welcome the replay and the outbox flush are counted. */
const WINDOW_MS = 1000
const SHOWN_MS = 10_000

const REASONS: Record<string, string> = {
  expired: 'it had expired: away longer than the grace period',
  unknown: 'the server no longer knew it: restarted?',
  invalid: 'its resume token was not accepted',
  overflow: 'the log no longer held everything missed',
}

export class RecoveryToast {
  private droppedAt: number | undefined
  private backWall = 0
  private counting: { replayed: number; resynced: number; pending: number } | undefined
  private hideTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly toast: HTMLElement,
    private readonly log: (text: string, kind: string) => void,
    private readonly pending: () => number,
  ) {}

  /** The link is gone (or the page is about to drop it): the clock starts. */
  lost(): void {
    this.droppedAt ??= performance.now()
  }

  /** A welcome answering a resume: count what comes back, then say it. */
  back(session: SessionEvent): void {
    if (!session.resumeAsked) return
    const reload = this.droppedAt === undefined // the page itself is new: it was reloaded
    const tookMs = performance.now() - (this.droppedAt ?? 0)
    this.droppedAt = undefined
    this.backWall = Date.now()
    const counts = { replayed: 0, resynced: 0, pending: this.pending() }
    this.counting = counts
    setTimeout(() => {
      if (this.counting === counts) this.counting = undefined
      this.show(session, reload, tookMs, counts)
    }, WINDOW_MS)
  }

  /** A message delivered live: one the server published before we were back was replayed. */
  arrived(at: number): void {
    if (this.counting !== undefined && at <= this.backWall) this.counting.replayed++
  }

  /** Messages loaded from the chat's history to fill what the session could not replay. */
  resynced(count: number): void {
    if (this.counting !== undefined) this.counting.resynced += count
  }

  private show(
    session: SessionEvent,
    reload: boolean,
    tookMs: number,
    counts: { replayed: number; resynced: number; pending: number },
  ): void {
    const delivered = Math.max(0, counts.pending - this.pending())
    const head = `${reload ? 'Page reloaded' : 'Connection dropped'}, back after ${(tookMs / 1000).toFixed(1)} s`
    const how = session.resumed
      ? session.recovered
        ? 'session resumed, nothing lost'
        : `session resumed, but ${REASONS.overflow}`
      : `new session: ${REASONS[session.reason ?? 'unknown'] ?? session.reason}`
    const parts = [
      counts.replayed > 0
        ? `${counts.replayed} missed message${counts.replayed === 1 ? '' : 's'} replayed`
        : '',
      counts.resynced > 0 ? `${counts.resynced} loaded from the chat history` : '',
      delivered > 0 ? `${delivered} of yours delivered` : '',
    ].filter((part) => part !== '')
    const text = `${head}: ${how}${parts.length > 0 ? `. ${parts.join(', ')}.` : '.'}`
    Object.assign(this.toast.dataset, {
      resumed: String(session.resumed),
      recovered: String(session.recovered),
      replayed: String(counts.replayed),
      resynced: String(counts.resynced),
      delivered: String(delivered),
      ms: String(Math.round(tookMs)),
    })
    this.toast.textContent = text
    this.toast.className = `toast ${session.recovered ? 'good' : 'warn'}`
    this.toast.hidden = false
    this.log(text, session.recovered ? 'good' : 'warn')
    clearTimeout(this.hideTimer)
    this.hideTimer = setTimeout(() => {
      this.toast.hidden = true
    }, SHOWN_MS)
  }
}
