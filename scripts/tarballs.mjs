#!/usr/bin/env node
// Packs every public package as it would be published, with plain `npm pack`, into one folder
// (default: ./tarballs), and prints the paths. `npm run tarballs` builds first. Used by the install
// test, and by anyone who wants to try Lifeline in their own project before it is on the registry.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = new URL('..', import.meta.url).pathname

/** The directories of the public packages: what `npm publish` would ship. */
export function publicPackages() {
  return [
    ...readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir)),
    join(root, 'apps', 'reference-server'),
  ].filter((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private !== true)
}

/** Packs them into `destination`; returns the tarballs' paths. */
export function packAll(destination) {
  mkdirSync(destination, { recursive: true })
  return publicPackages().map((dir) => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return join(destination, JSON.parse(out)[0].filename)
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const destination = resolve(process.argv[2] ?? join(root, 'tarballs'))
  for (const tarball of packAll(destination)) console.log(tarball)
}
