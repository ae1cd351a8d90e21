/**
 * A child process that runs client code for a benchmark, so clients and server do not share one event
 * loop (nor one core). The parent calls functions exported by a module, by file path; the module's own
 * state lives on in the child between calls.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('./peer-main.ts', import.meta.url))

interface Reply {
  readonly id: number
  readonly value?: unknown
  readonly error?: string
}

export interface PeerOptions {
  /** Extra node flags, e.g. `--expose-gc`. */
  readonly execArgv?: readonly string[]
}

export class Peer {
  private nextId = 0
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  private exited: Error | undefined

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id)
      if (call === undefined) return
      this.pending.delete(reply.id)
      if (reply.error === undefined) call.resolve(reply.value)
      else call.reject(new Error(`peer ${name}: ${reply.error}`))
    })
    child.on('exit', (code, signal) => {
      this.exited = new Error(`peer ${name} exited (${signal ?? code})`)
      for (const call of this.pending.values()) call.reject(this.exited)
      this.pending.clear()
    })
  }

  /** Starts a child with the parent's loader flags (tsx), so it runs TypeScript modules too. */
  static async start(name: string, options: PeerOptions = {}): Promise<Peer> {
    const child = fork(MAIN, [], {
      execArgv: [...process.execArgv, ...(options.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`peer ${name} failed to start (${code})`)))
    })
    return new Peer(name, child)
  }

  /** Calls `fn(args)` exported by the module at `modulePath` (an absolute path or file URL) in the child. */
  call<T>(modulePath: string, fn: string, args: unknown = {}): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(this.exited)
    const id = ++this.nextId
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ id, module: modulePath, fn, args })
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  async stop(): Promise<void> {
    if (this.exited !== undefined || this.child.exitCode !== null) return
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGKILL')
    await gone
  }
}

/** The path of a module next to the caller, for `peer.call(here(import.meta.url, './x.ts'), ...)`. */
export function here(base: string, relative: string): string {
  return fileURLToPath(new URL(relative, base))
}
