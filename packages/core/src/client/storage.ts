/**
 * Where the client keeps what it needs to resume: the memento and app memento, untouched
 * (LL-MEMENTO-1, LL-APPM-2) and its cursors. Memory by default; a browser can back it with
 * sessionStorage so a reload resumes the same session.
 */

export interface StoredSession {
  readonly memento?: string
  readonly appMemento?: string
  /** The readable value of `appMemento` (LL-APPM-5). */
  readonly appMementoValue?: unknown
  /** Each topic's app memento, as of its cursor (LL-APPM-7). */
  readonly topicMementos?: Readonly<Record<string, unknown>>
  /** Cursor per stream; the direct stream's key is the empty string. */
  readonly cursors?: Readonly<Record<string, number>>
  /** The incarnation of each topic cursor (LL-EPOCH-2). */
  readonly epochs?: Readonly<Record<string, string>>
}

export interface SessionStorage {
  load(): StoredSession | undefined
  save(session: StoredSession): void
  clear(): void
}

/** Keeps the session in memory: it survives reconnects, not reloads. The default. */
export function memoryStorage(initial?: StoredSession): SessionStorage {
  let current = initial
  return {
    load: () => current,
    save: (session) => {
      current = session
    },
    clear: () => {
      current = undefined
    },
  }
}

/** The slice of the Web Storage API this needs (sessionStorage, localStorage). */
export interface WebStorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * Keeps the session in Web Storage under `key`. Use sessionStorage: it is per tab, so a reload
 * resumes while two tabs keep two sessions (a duplicated tab is handled by LL-RESUME-8).
 */
export function webStorage(storage: WebStorageLike, key = 'lifeline.session'): SessionStorage {
  return {
    load: () => {
      try {
        const text = storage.getItem(key)
        if (text === null) return undefined
        const value: unknown = JSON.parse(text)
        return typeof value === 'object' && value !== null ? (value as StoredSession) : undefined
      } catch {
        return undefined // unreadable storage must not stop the client from connecting
      }
    },
    save: (session) => {
      try {
        storage.setItem(key, JSON.stringify(session))
      } catch {
        // quota or privacy mode: the session still works, it just will not survive a reload
      }
    },
    clear: () => {
      try {
        storage.removeItem(key)
      } catch {
        // as above
      }
    },
  }
}
