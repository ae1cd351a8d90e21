import { describe, expect, it } from 'vitest'
import type { RetryContext } from '../src/client/backoff.js'
import {
  type ByeInfo,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionState,
  type MachineContext,
  transition,
} from '../src/client/machine.js'
import { ConnectionClosedError, MaxAttemptsError, ServerClosedError } from '../src/errors.js'

/** A retry delay that records every call and answers `100 * attempt + 0.4` (so rounding shows). */
function recordingContext(
  overrides: Partial<MachineContext> = {},
): MachineContext & { calls: RetryContext[] } {
  const calls: RetryContext[] = []
  return {
    calls,
    retryDelay: (context) => {
      calls.push(context)
      return 100 * context.attempt + 0.4
    },
    maxAttempts: Number.POSITIVE_INFINITY,
    random: () => 0.25,
    ...overrides,
  }
}

const idle: ConnectionState = { status: 'idle' }
const connecting = (failures = 0): ConnectionState => ({ status: 'connecting', failures })
const open: ConnectionState = { status: 'open', failures: 0 }
const waiting = (reason: 'backoff' | 'server' | 'offline', failures = 2, delayMs = 700): ConnectionState => ({
  status: 'waiting',
  failures,
  delayMs,
  reason,
})
const closedState: ConnectionState = { status: 'closed', error: undefined }

const lost = (code: number, bye?: ByeInfo, reason = 'gone'): ConnectionEvent => ({
  type: 'lost',
  code,
  reason,
  bye,
})
const bye = (code: number, extra: Partial<ByeInfo> = {}): ByeInfo => ({
  code,
  reason: `bye ${code}`,
  reconnect: code < 4000 || code >= 4100,
  ...extra,
})

const allStates: Array<[string, ConnectionState]> = [
  ['idle', idle],
  ['connecting', connecting(3)],
  ['open', open],
  ['waiting(backoff)', waiting('backoff')],
  ['waiting(server)', waiting('server')],
  ['waiting(offline)', waiting('offline')],
  ['closed', closedState],
]

function failPending(effects: readonly ConnectionEffect[]): Error | undefined {
  const effect = effects.find((e) => e.type === 'fail-pending')
  return effect?.type === 'fail-pending' ? effect.error : undefined
}

describe('client machine: connect', () => {
  it('LL-HELLO-4: connect from idle while online dials with zero failures', () => {
    const [state, effects] = transition(idle, { type: 'connect', online: true }, recordingContext())
    expect(state).toEqual({ status: 'connecting', failures: 0 })
    expect(effects).toEqual([{ type: 'dial' }])
  })

  it('LL-BEAT-4: connect from idle while offline waits for the network without dialing or a timer', () => {
    const [state, effects] = transition(idle, { type: 'connect', online: false }, recordingContext())
    expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 0, reason: 'offline' })
    expect(effects).toEqual([])
  })

  for (const [name, state] of allStates.filter(([n]) => n !== 'idle')) {
    it(`LL-INTENT-1: connect in ${name} is ignored (same state object, no effects)`, () => {
      for (const online of [true, false]) {
        const [next, effects] = transition(state, { type: 'connect', online }, recordingContext())
        expect(next).toBe(state)
        expect(effects).toEqual([])
      }
    })
  }
})

describe('client machine: welcome', () => {
  it('LL-HELLO-6: welcome while connecting opens and resets the failure count', () => {
    const [state, effects] = transition(connecting(5), { type: 'welcome' }, recordingContext())
    expect(state).toEqual({ status: 'open', failures: 0 })
    expect(effects).toEqual([])
  })

  for (const [name, state] of allStates.filter(([n]) => n !== 'connecting')) {
    it(`LL-HELLO-6: welcome in ${name} is ignored`, () => {
      const [next, effects] = transition(state, { type: 'welcome' }, recordingContext())
      expect(next).toBe(state)
      expect(effects).toEqual([])
    })
  }
})

