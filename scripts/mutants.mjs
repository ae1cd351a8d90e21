#!/usr/bin/env node
/**
 * Proves the core's tests bite: applies deliberate bugs to a COPY of packages/core (a temp dir; the
 * working tree is never touched), one at a time, runs only the test files that matter for each with
 * vitest's bail, and requires every mutant to be killed. Prints a table mutant -> failing test(s)
 * and writes it to artifacts/mutants.md.
 *
 *   node scripts/mutants.mjs                 every mutant, bail at the first failure (CI)
 *   node scripts/mutants.mjs --all           no bail: every failing test of every mutant (slow)
 *   node scripts/mutants.mjs --only a,b      only these mutants
 *   node scripts/mutants.mjs --tests f,g     these test files for every mutant (e.g. the simulation alone)
 *   node scripts/mutants.mjs --out file.md   where the table goes (default artifacts/mutants.md)
 *
 * A mutant whose text is not found in its file fails the run: the list must follow the code.
 */
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const core = join(root, 'packages/core')

const SIM = 'test/simulation.test.ts'

/** Each bug: where, the exact text it replaces, and the test files expected to catch it. */
const mutants = [
  {
    id: 'send-counter-reset',
    what: 'client: the send counter starts again at 1 on resume',
    file: 'src/client/outbox.ts',
    from: 'this.nextSeq = Math.max(this.nextSeq, receivedSeq + 1)',
    to: 'this.nextSeq = 1',
    tests: [SIM, 'test/client-durable.test.ts'],
  },
  {
    id: 'no-live-after-resume',
    what: 'server: a resumed session is not put back in its topics\u2019 live fan-out',
    file: 'src/server/handshake.ts',
    from: '  core.registry.connected(session)\n  for (const { stream } of streams) session.hold(stream)',
    to: '  for (const { stream } of streams) session.hold(stream)',
    tests: [SIM, 'test/server-gaps.test.ts'],
  },
  {
    id: 'drop-last-replayed',
    what: 'server: the last entry of a resume replay is not sent',
    file: 'src/server/handshake.ts',
    from: 'replays.push([...read.entries])',
    to: 'replays.push(read.entries.slice(0, -1))',
    tests: [SIM, 'test/server-gaps.test.ts'],
  },
  {
    id: 'resume-other-epoch',
    what: 'server: a resume cursor of another incarnation is read as if it were this one',
    file: 'src/server/handshake.ts',
    from: 'if (read.covered && sameIncarnation && !resumed.beyond)',
    to: 'if (read.covered && !resumed.beyond)',
    tests: ['test/server-gaps.test.ts'],
  },
  {
    id: 'join-other-epoch',
    what: 'server: a join cursor of another incarnation is read as if it were this one',
    file: 'src/server/frames.ts',
    from: 'recovered = read.covered && frame.epoch === read.epoch',
    to: 'recovered = read.covered',
    tests: [SIM, 'test/server-gaps.test.ts'],
  },
  {
    id: 'cursor-beyond-read',
    what: 'server: a cursor above anything the client could know is read (no reset)',
    file: 'src/server/handshake.ts',
    from: 'if (read.covered && sameIncarnation && !resumed.beyond)',
    to: 'if (read.covered && sameIncarnation)',
    tests: [SIM, 'test/server-gaps.test.ts'],
  },
  {
    id: 'skip-memento-rotation',
    what: 'server: a resume hands back the memento it was given instead of a new one',
    file: 'src/server/handshake.ts',
    from: '  const memento = core.issueMemento(session)\n  const streams = resumedStreams(session, hello)',
    to: '  const memento = hello.resume?.memento ?? core.issueMemento(session)\n  const streams = resumedStreams(session, hello)',
    tests: [SIM, 'test/server-handshake.test.ts'],
  },
  {
    id: 'newest-memento-only',
    what: 'server: only the newest memento generation resumes (two lost welcomes lose the session)',
    file: 'src/server/handshake.ts',
    from: 'claims.gen >= proven && claims.gen <= generation',
    to: 'claims.gen === generation',
    tests: [SIM, 'test/server-gaps.test.ts'],
  },
  {
    id: 'superseded-memento-alive',
    what: 'server: a memento the client proved superseded still resumes',
    file: 'src/server/handshake.ts',
    from: 'claims.gen >= proven && claims.gen <= generation',
    to: 'claims.gen <= generation',
    tests: ['test/server-gaps.test.ts'],
  },
  {
    id: 'ack-before-handler',
    what: 'server: a send is acked before the app handler finished',
    file: 'src/server/frames.ts',
    from: '  let result: void | Promise<void>\n  try {\n    result = onMessage(',
    to: '  session.processed = frame.seq\n  scheduleAck(session)\n  let result: void | Promise<void>\n  try {\n    result = onMessage(',
    tests: [SIM, 'test/server-sessions.test.ts'],
  },
  {
    id: 'replay-one-twice',
    what: 'server: the last replayed entry is written twice',
    file: 'src/server/session.ts',
    from: '    for (const entry of replay) this.write(state, entry)\n',
    to: '    for (const entry of replay) this.write(state, entry)\n    const last = replay[replay.length - 1]\n    if (last !== undefined) {\n      state.sent--\n      this.write(state, last)\n    }\n',
    tests: ['test/server-gaps.test.ts'],
  },
  {
    id: 'forget-topic-on-new-session',
    what: 'client: after a session is lost, one wanted topic is not joined again',
    file: 'src/client/topic-sync.ts',
    from: 'if (rejoin === undefined || wanted.length === 0) return this.sendJoins(wanted)',
    to: 'if (rejoin === undefined || wanted.length === 0) return this.sendJoins(wanted.slice(1))',
    tests: [SIM, 'test/client-topics.test.ts'],
  },
  {
    id: 'rejoin-unseen-topic',
    what: 'client: after a reload, a restored topic the page never saw joined is taken as joined',
    file: 'src/client/topic-sync.ts',
    from: 'if (!restored.has(topic) || !this.inbox.hasCursor(topic)) this.sendJoin(topic)',
    to: 'if (!restored.has(topic)) this.sendJoin(topic)',
    tests: [SIM],
  },
  {
    id: 'join-releases-resume-hold',
    what: 'server: a join decided for a superseded connection goes on (releases the resume\u2019s hold)',
    file: 'src/server/frames.ts',
    from: '  if (session.connection !== connection) return\n',
    to: '',
    tests: ['test/server-gaps.test.ts'],
  },
  {
    id: 'stale-joined-taken',
    what: 'client: the joined of a join sent before a pending leave is taken for the join after it',
    file: 'src/client/topic-sync.ts',
    from: '    if ((this.leavesSent.get(frame.topic) ?? 0) > 0) return\n',
    to: '',
    tests: ['test/client-scripted.test.ts'],
  },
  {
    id: 'client-duplicate',
    what: 'client: an entry at the cursor is delivered again',
    file: 'src/client/inbox.ts',
    from: 'return seq > (this.cursors.get(stream) ?? 0)',
    to: 'return seq >= (this.cursors.get(stream) ?? 0)',
    tests: ['test/client-inbox.test.ts'], // the server never writes a duplicate, so the simulation cannot see it
  },
  {
    id: 'outbox-not-kept',
    what: 'client: pending sends are not kept in the storage (lost on reload)',
    file: 'src/client/keeper.ts',
    from: 'const sends = this.keepsSends ? this.outbox.messages().map(storedSend) : []',
    to: 'const sends = this.keepsSends ? [] : []',
    tests: [SIM, 'test/client-durable.test.ts'],
  },
  {
    id: 'dedup-off',
    what: 'server: a message id already seen is processed again',
    file: 'src/server/frames.ts',
    from: '  if (!fresh) return done(core, session, frame.seq)\n',
    to: '',
    tests: [SIM, 'test/server-sessions.test.ts'],
  },
]

