/** `lifeline-conformance` as a process: listing, usage errors, exit statuses, JSON and JUnit reports. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSpec, playedBy, vectorChecks } from '../src/index.js'
import { CLI, DRIVER, type ReferenceServers, referenceServers } from './helpers.js'

const spec = loadSpec()

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function cli(args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const dir = mkdtempSync(join(tmpdir(), 'lifeline-conformance-'))

describe('lifeline-conformance', () => {
  let reference: ReferenceServers

  beforeAll(async () => {
    reference = await referenceServers(1)
  })

  afterAll(async () => {
    await reference?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('lists what would run', async () => {
    const server = await cli(['server', '--list'])
    expect(server.code).toBe(0)
    expect(server.stdout).toMatch(/^trace {9}first-connect \[LL-HELLO-1, /m)
    expect(server.stdout).toMatch(
      /^frame-vector {2}client-invalid: hello without versions \[LL-FRAME-3, LL-HELLO-1\]$/m,
    )
    expect(server.stdout).not.toMatch(/duplicate-entries/) // checked on clients only
    const traces = spec.traces.filter((trace) => playedBy(trace, 'server')).length
    const vectors = vectorChecks(spec.vectorFiles.filter((file) => file.direction === 'client')).length
    expect(server.stdout).toContain(`\n${traces} traces, ${vectors} frame vectors\n`)

    const client = await cli(['client', '--list', '--rules', 'LL-RESUME-8'])
    expect(client.code).toBe(0)
    expect(client.stdout).toMatch(/^trace {9}duplicated-tab \[.*\] \(needs driver capability storage\)$/m)
    expect(client.stdout).toMatch(/^trace {9}half-open-resume /m)
    const resume8 = spec.traces.filter(
      (trace) => playedBy(trace, 'client') && trace.rules.includes('LL-RESUME-8'),
    )
    expect(client.stdout).toContain(`\n${resume8.length} traces\n`)
  })

  it.each([
    [[], /say which suite/],
    [['proxy'], /unknown suite "proxy"/],
    [['server'], /needs the server URL/],
    [['server', 'ws://127.0.0.1:1/lifeline'], /needs --control/],
    [['server', 'http://127.0.0.1:1/', '--control', 'http://127.0.0.1:1/c'], /must be ws:\/\/ or wss:\/\//],
    [['client'], /needs a driver command after --/],
    [['client', 'node', 'driver.js'], /the driver command goes after --/],
    [['client', '--timeout', 'soon', '--', 'node'], /--timeout must be a positive whole number/],
    [['client', '--frobnicate', '--', 'node'], /unknown option --frobnicate/],
    [['client', '--traces', 'no-such-trace', '--', 'node'], /unknown trace no-such-trace/],
    [['client', '--traces', 'memento-generations', '--', 'node'], /checked by the other suite only/],
    [['server', '--list', '--rules', 'LL-NOPE-1'], /no trace or vector names rule LL-NOPE-1/],
  ] as const)('refuses %j with exit status 2', async (args, message) => {
    const result = await cli(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(/Usage:/)
  })

  it('prints help', async () => {
    const result = await cli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/lifeline-conformance server <ws-url> --control <http-url>/)
  })

  it('runs the server suite and writes JSON and JUnit reports', async () => {
    const target = reference.targets[0]
    if (target === undefined) throw new Error('no reference server')
    const json = join(dir, 'server.json')
    const junit = join(dir, 'reports', 'server.xml')
    const result = await cli([
      'server',
      target.url,
      '--control',
      target.control,
      '--traces',
      'first-connect,version-negotiation',
      '--json',
      json,
      '--junit',
      junit,
    ])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^LL-VERSION-2 +MUST +pass +1 +0 +0 +version-negotiation$/m)
    expect(result.stdout).toMatch(
      /^PASSED: 2 checks, 2 passed, 0 failed, 0 not applicable; \d+ rules, 0 failed/m,
    )
    expect(result.stderr).toMatch(/^pass {2}first-connect \(/m)

    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report).toMatchObject({ suite: 'server', summary: { passed: 2, failed: 0, notApplicable: 0 } })
    expect(report.target).toContain(target.url)
    expect(typeof report.startedAt).toBe('string')
    expect(typeof report.durationMs).toBe('number')
    expect(report.rules['LL-HELLO-1']).toMatchObject({
      status: 'passed',
      level: 'MUST',
      checks: ['first-connect'],
    })
    expect(
      report.checks.map((check: { name: string; kind: string; status: string }) => [
        check.kind,
        check.name,
        check.status,
      ]),
    ).toEqual([
      ['trace', 'first-connect', 'passed'],
      ['trace', 'version-negotiation', 'passed'],
    ])

    const xml = readFileSync(junit, 'utf8')
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/)
    expect(xml.match(/<testsuite /g)).toHaveLength(1)
    expect(xml).toMatch(/<testsuite name="lifeline-conformance server" tests="2" failures="0"/)
    expect(xml).toContain(
      '<testcase classname="server" name="version-negotiation [LL-VERSION-1, LL-VERSION-2, LL-HELLO-2, LL-INTENT-4, LL-INTENT-5]"',
    )
  })

  it('exits 1 and reports the failure and the driver stderr when a client fails', async () => {
    // A driver that says ready, then does nothing but complain.
    const lazy = join(dir, 'lazy-driver.mjs')
    writeFileSync(
      lazy,
      [
        "process.stdout.write(JSON.stringify({ event: 'ready', name: 'lazy', capabilities: [] }) + '\\n')",
        "process.stdin.on('data', (chunk) => process.stderr.write('ignored ' + chunk))",
        "process.stdin.on('end', () => process.exit(0))",
      ].join('\n'),
    )
    const junit = join(dir, 'client.xml')
    const json = join(dir, 'client.json')
    const result = await cli([
      'client',
      '--traces',
      'first-connect,duplicated-tab',
      '--timeout',
      '300',
      '--junit',
      junit,
      '--json',
      json,
      '--',
      process.execPath,
      lazy,
    ])
    expect(result.code, result.stdout + result.stderr).toBe(1)
    expect(result.stdout).toMatch(/^FAILED: 2 checks, 0 passed, 1 failed, 1 not applicable/m)
    expect(result.stdout).toMatch(/the driver reported no status event for c1/)
    expect(result.stdout).toMatch(/ignored \{"cmd":"connect","client":"c1"/)
    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report.rules['LL-HELLO-1'].status).toBe('failed')
    expect(report.checks.find((check: { name: string }) => check.name === 'duplicated-tab')).toMatchObject({
      status: 'not-applicable',
      problem: 'needs the driver capability storage, which lazy lacks',
    })
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toMatch(
      /<testsuite name="lifeline-conformance client" tests="2" failures="1" errors="0" skipped="1"/,
    )
    expect(xml).toMatch(/<failure message="step 1 [^"]*" type="trace">/)
    expect(xml).toMatch(/<skipped message="needs the driver capability storage, which lazy lacks"\/>/)
  })

  it('runs the client suite on the TypeScript driver', async () => {
    const result = await cli([
      'client',
      '--traces',
      'first-connect',
      '--quiet',
      '--',
      process.execPath,
      DRIVER,
    ])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^PASSED: 1 check, 1 passed/m)
  })
})