describe('client machine: lost, fatal codes (LL-INTENT-2, LL-INTENT-4)', () => {
  const fatalCodes = [4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4050, 4099]
  for (const from of [connecting(2), open]) {
    for (const code of fatalCodes) {
      it(`LL-INTENT-4: close code ${code} from ${from.status} closes with ServerClosedError and fails pending`, () => {
        const context = recordingContext()
        const [state, effects] = transition(from, lost(code, undefined, 'why'), context)
        expect(state.status).toBe('closed')
        const error = state.status === 'closed' ? state.error : undefined
        expect(error).toBeInstanceOf(ServerClosedError)
        expect(error).toMatchObject({ code, reason: 'why' })
        expect(effects).toEqual([{ type: 'fail-pending', error }])
        expect(context.calls).toEqual([])
      })
    }
  }

  it('LL-INTENT-2: a bye code and reason take precedence over the transport close code and reason', () => {
    const [state] = transition(
      open,
      lost(1006, bye(4005, { reason: 'banned' }), 'socket'),
      recordingContext(),
    )
    expect(state.status === 'closed' ? state.error : undefined).toMatchObject({
      name: 'ServerClosedError',
      code: 4005,
      codeName: 'KICKED',
      reason: 'banned',
    })
  })

  for (const code of [4200, 4100, 1006, 1000]) {
    it(`LL-INTENT-2: bye with reconnect:false is fatal even for code ${code}`, () => {
      for (const from of [connecting(1), open]) {
        const [state, effects] = transition(
          from,
          lost(1000, bye(code, { reconnect: false, retryAfterMs: 10 })),
          recordingContext(),
        )
        expect(state.status).toBe('closed')
        const error = state.status === 'closed' ? state.error : undefined
        expect(error).toBeInstanceOf(ServerClosedError)
        expect(error).toMatchObject({ code })
        expect(failPending(effects)).toBe(error)
      }
    })
  }

  it('LL-RESUME-8: SESSION_REPLACED (4006) is fatal even when the bye says reconnect:true', () => {
    const [state] = transition(open, lost(4006, bye(4006, { reconnect: true })), recordingContext())
    expect(state.status === 'closed' ? state.error : undefined).toMatchObject({
      code: 4006,
      codeName: 'SESSION_REPLACED',
    })
  })
})

describe('client machine: lost from open (LL-CLIENT-1, LL-INTENT-4)', () => {
  for (const code of [4100, 4101, 4102, 4103, 4104, 4199]) {
    it(`LL-INTENT-4: backoff code ${code} from open backs off (attempt 1) instead of retrying at once`, () => {
      const context = recordingContext()
      const [state, effects] = transition(open, lost(code), context)
      expect(state).toEqual({ status: 'waiting', failures: 1, delayMs: 100, reason: 'backoff' })
      expect(effects).toEqual([{ type: 'schedule', delayMs: 100 }])
      expect(context.calls).toHaveLength(1)
      expect(context.calls[0]).toMatchObject({ attempt: 1, code })
      expect(context.calls[0]?.random).toBe(context.random)
    })
  }

  it('LL-INTENT-4: a backoff code given in a bye (reconnect:true) also backs off', () => {
    const context = recordingContext()
    const [state] = transition(open, lost(1006, bye(4101)), context)
    expect(state).toEqual({ status: 'waiting', failures: 1, delayMs: 100, reason: 'backoff' })
    expect(context.calls[0]?.code).toBe(4101)
  })

  for (const code of [4200, 4201, 4202, 4203, 4299, 1006, 1000, 1001, 1011, 3000, 4300, 4500]) {
    it(`LL-CLIENT-1: code ${code} from open retries immediately without consulting the backoff`, () => {
      const context = recordingContext()
      const [state, effects] = transition(open, lost(code), context)
      expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 0, reason: 'backoff' })
      expect(effects).toEqual([{ type: 'schedule', delayMs: 0 }])
      expect(context.calls).toEqual([])
    })
  }

  it('LL-CLIENT-1: the immediate retry after a drop is not limited by maxAttempts', () => {
    const [state] = transition(open, lost(1006), recordingContext({ maxAttempts: 1 }))
    expect(state).toMatchObject({ status: 'waiting', failures: 0, delayMs: 0 })
  })

  it('LL-CLIENT-2: a backoff code from open counts one failure against maxAttempts', () => {
    const [state, effects] = transition(open, lost(4101), recordingContext({ maxAttempts: 1 }))
    expect(state.status).toBe('closed')
    const error = state.status === 'closed' ? state.error : undefined
    expect(error).toBeInstanceOf(MaxAttemptsError)
    expect(error).toMatchObject({ attempts: 1 })
    expect(effects).toEqual([{ type: 'fail-pending', error }])
  })
})

