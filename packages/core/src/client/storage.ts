/**
 * Where the client keeps what it needs to resume: the memento and app memento, untouched
 * (LL-MEMENTO-1, LL-APPM-2), its cursors with their epochs, and, in a storage that outlives the page,
 * its send counter and unacked sends (LL-SEND-9). Memory by default; a browser can back it with
 * sessionStorage so a reload resumes the same session and sends what was typed before it. `load` and
 * `save` may return promises, so an IndexedDB storage fits the same interface.
 */

/** An unacked send as stored: enough to send it again after a reload (LL-SEND-9). */
export interface StoredSend {
  readonly id: string
  /** Its seq in the session, or 0 when not numbered yet. */
  readonly seq: number
  readonly topic?: string
  /** The data as JSON, exactly as it is sent. */
  readonly json: string
  /** Written to a connection: under which de-duplication windows, and when first (LL-SEND-10). */
  readonly written?: { readonly epochs: readonly string[]; readonly at: number }
}

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
  /** Unacked sends, oldest first, and the next seq of the session (LL-SEND-8, LL-SEND-9). */
  readonly sends?: readonly StoredSend[]
  readonly nextSeq?: number
  /** Ids of sends the storage could not keep: reported as lost by the next page (LL-SEND-9). */
  readonly unsaved?: readonly string[]
}

export interface SessionStorage {
  /**
   * True when what is saved outlives the page (web storage, IndexedDB): the client then keeps its
   * unacked sends there too (LL-SEND-9). False or absent: only the session, for reconnects.
   */
  readonly persistent?: boolean
  load(): StoredSession | undefined | Promise<StoredSession | undefined>
  /** Throws (or rejects) when the storage refuses, e.g. over its quota: the client then keeps less. */
  save(session: StoredSession): void | Promise<void>
  clear(): void | Promise<void>
}

/** A storage that answers at once (memory, web storage). */
export interface SyncSessionStorage extends SessionStorage {
  load(): StoredSession | undefined
  save(session: StoredSession): void
  clear(): void
}

/**
 * Saves a session, keeping as many of its oldest sends as the storage takes: on a refusal it tries
 * again with half of them, down to none. Returns the ids of the sends it could not keep (LL-SEND-9),
 * every id when the storage refuses even the session; synchronously when the storage is synchronous.
 */
export function saveKeeping(storage: SessionStorage, session: StoredSession): string[] | Promise<string[]> {
  const sends = session.sends ?? []
  const attempt = (keep: number): string[] | Promise<string[]> => {
    const unsaved = sends.slice(keep).map((send) => send.id)
    const next = () => (keep === 0 ? sends.map((send) => send.id) : attempt(Math.floor(keep / 2)))
    const partial: StoredSession =
      unsaved.length === 0
        ? session
        : { ...session, sends: sends.slice(0, keep), unsaved: [...(session.unsaved ?? []), ...unsaved] }
    let saved: void | Promise<void>
    try {
      saved = storage.save(partial)
    } catch {
      return next()
    }
    return saved instanceof Promise ? saved.then(() => unsaved, next) : unsaved
  }
  return attempt(sends.length)
}

/** Keeps the session in memory: it survives reconnects, not reloads. The default. */
export function memoryStorage(initial?: StoredSession): SyncSessionStorage {
  let current = initial
  return {
    persistent: false,
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
 * resumes while two tabs keep two sessions (a duplicated tab is handled by LL-RESUME-8). A save over
 * the quota throws, so the client keeps fewer sends and reports the others (LL-SEND-9).
 */
export function webStorage(storage: WebStorageLike, key = 'lifeline.session'): SyncSessionStorage {
  return {
    persistent: true,
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
    save: (session) => storage.setItem(key, JSON.stringify(session)),
    clear: () => {
      try {
        storage.removeItem(key)
      } catch {
        // as above
      }
    },
  }
}
