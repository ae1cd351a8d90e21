/** Which checks a run plays: by suite (a trace's `checks`), by rule id or prefix, by name. */
import type { Trace } from '@lifeline/protocol/vectors'
import type { Suite } from './report.js'
import type { LoadedVectorFile } from './spec.js'

const FULL_ID = /^LL-[A-Z]+-\d+$/

/**
 * A predicate over rule ids from `--rules` entries: a full id (`LL-SEQ-3`) matches itself only, anything
 * else is a prefix (`LL-RESUME`, `LL-RESUME-` or `LL-RE` match LL-RESUME-1 to LL-RESUME-10).
 */
export function ruleMatcher(entries: readonly string[]): (id: string) => boolean {
  const cleaned = entries.map((entry) => entry.trim().toUpperCase()).filter((entry) => entry !== '')
  return (id) =>
    cleaned.some((entry) => (FULL_ID.test(entry) ? id === entry : id.startsWith(entry.replace(/-$/, ''))))
}

/** Every rule id some trace or vector names, and whether a `--rules` entry matches any of them. */
export function unmatchedRules(entries: readonly string[], known: Iterable<string>): string[] {
  const ids = [...known]
  return entries.filter((entry) => !ids.some(ruleMatcher([entry])))
}

/** Does the suite play this trace? A trace with `checks` is played only by the suite checking that side. */
export function playedBy(trace: Trace, suite: Suite): boolean {
  return trace.checks === undefined || trace.checks === suite
}

export interface Selection {
  readonly traces: readonly Trace[]
  /** Frame vector files to play (server suite only). */
  readonly vectorFiles: readonly LoadedVectorFile[]
}

export interface SelectOptions {
  readonly rules?: readonly string[] | undefined
  /** Trace names, or frame vector file names (`client-invalid`) for the server suite. */
  readonly names?: readonly string[] | undefined
}

export class SelectionError extends Error {
  override readonly name = 'SelectionError'
}

/** The frame vector files the server suite plays: those of client frames. */
export function suiteVectorFiles(suite: Suite, files: readonly LoadedVectorFile[]): LoadedVectorFile[] {
  return suite === 'server' ? files.filter((file) => file.direction === 'client') : []
}

export function select(
  suite: Suite,
  traces: readonly Trace[],
  files: readonly LoadedVectorFile[],
  options: SelectOptions,
): Selection {
  let chosenTraces = traces.filter((trace) => playedBy(trace, suite))
  let chosenFiles = suiteVectorFiles(suite, files)
  if (options.names !== undefined && options.names.length > 0) {
    const names = new Set(options.names)
    const known = new Set([
      ...chosenTraces.map((trace) => trace.name),
      ...chosenFiles.map((file) => file.name),
    ])
    const unknown = [...names].filter((name) => !known.has(name))
    if (unknown.length > 0) {
      const other = unknown.filter((name) => traces.some((trace) => trace.name === name))
      const hint = other.length > 0 ? ` (${other.join(', ')}: checked by the other suite only)` : ''
      throw new SelectionError(`unknown trace${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}${hint}`)
    }
    chosenTraces = chosenTraces.filter((trace) => names.has(trace.name))
    chosenFiles = chosenFiles.filter((file) => names.has(file.name))
  }
  if (options.rules !== undefined && options.rules.length > 0) {
    const matches = ruleMatcher(options.rules)
    const known = new Set<string>()
    for (const trace of traces) for (const rule of trace.rules) known.add(rule)
    for (const file of files)
      for (const vector of file.vectors) for (const rule of vector.rules ?? []) known.add(rule)
    const unknown = unmatchedRules(options.rules, known)
    if (unknown.length > 0) throw new SelectionError(`no trace or vector names rule ${unknown.join(', ')}`)
    chosenTraces = chosenTraces.filter((trace) => trace.rules.some(matches))
    chosenFiles = chosenFiles
      .map((file) => ({
        ...file,
        vectors: file.vectors.filter((vector) => (vector.rules ?? []).some(matches)),
      }))
      .filter((file) => file.vectors.length > 0)
  }
  return { traces: chosenTraces, vectorFiles: chosenFiles }
}
