#!/usr/bin/env node
// The install test: what a user outside this repository gets. Run after a build. Steps, each a
// function below, in order:
//   1. pack   every public package with plain `npm pack` (scripts/tarballs.mjs); no manifest may keep a
//             `workspace:` range, and every tarball carries its LICENSE;
//   2. install the tarballs with plain npm into a fresh project outside the workspace;
//   2b. socket.io peers (issue 10): socket.io and socket.io-client, which @lifeline/socket.io leaves to
//             the app (optional peers), installed as docs/migrating-from-socket.io.md says;
//   3. samples: every code sample of README.md and docs/ (marked `<!-- file: name.mjs -->`) runs there;
//   4. server: the reference server starts from its package (no dev dependencies), serves the demo,
//             health, and stops on SIGTERM.
// Usage: node scripts/install-test.mjs [--keep] (keep the temporary project, to look at it).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { packAll } from './tarballs.mjs'

const root = new URL('..', import.meta.url).pathname
const SECRET = 'install-test-secret-install-test-secret'
const FILE_TIMEOUT_MS = 30_000

// ------------------------------------------------------------------ helpers

const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

/** Starts a process and resolves once its stdout matched `ready`; rejects if it exits first. */
function startProcess(command, args, options, ready, what) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 20_000)
    const onData = (chunk) => {
      output += chunk
      const match = output.match(ready)
      if (match === null) return
      clearTimeout(timer)
      resolve(match)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`))
    })
  })
  return { child, started, output: () => output }
}

function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill('SIGTERM')
  })
}

/**
 * The samples of one Markdown file: code blocks preceded by `<!-- file: name -->` (blocks with the
 * same name are joined in order) or `<!-- file: name background -->` (started first, kept running
 * while the others run, ready once it printed a line). `<!-- output: name -->` before a block: what
 * the file must print. A top-level JavaScript block without a marker is an error: every sample runs
 * (a snippet indented inside a list item is a fragment of one, and is not checked).
 */
export function samplesOf(markdown, where) {
  const files = new Map()
  const background = new Set()
  const marked = /<!-- file: (\S+)( background)? -->\n```(\w+)\n([\s\S]*?)```/g
  let count = 0
  for (const [, name, isBackground, , code] of markdown.matchAll(marked)) {
    count++
    files.set(name, (files.get(name) ?? '') + code)
    if (isBackground) background.add(name)
  }
  const outputs = new Map()
  for (const [, name, text] of markdown.matchAll(/<!-- output: (\S+) -->\n```\w*\n([\s\S]*?)```/g))
    outputs.set(name, text.trim())
  const jsBlocks = [...markdown.matchAll(/^```(js|javascript|mjs|ts|typescript)\n/gm)].length
  if (jsBlocks !== count) {
    throw new Error(`${where}: ${jsBlocks - count} JavaScript block(s) without a <!-- file: name --> marker`)
  }
  return { files, background, outputs }
}

function markdownFiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return markdownFiles(path)
    return entry.name.endsWith('.md') ? [path] : []
  })
}

// ------------------------------------------------------------------ 1. pack

function pack(packs) {
  const tarballs = packAll(packs)
  for (const tarball of tarballs) {
    const manifest = execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })
    if (manifest.includes('workspace:')) throw new Error(`${tarball} keeps a workspace: range`)
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    if (!listing.includes('package/LICENSE')) throw new Error(`${tarball} has no LICENSE`)
  }
  return tarballs
}

// ------------------------------------------------------------------ 2. install

function install(project, tarballs) {
  mkdirSync(project, { recursive: true })
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // What `npm i @lifeline/core @lifeline/ws` brings: the peers (ws) come with it, dev tools do not.
  for (const wanted of ['@lifeline/core', '@lifeline/ws', 'ws', '@lifeline/reference-server'])
    if (!existsSync(join(project, 'node_modules', wanted))) throw new Error(`npm did not install ${wanted}`)
  for (const unwanted of ['vitest', 'typescript', 'tsup', '@lifeline/testkit', '@lifeline/demo'])
    if (existsSync(join(project, 'node_modules', unwanted))) throw new Error(`npm installed ${unwanted}`)
}

// ------------------------------------------------------------------ 2b. socket.io peers

