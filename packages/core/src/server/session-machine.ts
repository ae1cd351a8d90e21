/**
 * A session's phase as a pure transition function (LL-GRACE-1..3, LL-PRESENCE-1, LL-PRESENCE-4):
 * (phase, event) -> [phase, effects]. The server performs the effects.
 */

export type SessionPhase = 'connected' | 'away' | 'ended'

export type SessionEvent =
  | { readonly type: 'dropped' }
  | { readonly type: 'resumed' }
  | { readonly type: 'grace-over' }
  /** The session ends at once: client bye, kick (LL-GRACE-3), or the server stopping. */
  | { readonly type: 'end' }

export type SessionEffect =
  | { readonly type: 'presence'; readonly event: 'away' | 'reconnected' | 'left' }
  | { readonly type: 'start-grace' }
  | { readonly type: 'cancel-grace' }
  | { readonly type: 'free' }

export function sessionTransition(
  phase: SessionPhase,
  event: SessionEvent,
): readonly [SessionPhase, readonly SessionEffect[]] {
  switch (event.type) {
    case 'dropped':
      if (phase !== 'connected') return [phase, []]
      return ['away', [{ type: 'presence', event: 'away' }, { type: 'start-grace' }]]
    case 'resumed':
      // LL-PRESENCE-4: a resume the server had not noticed as a drop publishes nothing.
      if (phase !== 'away') return [phase, []]
      return ['connected', [{ type: 'cancel-grace' }, { type: 'presence', event: 'reconnected' }]]
    case 'grace-over':
      if (phase !== 'away') return [phase, []]
      return ['ended', [{ type: 'presence', event: 'left' }, { type: 'free' }]]
    case 'end':
      if (phase === 'ended') return [phase, []]
      return ['ended', [{ type: 'cancel-grace' }, { type: 'presence', event: 'left' }, { type: 'free' }]]
  }
}
