import { connect as tcpConnect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type NatsCluster, type NatsServer, startNatsCluster, startNatsServer } from '../src/index.js'

const started: (NatsServer | NatsCluster)[] = []
afterEach(async () => {
  for (const entry of started.splice(0)) await entry.stop()
})

async function varz(server: NatsServer): Promise<Record<string, unknown>> {
  return (await (await fetch(`${server.monitorUrl}/varz`)).json()) as Record<string, unknown>
}

async function jsz(server: NatsServer): Promise<Record<string, unknown>> {
  return (await (await fetch(`${server.monitorUrl}/jsz`)).json()) as Record<string, unknown>
}

/** True when a TCP connection to the port succeeds. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe('nats-server processes', () => {
  it('starts one server with JetStream and a websocket listener, kills and restarts it', async () => {
    const nats = await startNatsServer({ websocket: true })
    started.push(nats)
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/)
    expect(nats.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    const info = await varz(nats)
    expect(info.version).toMatch(/^2\./)
    expect((info.jetstream as { config?: { store_dir?: string } }).config?.store_dir).toContain(nats.dir)
    expect(await accepts(nats.port)).toBe(true)
    await nats.kill()
    expect(nats.running).toBe(false)
    expect(await accepts(nats.port)).toBe(false)
    await nats.restart()
    expect(await accepts(nats.port)).toBe(true)
    expect(await accepts(Number(new URL(nats.wsUrl).port))).toBe(true)
  })

  it('starts a 3-node cluster with one JetStream meta leader; survives one node killed', async () => {
    const cluster = await startNatsCluster(3)
    started.push(cluster)
    const leaders = await Promise.all(
      cluster.servers.map(
        async (s) => (await jsz(s)) as { meta_cluster?: { leader?: string; cluster_size?: number } },
      ),
    )
    expect(leaders.every((j) => j.meta_cluster?.cluster_size === 3)).toBe(true)
    const routes = (await (await fetch(`${cluster.server(0).monitorUrl}/routez`)).json()) as {
      num_routes: number
    }
    expect(routes.num_routes).toBe(2)
    await cluster.server(1).kill()
    await cluster.waitHealthy()
    await cluster.server(1).restart()
    await cluster.waitHealthy()
    expect(cluster.servers.every((s) => s.running)).toBe(true)
  })

  it('stop removes the store directory and is safe twice', async () => {
    const nats = await startNatsServer()
    await nats.stop()
    await nats.stop()
    const { existsSync } = await import('node:fs')
    expect(existsSync(nats.dir)).toBe(false)
    expect(nats.running).toBe(false)
  })
})