describe('client machine: lost while connecting (LL-CLIENT-1, LL-CLIENT-2)', () => {
  for (const code of [1006, 1000, 4100, 4200, 4201, 4300]) {
    it(`LL-CLIENT-1: code ${code} while connecting counts a failure and uses retryDelay(attempt = failures)`, () => {
      const context = recordingContext()
      const [state, effects] = transition(connecting(2), lost(code), context)
      expect(state).toEqual({ status: 'waiting', failures: 3, delayMs: 300, reason: 'backoff' })
      expect(effects).toEqual([{ type: 'schedule', delayMs: 300 }])
      expect(context.calls).toHaveLength(1)
      expect(context.calls[0]).toMatchObject({ attempt: 3, code })
    })
  }

  it('LL-CLIENT-1: successive failures pass attempt 1, 2, 3, ... to retryDelay', () => {
    const context = recordingContext()
    let state: ConnectionState = connecting(0)
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      const [waitingState] = transition(state, lost(1006), context)
      if (waitingState.status !== 'waiting') throw new Error(`expected waiting, got ${waitingState.status}`)
      delays.push(waitingState.delayMs)
      const [next, effects] = transition(waitingState, { type: 'retry' }, context)
      expect(effects).toEqual([{ type: 'dial' }])
      state = next
    }
    expect(context.calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5])
    expect(delays).toEqual([100, 200, 300, 400, 500])
    expect(state).toEqual({ status: 'connecting', failures: 5 })
  })

  it('LL-CLIENT-1: the retry delay is rounded to whole milliseconds and never negative', () => {
    const half = recordingContext({ retryDelay: () => 249.5 })
    expect(transition(connecting(0), lost(1006), half)[0]).toMatchObject({ delayMs: 250 })
    const low = recordingContext({ retryDelay: () => 249.49 })
    expect(transition(connecting(0), lost(1006), low)[0]).toMatchObject({ delayMs: 249 })
    const negative = recordingContext({ retryDelay: () => -50 })
    const [state, effects] = transition(connecting(0), lost(1006), negative)
    expect(state).toMatchObject({ status: 'waiting', delayMs: 0 })
    expect(effects).toEqual([{ type: 'schedule', delayMs: 0 }])
  })

  it('LL-CLIENT-2: reaching maxAttempts closes with MaxAttemptsError and fails pending sends', () => {
    const context = recordingContext({ maxAttempts: 3 })
    const [second] = transition(connecting(1), lost(1006), context)
    expect(second).toMatchObject({ status: 'waiting', failures: 2 })
    const [state, effects] = transition(connecting(2), lost(1006), context)
    expect(state.status).toBe('closed')
    const error = state.status === 'closed' ? state.error : undefined
    expect(error).toBeInstanceOf(MaxAttemptsError)
    expect(error).toMatchObject({ attempts: 3, name: 'MaxAttemptsError' })
    expect(error?.message).toContain('3')
    expect(effects).toEqual([{ type: 'fail-pending', error }])
    // The backoff is not consulted for an attempt that will never be made.
    expect(context.calls).toHaveLength(1)
  })

  it('LL-CLIENT-2: maxAttempts 1 gives up after the very first failed attempt', () => {
    const [state] = transition(connecting(0), lost(1006), recordingContext({ maxAttempts: 1 }))
    expect(state.status === 'closed' ? state.error : undefined).toBeInstanceOf(MaxAttemptsError)
  })
})