const args = process.argv.slice(2)
const flag = (name) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : (args[i + 1] ?? '')
}
const all = args.includes('--all')
const only = flag('--only')?.split(',')
const override = flag('--tests')?.split(',')
const out = resolve(root, flag('--out') ?? 'artifacts/mutants.md')
const listed = only === undefined ? mutants : mutants.filter((m) => only.includes(m.id))
const chosen = override === undefined ? listed : listed.map((m) => ({ ...m, tests: override }))
if (only !== undefined && chosen.length !== only.length) {
  console.error(`unknown mutant in --only ${only.join(',')}; known: ${mutants.map((m) => m.id).join(', ')}`)
  process.exit(2)
}

// The copy: packages/core without its build output, with the root tsconfig it extends, and its
// dependencies linked to where pnpm put them (absolute links: nothing written reaches the tree).
const scratch = mkdtempSync(join(tmpdir(), 'lifeline-mutants-'))
const copy = join(scratch, 'packages/core')
const skip = new Set(['node_modules', 'coverage', 'dist'])
cpSync(core, copy, {
  recursive: true,
  filter: (source) => !skip.has(relative(core, source).split('/')[0] ?? ''),
})
cpSync(join(root, 'tsconfig.base.json'), join(scratch, 'tsconfig.base.json'))
symlinkSync(join(root, 'spec'), join(scratch, 'spec')) // vectors and traces, only read
const modules = join(core, 'node_modules')
mkdirSync(join(copy, 'node_modules'))
for (const name of readdirSync(modules)) {
  if (name.startsWith('.')) continue
  if (name.startsWith('@')) {
    mkdirSync(join(copy, 'node_modules', name))
    for (const inner of readdirSync(join(modules, name))) {
      symlinkSync(realpathSync(join(modules, name, inner)), join(copy, 'node_modules', name, inner))
    }
  } else symlinkSync(realpathSync(join(modules, name)), join(copy, 'node_modules', name))
}
const vitest = join(realpathSync(join(modules, 'vitest')), 'vitest.mjs')

