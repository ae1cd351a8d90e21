/**
 * Real nats-server processes for tests (Debian's nats-server 2.9.x, installed by
 * scripts/system-deps.sh): one server or a cluster, with JetStream, on free loopback ports, each with
 * its own temp store. They stop by themselves: `stop()`, the test process exiting, or a watchdog when
 * the test process dies without cleaning up (SIGKILL of a vitest worker).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, sleep } from './wait.js'

export interface NatsServerOptions {
  /** Enable JetStream with a store under the server's temp dir. Default: true. */
  readonly jetstream?: boolean
  /** Also listen for websocket clients (browsers), without TLS, on a free port. Default: false. */
  readonly websocket?: boolean
  /** NATS max_payload in bytes. Default: the server's (1 MiB). */
  readonly maxPayload?: number
  /** Extra configuration appended verbatim, e.g. an `authorization { ... }` block. */
  readonly config?: string
  /** The process is SIGKILLed after this long whatever happens (a leak bound). Default: 15 minutes. */
  readonly lifetimeMs?: number
  /** How long start and restart may take. Default: 10000 ms. */
  readonly readyTimeoutMs?: number
}

interface Ports {
  readonly client: number
  readonly monitor: number
  readonly cluster: number | undefined
  readonly websocket: number | undefined
}

/** The nats-server binary: $NATS_SERVER, or Debian's, or whatever is on PATH. */
export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'])
    if (existsSync(candidate)) return candidate
  return 'nats-server'
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

/** Kills `pid` when this process dies or after `lifetimeMs`, whichever comes first. */
function watchdog(pid: number, lifetimeMs: number): void {
  const seconds = Math.max(1, Math.ceil(lifetimeMs / 1000))
  const script =
    'i=0; while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null && [ "$i" -lt "$3" ]; do sleep 1; i=$((i+1)); done; kill -9 "$2" 2>/dev/null'
  const dog = spawn('sh', ['-c', script, 'watchdog', String(process.pid), String(pid), String(seconds)], {
    detached: true,
    stdio: 'ignore',
  })
  dog.unref()
}

/** One nats-server process; `kill` and `restart` keep its ports, config and JetStream store. */
export class NatsServer {
  private child: ChildProcess | undefined
  private log: string[] = []
  private stopped = false

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly ports: Ports,
    private readonly options: NatsServerOptions,
  ) {}

  /** `nats://127.0.0.1:port` for Node clients. */
  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`
  }

  get port(): number {
    return this.ports.client
  }

  /** `ws://127.0.0.1:port` for browser clients, when started with `websocket: true`. */
  get wsUrl(): string {
    if (this.ports.websocket === undefined) throw new Error(`${this.name}: started without websocket`)
    return `ws://127.0.0.1:${this.ports.websocket}`
  }

  /** The HTTP monitoring endpoint (`/varz`, `/jsz`, `/healthz`). */
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.ports.monitor}`
  }

  get clusterPort(): number | undefined {
    return this.ports.cluster
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** The server's recent log lines, for failure messages. */
  get output(): string {
    return this.log.join('')
  }

  /** Starts the process and waits until it answers /healthz. */
  async start(): Promise<void> {
    if (this.running) return
    this.stopped = false
    installExitHook()
    const child = spawn(natsServerBinary(), ['-c', join(this.dir, 'nats.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.child = child
    live.add(child)
    child.once('exit', () => live.delete(child))
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.log.push(chunk)
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200)
    })
    if (child.pid !== undefined) watchdog(child.pid, this.options.lifetimeMs ?? 15 * 60_000)
    await this.waitHealthy(this.options.readyTimeoutMs ?? 10_000)
  }

  /** SIGKILL: no flush, no goodbye, as a crashed or powered-off machine. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL')
  }

  /** Starts the process again on the same ports with the same store. */
  async restart(): Promise<void> {
    if (this.running) await this.signal('SIGTERM')
    await this.start()
  }

  /** Stops the process and removes its store. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.running) await this.signal('SIGTERM')
    await rm(this.dir, { recursive: true, force: true })
  }

  /** Resolves once /healthz answers 200 (JetStream ready, when enabled). */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const started = performance.now()
    let last = ''
    while (performance.now() - started < timeoutMs) {
      if (!this.running && this.child !== undefined) {
        throw new Error(
          `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.output}`,
        )
      }
      try {
        const response = await fetch(`${this.monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) })
        last = `${response.status} ${await response.text()}`
        if (response.ok) return
      } catch (error) {
        last = String(error)
      }
      await sleep(25)
    }
    throw new Error(`${this.name} not healthy after ${timeoutMs} ms (${last}):\n${this.output}`)
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === undefined || !this.running) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    const timeout = sleep(5000).then(() => child.kill('SIGKILL'))
    await Promise.race([exited, timeout])
    await exited
  }
}

