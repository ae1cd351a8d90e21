/**
 * Signals from the host that speed up recovery (LL-BEAT-4): the network coming back, the page becoming
 * visible again, the page being hidden for good. Injected; inert under Node.
 */

export interface EnvironmentHandlers {
  online(): void
  offline(): void
  /** The page became visible: probe the link, it may have died while hidden. */
  visible(): void
  /** The page is being hidden or unloaded: flush what can be flushed. */
  hidden(): void
}

export interface ClientEnvironment {
  /** True when the host believes the network is up. */
  isOnline(): boolean
  /** Starts delivering signals; returns the function that stops them. */
  subscribe(handlers: EnvironmentHandlers): () => void
}

/** No signals: always online. The default outside browsers. */
export const inertEnvironment: ClientEnvironment = {
  isOnline: () => true,
  subscribe: () => () => {},
}

interface BrowserGlobals {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
  navigator?: { onLine?: boolean }
  document?: {
    visibilityState?: string
    addEventListener(type: string, listener: () => void): void
    removeEventListener(type: string, listener: () => void): void
  }
}

/** Browser signals from `window` and `document`; inert when they are missing. */
export function browserEnvironment(host: unknown = globalThis): ClientEnvironment {
  const globals = host as Partial<BrowserGlobals>
  const doc = globals.document
  if (typeof globals.addEventListener !== 'function' || doc === undefined) return inertEnvironment
  const win = globals as BrowserGlobals
  return {
    isOnline: () => win.navigator?.onLine !== false,
    subscribe: (handlers) => {
      const onVisibility = () => (doc.visibilityState === 'visible' ? handlers.visible() : handlers.hidden())
      const listeners: Array<[string, () => void]> = [
        ['online', () => handlers.online()],
        ['offline', () => handlers.offline()],
        ['pagehide', () => handlers.hidden()],
      ]
      for (const [type, listener] of listeners) win.addEventListener(type, listener)
      doc.addEventListener('visibilitychange', onVisibility)
      return () => {
        for (const [type, listener] of listeners) win.removeEventListener(type, listener)
        doc.removeEventListener('visibilitychange', onVisibility)
      }
    },
  }
}
