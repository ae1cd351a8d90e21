#!/usr/bin/env node
// The install test: pack the public packages as they would be published, install the tarballs into
// a fresh project outside the workspace with npm, and run the README's ten-line example there, as a
// user who ran `npm i @lifeline/core @lifeline/ws` would. Run after a build.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'lifeline-install-'))
const packs = join(work, 'packs')
const project = join(work, 'project')
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })

function readmeFiles() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const files = new Map()
  for (const [, name, code] of readme.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```/g))
    files.set(name, code)
  if (!files.has('server.mjs') || !files.has('client.mjs')) throw new Error('README lost its example files')
  return files
}

const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

try {
  run('mkdir', ['-p', packs, project])
  const publics = readdirSync(join(root, 'packages')).filter(
    (dir) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).private !== true,
  )
  for (const dir of publics) run('pnpm', ['pack', '--pack-destination', packs], join(root, 'packages', dir))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  const tarballs = readdirSync(packs).map((name) => join(packs, name))
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], project)
  for (const [name, code] of readmeFiles()) writeFileSync(join(project, name), code)

  const port = String(await freePort())
  const env = { ...process.env, PORT: port, LIFELINE_SECRET: 'install-test-secret-install-test-secret' }
  const server = spawn('node', ['server.mjs'], { cwd: project, env, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not start')), 15_000)
      server.stdout.on('data', (chunk) => {
        if (!String(chunk).includes('Lifeline on')) return
        clearTimeout(timer)
        resolve()
      })
      server.on('exit', (code) => reject(new Error(`the server exited with ${code}`)))
    })
    const output = execFileSync('node', ['client.mjs'], { cwd: project, env, timeout: 20_000 }).toString()
    if (!output.includes('anonymous: hello')) throw new Error(`unexpected client output: ${output}`)
    console.log(
      `install test: ${publics.length} packages packed, installed with npm, README example ran: ${output.trim()}`,
    )
  } finally {
    server.kill()
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
