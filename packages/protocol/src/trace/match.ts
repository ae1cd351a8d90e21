/**
 * Pattern matching of spec/vectors traces (spec/vectors/README.md, "Patterns"): partial objects,
 * exact arrays, `$any`, `$absent`, and captures that bind on first sight.
 */

export type Captures = Map<string, unknown>

const CAPTURE = /^\$[a-z0-9_]+$/

export function isCapture(value: unknown): value is string {
  return typeof value === 'string' && CAPTURE.test(value) && value !== '$any' && value !== '$absent'
}

/** Paths of arrays whose order the protocol leaves open (spec/vectors/README.md, "Patterns"). */
const UNORDERED = new Set(['.topics', '.members'])

function matchUnordered(
  pattern: unknown[],
  value: unknown[],
  captures: Captures,
  path: string,
): string | undefined {
  const used = new Set<number>()
  for (const [i, expected] of pattern.entries()) {
    const found = value.findIndex((candidate, j) => {
      if (used.has(j)) return false
      const trial = new Map(captures)
      if (match(expected, candidate, trial, `${path}[${i}]`) !== undefined) return false
      for (const [name, bound] of trial) captures.set(name, bound)
      return true
    })
    if (found < 0)
      return `${path}: no element matches ${JSON.stringify(expected)} in ${JSON.stringify(value)}`
    used.add(found)
  }
  return undefined
}

/** Returns a description of the first mismatch, or undefined when value matches pattern. */
export function match(pattern: unknown, value: unknown, captures: Captures, path = ''): string | undefined {
  if (pattern === '$any') return value === undefined ? `${path}: expected a value` : undefined
  if (isCapture(pattern)) {
    const name = pattern.slice(1)
    if (!captures.has(name)) {
      if (value === undefined) return `${path}: expected a value for ${pattern}`
      captures.set(name, value)
      return undefined
    }
    return deepEqual(captures.get(name), value)
      ? undefined
      : `${path}: expected ${pattern} = ${JSON.stringify(captures.get(name))}, got ${JSON.stringify(value)}`
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(value) || value.length !== pattern.length) {
      return `${path}: expected ${JSON.stringify(pattern)}, got ${JSON.stringify(value)}`
    }
    if (UNORDERED.has(path)) return matchUnordered(pattern, value, captures, path)
    for (let i = 0; i < pattern.length; i++) {
      const problem = match(pattern[i], value[i], captures, `${path}[${i}]`)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (typeof pattern === 'object' && pattern !== null) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return `${path}: expected an object, got ${JSON.stringify(value)}`
    }
    const record = value as Record<string, unknown>
    for (const [key, expected] of Object.entries(pattern)) {
      const actual = Object.hasOwn(record, key) ? record[key] : undefined
      if (expected === '$absent') {
        if (actual !== undefined) return `${path}.${key}: expected absent, got ${JSON.stringify(actual)}`
        continue
      }
      const problem = match(expected, actual, captures, `${path}.${key}`)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  return deepEqual(pattern, value)
    ? undefined
    : `${path}: expected ${JSON.stringify(pattern)}, got ${JSON.stringify(value)}`
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    )
  }
  return value
}
