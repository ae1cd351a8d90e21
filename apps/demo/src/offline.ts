/**
 * The demo's "go offline" switch: a ClientEnvironment that reports offline while the switch is on,
 * and a transport wrapper that behaves like a pulled cable: no new connection can be dialled, and a
 * connection alive when the switch went on carries nothing more in either direction.
 */
import type {
  ClientEnvironment,
  ClientTransport,
  EnvironmentHandlers,
  Payload,
  TransportConnection,
  TransportHandlers,
} from '@lifeline/core'

interface Attempt {
  /** Alive when the switch went on: it must not carry anything, and must not outlive the outage. */
  tainted: boolean
  /** Ends the attempt locally, reported to the client as a failed link (1006). */
  cut(): void
}

export interface OfflineSwitch {
  readonly environment: ClientEnvironment
  readonly offline: boolean
  /** Turns the simulated outage on or off. */
  set(offline: boolean): void
  /** Wraps a transport so that it obeys the switch. */
  wrap(transport: ClientTransport): ClientTransport
  /** Cuts, locally, every connection that was alive when the switch went on. */
  cutTainted(): void
}

const OFFLINE = { code: 1006, reason: 'offline (demo switch)', clean: false } as const

export function offlineSwitch(base: ClientEnvironment): OfflineSwitch {
  let forced = false
  const subscribers = new Set<EnvironmentHandlers>()
  const attempts = new Set<Attempt>()

  const tellOffline = (): void => {
    if (!forced) return
    for (const handlers of subscribers) handlers.offline()
  }

  const environment: ClientEnvironment = {
    isOnline: () => !forced && base.isOnline(),
    subscribe(handlers) {
      subscribers.add(handlers)
      const stop = base.subscribe({
        online: () => {
          if (!forced) handlers.online()
        },
        offline: () => handlers.offline(),
        visible: () => handlers.visible(),
        hidden: () => handlers.hidden(),
      })
      return () => {
        subscribers.delete(handlers)
        stop()
      }
    },
  }

  /** A dial while offline fails like a dial without a network, a moment later. */
  const refuse = (handlers: TransportHandlers): TransportConnection => {
    setTimeout(() => {
      handlers.close(OFFLINE)
      tellOffline() // now that the attempt failed, park the client until the switch goes off
    }, 0)
    return { send: () => {}, close: () => {} }
  }

  const wrap = (inner: ClientTransport): ClientTransport => {
    const connect = (handlers: TransportHandlers): TransportConnection => {
      if (forced) return refuse(handlers)
      let ended = false
      let connection: TransportConnection | undefined
      const attempt: Attempt = {
        tainted: false,
        cut: () => {
          if (ended) return
          ended = true
          attempts.delete(attempt)
          connection?.close(1000, 'offline (demo switch)')
          handlers.close(OFFLINE)
          tellOffline()
        },
      }
      const live = (): boolean => !ended && !attempt.tainted
      connection = inner.connect({
        open: () => {
          if (live()) handlers.open()
        },
        message: (payload: Payload) => {
          if (live()) handlers.message(payload) // a dead cable delivers nothing
        },
        close: (info) => {
          if (ended) return
          ended = true
          attempts.delete(attempt)
          handlers.close(attempt.tainted ? OFFLINE : info)
          if (attempt.tainted) tellOffline()
        },
        protocolError: (reason) => {
          if (live()) handlers.protocolError(reason)
        },
      })
      attempts.add(attempt)
      return {
        send: (payload) => {
          if (live()) connection?.send(payload)
        },
        close: (code, reason) => {
          attempts.delete(attempt)
          connection?.close(code, reason)
        },
      }
    }
    const probe = inner.probe?.bind(inner)
    return {
      encoding: inner.encoding,
      name: inner.name,
      connect,
      ...(probe === undefined
        ? {}
        : {
            probe: (): Promise<boolean> => {
              if (!forced) return probe()
              setTimeout(tellOffline, 0)
              return Promise.resolve(false)
            },
          }),
    }
  }

  return {
    environment,
    wrap,
    get offline() {
      return forced
    },
    set(offline) {
      if (offline === forced) return
      forced = offline
      if (offline) {
        for (const attempt of attempts) attempt.tainted = true
        tellOffline()
        return
      }
      // Anything that lived through the outage is suspect: cut it, the client resumes on a fresh link.
      for (const attempt of [...attempts]) if (attempt.tainted) attempt.cut()
      if (base.isOnline()) for (const handlers of subscribers) handlers.online()
    },
    cutTainted() {
      for (const attempt of [...attempts]) if (attempt.tainted) attempt.cut()
    },
  }
}