describe('client machine: server pacing (LL-INTENT-3, LL-CLIENT-4)', () => {
  it('LL-INTENT-3: retryAfterMs + jitterMs * random, rounded, from open, without counting a failure', () => {
    const context = recordingContext({ random: () => 0.3 })
    const [state, effects] = transition(
      open,
      lost(4200, bye(4200, { retryAfterMs: 2000, jitterMs: 8001 })),
      context,
    )
    // 2000 + 8001 * 0.3 = 4400.3
    expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 4400, reason: 'server' })
    expect(effects).toEqual([{ type: 'schedule', delayMs: 4400 }])
    expect(context.calls).toEqual([])
  })

  it('LL-CLIENT-4: retryAfterMs takes precedence over the backoff while connecting and keeps the failure count', () => {
    const context = recordingContext({ random: () => 0.5, maxAttempts: 3 })
    const [state, effects] = transition(
      connecting(2),
      lost(4101, bye(4101, { retryAfterMs: 1500, jitterMs: 3 })),
      context,
    )
    // 1500 + 1.5 rounds to 1502; failures stay 2, so maxAttempts (3) is not reached.
    expect(state).toEqual({ status: 'waiting', failures: 2, delayMs: 1502, reason: 'server' })
    expect(effects).toEqual([{ type: 'schedule', delayMs: 1502 }])
    expect(context.calls).toEqual([])
  })

  it('LL-INTENT-3: jitterMs alone (no retryAfterMs) still paces the retry', () => {
    const [state] = transition(
      open,
      lost(4200, bye(4200, { jitterMs: 1000 })),
      recordingContext({ random: () => 0.75 }),
    )
    expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 750, reason: 'server' })
  })

  it('LL-INTENT-3: retryAfterMs 0 with no jitter is an immediate, server-paced retry', () => {
    const [state, effects] = transition(open, lost(4200, bye(4200, { retryAfterMs: 0 })), recordingContext())
    expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 0, reason: 'server' })
    expect(effects).toEqual([{ type: 'schedule', delayMs: 0 }])
  })

  it('LL-INTENT-3: negative or non-finite pacing counts as 0', () => {
    const [state] = transition(
      open,
      lost(4200, bye(4200, { retryAfterMs: -500, jitterMs: Number.NaN })),
      recordingContext({ random: () => 0.9 }),
    )
    expect(state).toMatchObject({ status: 'waiting', delayMs: 0, reason: 'server' })
  })

  it('LL-INTENT-2: pacing never overrides a fatal code', () => {
    const [state] = transition(
      open,
      lost(4005, bye(4005, { reconnect: true, retryAfterMs: 100 })),
      recordingContext(),
    )
    expect(state.status).toBe('closed')
  })

  it('LL-INTENT-3: a bye without pacing from open with 4200 is an immediate retry', () => {
    const [state] = transition(open, lost(4200, bye(4200)), recordingContext())
    expect(state).toEqual({ status: 'waiting', failures: 0, delayMs: 0, reason: 'backoff' })
  })
})

describe('client machine: lost in other states', () => {
  for (const [name, state] of allStates.filter(([n]) => n !== 'connecting' && n !== 'open')) {
    it(`LL-CLIENT-5: lost in ${name} is ignored`, () => {
      const [next, effects] = transition(state, lost(4005), recordingContext())
      expect(next).toBe(state)
      expect(effects).toEqual([])
    })
  }
})

describe('client machine: retry', () => {
  for (const reason of ['backoff', 'server'] as const) {
    it(`LL-CLIENT-1: retry while waiting(${reason}) dials, keeping the failure count`, () => {
      const [state, effects] = transition(waiting(reason, 4), { type: 'retry' }, recordingContext())
      expect(state).toEqual({ status: 'connecting', failures: 4 })
      expect(effects).toEqual([{ type: 'dial' }])
    })
  }

  for (const [name, state] of allStates.filter(
    ([n]) => n !== 'waiting(backoff)' && n !== 'waiting(server)',
  )) {
    it(`LL-BEAT-4: retry in ${name} is ignored (a stale timer must not dial)`, () => {
      const [next, effects] = transition(state, { type: 'retry' }, recordingContext())
      expect(next).toBe(state)
      expect(effects).toEqual([])
    })
  }
})

