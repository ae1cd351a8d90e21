import { request } from 'node:http'
import { createClient, type LifelineClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import type { Config } from '../src/config.js'
import { type RunningServer, startServer } from '../src/server.js'

export const SECRET = 'reference-server-tests-secret-0123456789abcdef'

export interface TestServer extends RunningServer {
  readonly logs: string[]
  readonly wsUrl: string
}

/** A server on 127.0.0.1, any free port, logs kept in memory (debug level, so everything is checked). */
export async function testServer(config: Partial<Config> = {}): Promise<TestServer> {
  const logs: string[] = []
  const running = await startServer(
    { port: 0, host: '127.0.0.1', secret: SECRET, logLevel: 'debug', ...config },
    { logSink: { write: (line: string) => logs.push(line) }, warnSink: { write: () => true } },
  )
  return { ...running, logs, wsUrl: `ws://127.0.0.1:${running.port}/lifeline` }
}

/** A Node client of the chat app, connected and joining `room`. */
export function chatClient(server: TestServer, name: string, room = 'room:lobby'): LifelineClient {
  const client = createClient({ transport: wsTransport(server.wsUrl), auth: { name } })
  client.connect()
  client.join(room).catch(() => {})
  return client
}

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** An HTTP request with the path sent exactly as given (no URL normalisation, unlike fetch). */
export function raw(port: number, path: string, method = 'GET', headers: Record<string, string> = {}) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The value of one Prometheus sample, e.g. `lifeline_sessions{state="connected"}`; 0 when absent. */
export function sample(metrics: string, series: string): number {
  for (const line of metrics.split('\n')) {
    if (line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    if (line.slice(0, space) === series) return Number(line.slice(space + 1))
  }
  return 0
}

export async function metricsOf(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.url}metrics`)
  return response.text()
}
