/**
 * An HTTP proxy of the kind some networks have: it forwards plain requests (Socket.IO long-polling gets
 * through) and can refuse every WebSocket upgrade with 403, as a proxy that blocks WebSockets does.
 */
import { createServer, request, type Server } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'

export class UpgradeBlockingProxy {
  /** While true, upgrades get 403 and open tunnels are cut. */
  blockUpgrades = false
  /** While true, plain HTTP requests get 503 (long-polling fails). */
  blockRequests = false
  upgradesRefused = 0
  private readonly server: Server
  private readonly tunnels = new Set<Socket>()

  constructor(private readonly targetPort: number) {
    this.server = createServer((req, res) => {
      if (this.blockRequests) return void res.writeHead(503, { Connection: 'close' }).end()
      const forward = request(
        { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      forward.on('error', () => res.destroy())
      req.pipe(forward)
    })
    this.server.on('upgrade', (req, socket: Socket, head: Buffer) => {
      socket.on('error', () => {})
      if (this.blockUpgrades) {
        this.upgradesRefused++
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        return
      }
      const upstream = connect(this.targetPort, '127.0.0.1', () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`]
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
        upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
      upstream.on('error', () => socket.destroy())
      socket.on('close', () => upstream.destroy())
      upstream.on('close', () => socket.destroy())
      this.tunnels.add(socket)
      socket.on('close', () => this.tunnels.delete(socket))
    })
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return (this.server.address() as AddressInfo).port
  }

  /** Blocks upgrades from now on and cuts the WebSockets already through, as a new proxy rule would. */
  block(): void {
    this.blockUpgrades = true
    for (const socket of this.tunnels) socket.destroy()
  }

  async close(): Promise<void> {
    for (const socket of this.tunnels) socket.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