describe('client machine: online and offline (LL-BEAT-4)', () => {
  for (const reason of ['backoff', 'offline'] as const) {
    it(`LL-BEAT-4: online while waiting(${reason}) cancels the timer and dials at once`, () => {
      const [state, effects] = transition(waiting(reason, 3), { type: 'online' }, recordingContext())
      expect(state).toEqual({ status: 'connecting', failures: 3 })
      expect(effects).toEqual([{ type: 'cancel-retry' }, { type: 'dial' }])
    })
  }

  it('LL-CLIENT-4: online while waiting on the server (retryAfterMs) does not jump the queue', () => {
    const state = waiting('server')
    const [next, effects] = transition(state, { type: 'online' }, recordingContext())
    expect(next).toBe(state)
    expect(effects).toEqual([])
  })

  for (const [name, state] of allStates.filter(([n]) => !n.startsWith('waiting'))) {
    it(`LL-BEAT-4: online in ${name} is ignored`, () => {
      const [next, effects] = transition(state, { type: 'online' }, recordingContext())
      expect(next).toBe(state)
      expect(effects).toEqual([])
    })
  }

  it('LL-BEAT-4: offline while backing off cancels the retry and waits for the network', () => {
    const [state, effects] = transition(waiting('backoff', 2, 800), { type: 'offline' }, recordingContext())
    expect(state).toEqual({ status: 'waiting', failures: 2, delayMs: 800, reason: 'offline' })
    expect(effects).toEqual([{ type: 'cancel-retry' }])
    // The stale retry timer, had it fired anyway, is ignored.
    expect(transition(state, { type: 'retry' }, recordingContext())[1]).toEqual([])
  })

  for (const [name, state] of allStates.filter(([n]) => n !== 'waiting(backoff)')) {
    it(`LL-BEAT-4: offline in ${name} changes nothing (an open link is left to its heartbeat)`, () => {
      const [next, effects] = transition(state, { type: 'offline' }, recordingContext())
      expect(next).toBe(state)
      expect(effects).toEqual([])
    })
  }

  it('LL-BEAT-4: a link lost while the environment says offline waits for the network, without a dial or a timer', () => {
    const context = recordingContext()
    const lostOffline = (code: number, bye?: ByeInfo): ConnectionEvent => ({
      type: 'lost',
      code,
      reason: 'gone',
      bye,
      online: false,
    })
    const offline = lostOffline(1006)
    expect(transition(open, offline, context)).toEqual([
      { status: 'waiting', failures: 0, delayMs: 0, reason: 'offline' },
      [],
    ])
    const [state] = transition({ status: 'connecting', failures: 2 }, offline, context)
    expect(state).toEqual({ status: 'waiting', failures: 2, delayMs: 0, reason: 'offline' })
    // A fatal code still ends it; a server's pacing still stands.
    expect(transition(open, lostOffline(4005), context)[0].status).toBe('closed')
    const bye = { code: 4200, reason: 'deploy', reconnect: true, retryAfterMs: 500, jitterMs: 0 }
    expect(transition(open, lostOffline(4200, bye), context)[0]).toMatchObject({
      reason: 'server',
    })
    // Online again: a dial at once.
    expect(transition(state, { type: 'online' }, context)[1]).toEqual([
      { type: 'cancel-retry' },
      { type: 'dial' },
    ])
  })

  it('LL-BEAT-4: offline then online round-trips to a dial with the same failure count', () => {
    const context = recordingContext()
    const [offline] = transition(waiting('backoff', 5), { type: 'offline' }, context)
    const [back, effects] = transition(offline, { type: 'online' }, context)
    expect(back).toEqual({ status: 'connecting', failures: 5 })
    expect(effects).toEqual([{ type: 'cancel-retry' }, { type: 'dial' }])
  })
})