/**
 * `npm i @lifeline/core @lifeline/socket.io socket.io socket.io-client`, as the migration guide says:
 * the adapter leaves Socket.IO to the app (optional peers), so the app installs the versions it runs.
 */
function installSocketIoPeers(project) {
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', 'socket.io@4.8.4', 'socket.io-client@4.8.4'],
    {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  for (const wanted of ['@lifeline/socket.io', 'socket.io', 'socket.io-client'])
    if (!existsSync(join(project, 'node_modules', wanted))) throw new Error(`npm did not install ${wanted}`)
}

// ------------------------------------------------------------------ 3. samples

async function runSamples(project) {
  const documents = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))]
  let ran = 0
  for (const document of documents) {
    const where = relative(root, document)
    const { files, background, outputs } = samplesOf(readFileSync(document, 'utf8'), where)
    if (files.size === 0) continue
    const dir = join(project, 'samples', where.replace(/\.md$/, '').replaceAll('/', '_'))
    mkdirSync(dir, { recursive: true })
    for (const [name, code] of files) {
      mkdirSync(dirname(join(dir, name)), { recursive: true })
      writeFileSync(join(dir, name), code)
    }
    const env = { ...process.env, PORT: String(await freePort()), LIFELINE_SECRET: SECRET }
    const running = [...background].map((name) =>
      startProcess('node', [name], { cwd: dir, env }, /\n/, `${where}: ${name}`),
    )
    try {
      await Promise.all(running.map((process) => process.started))
      for (const name of files.keys()) {
        if (background.has(name) || !/\.[cm]?js$/.test(name)) continue
        let stdout
        try {
          stdout = execFileSync('node', [name], {
            cwd: dir,
            env,
            timeout: FILE_TIMEOUT_MS,
            encoding: 'utf8',
            stdio: 'pipe',
          })
        } catch (error) {
          throw new Error(
            `${where}: ${name} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}${error.message}`,
          )
        }
        const expected = outputs.get(name)
        if (expected !== undefined && stdout.trim() !== expected)
          throw new Error(`${where}: ${name} printed\n${stdout}\ninstead of\n${expected}`)
        ran++
      }
    } finally {
      await Promise.all(running.map((process) => stopProcess(process.child)))
    }
  }
  return ran
}

// ------------------------------------------------------------------ 4. the reference server

async function referenceServer(project) {
  const bin = join(project, 'node_modules', '.bin', 'lifeline-server')
  const help = execFileSync(bin, ['--help'], { cwd: project, encoding: 'utf8' })
  if (!help.includes('--grace-ms')) throw new Error(`lifeline-server --help says:\n${help}`)
  const env = { ...process.env, LIFELINE_SECRET: SECRET }
  const server = startProcess(
    bin,
    ['--port', '0'],
    { cwd: project, env },
    /http:\/\/127\.0\.0\.1:(\d+)\//,
    'lifeline-server',
  )
  try {
    const [url] = await server.started
    const page = await fetch(url)
    const html = await page.text()
    if (page.status !== 200 || !html.includes('<title>')) throw new Error(`the demo page: ${page.status}`)
    const health = await fetch(new URL('/healthz', url))
    if (health.status !== 200) throw new Error(`/healthz: ${health.status}`)
  } catch (error) {
    await stopProcess(server.child)
    throw error
  }
  const code = await stopProcess(server.child)
  if (code !== 0) throw new Error(`lifeline-server exited with ${code} on SIGTERM:\n${server.output()}`)
}

// ------------------------------------------------------------------ main

if (import.meta.url === `file://${process.argv[1]}`) {
  const work = mkdtempSync(join(tmpdir(), 'lifeline-install-'))
  const keep = process.argv.includes('--keep')
  try {
    const started = performance.now()
    const tarballs = pack(join(work, 'packs'))
    const project = join(work, 'project')
    install(project, tarballs)
    installSocketIoPeers(project)
    const samples = await runSamples(project)
    await referenceServer(project)
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `install test: ${tarballs.length} packages packed with npm and installed outside the workspace; ` +
        `${samples} README/docs samples ran; the reference server ran from its package (${seconds} s)`,
    )
  } finally {
    if (keep) console.log(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
}