const simSeeds = process.env.SIM_SEEDS ?? '300'

/** Runs test files in the copy; returns the failing tests' names (empty when all pass). */
function run(files, label) {
  const report = join(scratch, `${label}.json`)
  const bail = all ? [] : ['--bail=1']
  const started = performance.now()
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', ...bail, '--reporter=json', `--outputFile=${report}`, ...files],
    {
      cwd: copy,
      encoding: 'utf8',
      env: { ...process.env, SIM_SEEDS: simSeeds, CI: '1' },
      maxBuffer: 64 << 20,
    },
  )
  const seconds = (performance.now() - started) / 1000
  const failed = []
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'))
    for (const file of json.testResults ?? []) {
      const name = relative(copy, file.name)
      for (const test of file.assertionResults ?? []) {
        if (test.status === 'failed') failed.push(`${name} > ${test.fullName ?? test.title}`)
      }
      if (file.status === 'failed' && (file.assertionResults ?? []).every((t) => t.status !== 'failed')) {
        failed.push(`${name} (${(file.message ?? 'failed to run').split('\n')[0]})`)
      }
    }
  }
  if (result.status !== 0 && failed.length === 0)
    failed.push(`vitest exited ${result.status}: ${result.stderr.slice(-500)}`)
  return { failed, seconds, status: result.status }
}

const pristine = new Map()
const rows = []
let broken = false
try {
  // The copy must pass as it is, or every mutant would look killed.
  const files = [...new Set(chosen.flatMap((m) => m.tests))]
  const baseline = run(files, 'baseline')
  if (baseline.failed.length > 0) {
    console.error(`the unmutated copy fails, so no mutant can be judged:\n  ${baseline.failed.join('\n  ')}`)
    process.exit(1)
  }
  console.log(`baseline: ${files.length} test files pass on the copy (${baseline.seconds.toFixed(1)} s)`)
  for (const mutant of chosen) {
    const path = join(copy, mutant.file)
    if (!pristine.has(path)) pristine.set(path, readFileSync(path, 'utf8'))
    const source = pristine.get(path)
    const at = source.indexOf(mutant.from)
    if (at === -1 || source.indexOf(mutant.from, at + 1) !== -1) {
      rows.push({
        mutant,
        killed: false,
        failed: [`mutation text ${at === -1 ? 'not found' : 'found twice'} in ${mutant.file}`],
        seconds: 0,
      })
      broken = true
      continue
    }
    writeFileSync(path, source.slice(0, at) + mutant.to + source.slice(at + mutant.from.length))
    const { failed, seconds } = run(mutant.tests, mutant.id)
    writeFileSync(path, source)
    rows.push({ mutant, killed: failed.length > 0, failed, seconds })
    console.log(
      `${failed.length > 0 ? 'killed  ' : 'SURVIVED'} ${mutant.id} (${seconds.toFixed(1)} s)${failed.length > 0 ? `: ${failed[0]}` : ''}`,
    )
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}

const cell = (text) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
const table = [
  '| mutant | bug | killed by (failing tests) | s |',
  '| --- | --- | --- | --- |',
  ...rows.map(
    ({ mutant, killed, failed, seconds }) =>
      `| ${mutant.id} | ${cell(mutant.what)} (\`${mutant.file}\`) | ${killed ? cell(failed.slice(0, all ? 20 : 3).join('<br>')) : `**SURVIVED** ${cell(failed.join(' '))}`} | ${seconds.toFixed(1)} |`,
  ),
].join('\n')
const killed = rows.filter((r) => r.killed).length
const summary = `${killed} of ${rows.length} mutants killed (${all ? 'every failing test' : 'bail at the first failure'}; simulation at ${simSeeds} seeds)`
mkdirSync(dirname(out), { recursive: true })
writeFileSync(
  out,
  `# Mutants of @lifeline/core\n\nGenerated by \`node scripts/mutants.mjs${all ? ' --all' : ''}\`: each bug applied alone to a copy of\npackages/core, the listed test files run against it. ${summary}.\n\n${table}\n`,
)
console.log(`\n${table}\n\n${summary}; table in ${relative(root, out)}`)
if (broken || killed !== rows.length) process.exit(1)