describe('client machine: close (LL-INTENT-1)', () => {
  const expectClosedByClient = (state: ConnectionState, effects: readonly ConnectionEffect[]) => {
    expect(state).toEqual({ status: 'closed', error: undefined })
    const error = failPending(effects)
    expect(error).toBeInstanceOf(ConnectionClosedError)
    expect(error).toMatchObject({ code: 1000 })
    expect(effects[effects.length - 1]?.type).toBe('fail-pending')
  }

  it('LL-INTENT-1: close when open says bye, hangs up and fails pending sends', () => {
    const [state, effects] = transition(open, { type: 'close' }, recordingContext())
    expectClosedByClient(state, effects)
    expect(effects.slice(0, -1)).toEqual([{ type: 'hang-up', bye: true }])
  })

  it('LL-INTENT-1: close while connecting hangs up without bye (there is no session to end yet)', () => {
    const [state, effects] = transition(connecting(2), { type: 'close' }, recordingContext())
    expectClosedByClient(state, effects)
    expect(effects.slice(0, -1)).toEqual([{ type: 'hang-up', bye: false }])
  })

  for (const reason of ['backoff', 'server', 'offline'] as const) {
    it(`LL-INTENT-1: close while waiting(${reason}) cancels the retry and never says bye`, () => {
      const [state, effects] = transition(waiting(reason), { type: 'close' }, recordingContext())
      expectClosedByClient(state, effects)
      expect(effects.slice(0, -1)).toEqual([{ type: 'cancel-retry' }])
    })
  }

  it('LL-INTENT-1: close while idle fails pending sends and has nothing to hang up', () => {
    const [state, effects] = transition(idle, { type: 'close' }, recordingContext())
    expectClosedByClient(state, effects)
    expect(effects).toHaveLength(1)
  })

  it('LL-INTENT-1: close when already closed does nothing, and keeps the original error', () => {
    const error = new ServerClosedError(4005, 'kicked')
    const state: ConnectionState = { status: 'closed', error }
    const [next, effects] = transition(state, { type: 'close' }, recordingContext())
    expect(next).toBe(state)
    expect(effects).toEqual([])
  })

  it('LL-INTENT-1: after close no event leads anywhere', () => {
    const context = recordingContext()
    const [state] = transition(open, { type: 'close' }, context)
    const events: ConnectionEvent[] = [
      { type: 'connect', online: true },
      { type: 'welcome' },
      lost(1006),
      { type: 'retry' },
      { type: 'online' },
      { type: 'offline' },
      { type: 'close' },
    ]
    for (const event of events) {
      const [next, effects] = transition(state, event, context)
      expect(next).toBe(state)
      expect(effects).toEqual([])
    }
  })
})

describe('client machine: a full life', () => {
  it('LL-CLIENT-1, LL-HELLO-4: connect, open, drop, immediate retry fails, backoff, open again', () => {
    const context = recordingContext()
    const trail: string[] = []
    let state: ConnectionState = idle
    const step = (event: ConnectionEvent) => {
      const [next, effects] = transition(state, event, context)
      state = next
      trail.push(
        `${next.status}${'failures' in next ? `/${next.failures}` : ''}:${effects.map((e) => e.type).join('+')}`,
      )
    }
    step({ type: 'connect', online: true })
    step({ type: 'welcome' })
    step(lost(1006))
    step({ type: 'retry' })
    step(lost(1006))
    step({ type: 'retry' })
    step(lost(4101))
    step({ type: 'retry' })
    step({ type: 'welcome' })
    step({ type: 'close' })
    expect(trail).toEqual([
      'connecting/0:dial',
      'open/0:',
      'waiting/0:schedule',
      'connecting/0:dial',
      'waiting/1:schedule',
      'connecting/1:dial',
      'waiting/2:schedule',
      'connecting/2:dial',
      'open/0:',
      'closed:hang-up+fail-pending',
    ])
    expect(context.calls.map((c) => [c.attempt, c.code])).toEqual([
      [1, 1006],
      [2, 4101],
    ])
  })
})
