/** The `lifeline-server` command as a process: the start line, the secret warning, signals, exit codes. */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

interface Run {
  readonly child: ChildProcess
  stdout: string
  stderr: string
  readonly exited: Promise<number | null>
}

function run(args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, LIFELINE_SECRET: '', PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const result: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  }
  child.stdout?.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString()
  })
  return result
}

describe('lifeline-server', () => {
  it('prints where to open the demo, warns without a secret, and exits 0 on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const server = run(['--port', '0', '--log-level', 'info'])
    try {
      await expect
        .poll(() => server.stdout, { timeout: 20_000, interval: 50 })
        .toMatch(/^Lifeline reference server: open http:\/\/127\.0\.0\.1:\d+\/ in your browser$/m)
      const url = /open (http:\S+) in/.exec(server.stdout)?.[1] as string
      expect((await fetch(`${url}healthz`)).status).toBe(200)
      expect(server.stderr).toMatch(/WARNING: no LIFELINE_SECRET/)
      expect(server.stdout).toMatch(/"msg":"listening"/)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      expect(server.stdout).toMatch(/"msg":"stopped"/)
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('refuses a bad configuration with exit code 2 and says why', { timeout: 30_000 }, async () => {
    const bad = run(['--port', 'eighty'])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr).toMatch(/--port must be a whole number/)
    expect(bad.stderr).toMatch(/Usage: lifeline-server/)
  })
})
