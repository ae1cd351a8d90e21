/**
 * The client's connection lifecycle as a pure transition function: (state, event) -> [state, effects].
 * The runtime (client.ts) performs the effects; nothing here touches a clock, a transport or a promise.
 */
import { type CloseAction, closeCodeAction } from '@lifeline/protocol'
import type { Random } from '../clock.js'
import { ConnectionClosedError, MaxAttemptsError, ServerClosedError } from '../errors.js'
import { type RetryDelay, retryAfterDelay } from './backoff.js'

export type WaitReason = 'backoff' | 'server' | 'offline'

export type ConnectionState =
  | { readonly status: 'idle' }
  /** `failures`: attempts that failed since the last open connection (hello.attempt, LL-HELLO-4). */
  | { readonly status: 'connecting'; readonly failures: number }
  | { readonly status: 'open'; readonly failures: 0 }
  | {
      readonly status: 'waiting'
      readonly failures: number
      readonly delayMs: number
      readonly reason: WaitReason
    }
  | { readonly status: 'closed'; readonly error: Error | undefined }

/** What the server said in a bye before the connection closed, if anything. */
export interface ByeInfo {
  readonly code: number
  readonly reason: string
  readonly reconnect: boolean
  readonly retryAfterMs?: number | undefined
  readonly jitterMs?: number | undefined
}

export type ConnectionEvent =
  | { readonly type: 'connect'; readonly online: boolean }
  | { readonly type: 'welcome' }
  /** The attempt's transport closed, failed, timed out, or its link went dead. */
  | {
      readonly type: 'lost'
      readonly code: number
      readonly reason: string
      readonly bye: ByeInfo | undefined
      /** What the environment says now; false: no dialing until it is back (LL-BEAT-4). */
      readonly online?: boolean
    }
  | { readonly type: 'retry' }
  | { readonly type: 'close' }
  /** The client stops without ending its session, as a page unload does: no bye, nothing failed. */
  | { readonly type: 'detach' }
  | { readonly type: 'online' }
  | { readonly type: 'offline' }

export type ConnectionEffect =
  | { readonly type: 'dial' }
  | { readonly type: 'schedule'; readonly delayMs: number }
  | { readonly type: 'cancel-retry' }
  /** Close the transport of the current attempt; `bye`: say goodbye first (LL-INTENT-1). */
  | { readonly type: 'hang-up'; readonly bye: boolean }
  /** Settle every pending send and join as failed: the session is over. */
  | { readonly type: 'fail-pending'; readonly error: Error }

export interface MachineContext {
  readonly retryDelay: RetryDelay
  readonly maxAttempts: number
  readonly random: Random
}

type Result = readonly [ConnectionState, readonly ConnectionEffect[]]

const closed = (error: Error | undefined, effects: ConnectionEffect[] = []): Result => [
  { status: 'closed', error },
  error === undefined ? effects : [...effects, { type: 'fail-pending', error }],
]

/** Where a lost connection leads (LL-INTENT-4, LL-CLIENT-1, LL-CLIENT-2, LL-CLIENT-4). */
function afterLoss(
  failures: number,
  wasOpen: boolean,
  event: Extract<ConnectionEvent, { type: 'lost' }>,
  context: MachineContext,
): Result {
  const code = event.bye?.code ?? event.code
  const action: CloseAction =
    event.bye !== undefined && !event.bye.reconnect ? 'fatal' : closeCodeAction(code)
  if (action === 'fatal') {
    // LL-INTENT-2, LL-RESUME-8: the server does not want this client back.
    return closed(new ServerClosedError(code, event.bye?.reason ?? event.reason))
  }
  const bye = event.bye
  if (bye?.retryAfterMs !== undefined || bye?.jitterMs !== undefined) {
    // LL-INTENT-3: server-advised pacing; the session survives, so this is not a failure.
    const delayMs = Math.round(retryAfterDelay(bye.retryAfterMs ?? 0, bye.jitterMs ?? 0, context.random))
    return [{ status: 'waiting', failures, delayMs, reason: 'server' }, [{ type: 'schedule', delayMs }]]
  }
  if (event.online === false) {
    // LL-BEAT-4: the network went away before the link noticed; dialing now would only fail.
    return [{ status: 'waiting', failures, delayMs: 0, reason: 'offline' }, []]
  }
  const serverSaysBackOff = action === 'backoff' && code >= 4100 && code < 4200
  if (wasOpen && !serverSaysBackOff) {
    // LL-CLIENT-1: the first attempt after an unexpected drop is immediate; a drop is usually a blip.
    return [
      { status: 'waiting', failures: 0, delayMs: 0, reason: 'backoff' },
      [{ type: 'schedule', delayMs: 0 }],
    ]
  }
  const nextFailures = failures + 1
  if (nextFailures >= context.maxAttempts) return closed(new MaxAttemptsError(nextFailures))
  const delayMs = Math.max(
    0,
    Math.round(context.retryDelay({ attempt: nextFailures, code, random: context.random })),
  )
  return [
    { status: 'waiting', failures: nextFailures, delayMs, reason: 'backoff' },
    [{ type: 'schedule', delayMs }],
  ]
}

export function transition(state: ConnectionState, event: ConnectionEvent, context: MachineContext): Result {
  switch (event.type) {
    case 'connect':
      if (state.status !== 'idle') return [state, []]
      if (!event.online) return [{ status: 'waiting', failures: 0, delayMs: 0, reason: 'offline' }, []]
      return [{ status: 'connecting', failures: 0 }, [{ type: 'dial' }]]

    case 'welcome':
      if (state.status !== 'connecting') return [state, []]
      return [{ status: 'open', failures: 0 }, []]

    case 'lost':
      if (state.status === 'connecting') return afterLoss(state.failures, false, event, context)
      if (state.status === 'open') return afterLoss(0, true, event, context)
      return [state, []]

    case 'retry':
      if (state.status !== 'waiting' || state.reason === 'offline') return [state, []]
      return [{ status: 'connecting', failures: state.failures }, [{ type: 'dial' }]]

    case 'online':
      // LL-BEAT-4: the network is back; waiting out a backoff would only delay the user.
      if (state.status !== 'waiting' || state.reason === 'server') return [state, []]
      return [
        { status: 'connecting', failures: state.failures },
        [{ type: 'cancel-retry' }, { type: 'dial' }],
      ]

    case 'offline':
      if (state.status === 'waiting' && state.reason === 'backoff') {
        return [{ ...state, reason: 'offline' }, [{ type: 'cancel-retry' }]]
      }
      return [state, []]

    case 'detach': {
      if (state.status === 'closed') return [state, []]
      const stop: ConnectionEffect[] =
        state.status === 'waiting'
          ? [{ type: 'cancel-retry' }]
          : state.status === 'idle'
            ? []
            : [{ type: 'hang-up', bye: false }]
      return [{ status: 'closed', error: undefined }, stop]
    }

    case 'close': {
      if (state.status === 'closed') return [state, []]
      // LL-INTENT-1: bye when open, hang up, never reconnect, and every pending send fails.
      const failPending: ConnectionEffect = {
        type: 'fail-pending',
        error: new ConnectionClosedError('the client closed the connection', 1000),
      }
      const stop: ConnectionEffect[] =
        state.status === 'waiting'
          ? [{ type: 'cancel-retry' }]
          : state.status === 'idle'
            ? []
            : [{ type: 'hang-up', bye: state.status === 'open' }]
      return [{ status: 'closed', error: undefined }, [...stop, failPending]]
    }
  }
}
