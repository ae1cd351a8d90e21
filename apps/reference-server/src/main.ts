/**
 * The `lifeline-server` command: reads flags and environment, starts the server, prints where to
 * open the demo, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { ConfigError, parseConfig, usage, wantsHelp } from './config.js'
import { startServer } from './server.js'

async function main(argv: readonly string[]): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${usage()}\n`)
    return
  }
  let config: ReturnType<typeof parseConfig>
  try {
    config = parseConfig(argv, process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`lifeline-server: ${error.message}\n\n${usage()}\n`)
    process.exitCode = 2
    return
  }

  let running: Awaited<ReturnType<typeof startServer>>
  try {
    running = await startServer(config)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const detail =
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is already in use (try --port 0 for any free port)`
        : code === 'EACCES'
          ? `not allowed to listen on ${config.host}:${config.port}`
          : error instanceof Error
            ? error.message
            : String(error)
    process.stderr.write(`lifeline-server: could not start: ${detail}\n`)
    process.exitCode = 1
    return
  }
  if (running.controlUrl !== undefined) {
    const websocket = `${running.url.replace(/^http/, 'ws').replace(/\/$/, '')}/lifeline`
    process.stdout.write(
      `Lifeline reference server in conformance mode (tests only): ${websocket}, control channel ${running.controlUrl}\n`,
    )
  } else process.stdout.write(`Lifeline reference server: open ${running.url} in your browser\n`)

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      running.logger.warn('second signal: exiting now', { signal })
      process.exit(1)
    }
    stopping = true
    running.logger.info('signal received', { signal })
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.logger.error('shutdown failed', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `lifeline-server: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
  )
  process.exit(1)
})