async function allocatePorts(cluster: boolean, websocket: boolean): Promise<Ports> {
  // Distinct even while none is bound yet: freePort hands back a just-closed port.
  const taken = new Set<number>()
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await freePort()
      if (!taken.has(port)) {
        taken.add(port)
        return port
      }
    }
  }
  return {
    client: await next(),
    monitor: await next(),
    cluster: cluster ? await next() : undefined,
    websocket: websocket ? await next() : undefined,
  }
}

function configText(
  name: string,
  dir: string,
  ports: Ports,
  options: NatsServerOptions,
  routes: readonly number[],
): string {
  const lines = [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${ports.client}`,
    `http: 127.0.0.1:${ports.monitor}`,
  ]
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`)
  if (options.jetstream ?? true) {
    lines.push(
      `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))}, max_memory_store: 256MB, max_file_store: 1GB }`,
    )
  }
  if (ports.cluster !== undefined) {
    const urls = routes.map((port) => `nats-route://127.0.0.1:${port}`).join(', ')
    lines.push(`cluster { name: lifeline-test, listen: 127.0.0.1:${ports.cluster}, routes: [${urls}] }`)
  }
  if (ports.websocket !== undefined)
    lines.push(`websocket { listen: "127.0.0.1:${ports.websocket}", no_tls: true }`)
  if (options.config !== undefined) lines.push(options.config)
  return `${lines.join('\n')}\n`
}

async function prepare(
  name: string,
  ports: Ports,
  options: NatsServerOptions,
  routes: readonly number[],
): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), `lifeline-nats-${name}-`))
  await writeFile(join(dir, 'nats.conf'), configText(name, dir, ports, options, routes))
  return new NatsServer(name, dir, ports, options)
}

/**
 * Starts one nats-server (JetStream on by default). Stop it in `afterAll`/`afterEach`:
 *
 * ```ts
 * const nats = await startNatsServer({ websocket: true })
 * onTestFinished(() => nats.stop())
 * ```
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const ports = await allocatePorts(false, options.websocket ?? false)
  const server = await prepare('n1', ports, options, [])
  try {
    await server.start()
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

/** A cluster of nats-servers joined by routes, JetStream clustered across them. */
export class NatsCluster {
  constructor(readonly servers: readonly NatsServer[]) {}

  /** Every node's client URL: give all to a client so it fails over. */
  get urls(): string[] {
    return this.servers.map((server) => server.url)
  }

  server(index: number): NatsServer {
    const server = this.servers[index]
    if (server === undefined)
      throw new RangeError(`no server ${index} in a cluster of ${this.servers.length}`)
    return server
  }

  /** Waits until every running node reports healthy (JetStream meta leader known). */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await Promise.all(this.servers.filter((s) => s.running).map((s) => s.waitHealthy(timeoutMs)))
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()))
  }
}

/** Starts `size` nats-servers in one cluster (routes to each other) and waits until all are healthy. */
export async function startNatsCluster(size = 3, options: NatsServerOptions = {}): Promise<NatsCluster> {
  const allPorts: Ports[] = []
  for (let i = 0; i < size; i++) allPorts.push(await allocatePorts(true, options.websocket ?? false))
  const clusterPorts = allPorts.map((ports) => ports.cluster as number)
  const servers: NatsServer[] = []
  for (const [i, ports] of allPorts.entries()) {
    const routes = clusterPorts.filter((_, j) => j !== i)
    servers.push(await prepare(`n${i + 1}`, ports, options, routes))
  }
  const cluster = new NatsCluster(servers)
  try {
    // Started together: a clustered JetStream node is healthy only once a meta leader is elected.
    await Promise.all(servers.map((server) => server.start().catch(() => undefined)))
    await cluster.waitHealthy(options.readyTimeoutMs ?? 20_000)
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
