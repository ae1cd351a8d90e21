/**
 * The shape of JSON text without parsing it: how deep arrays and objects nest (LL-LIMIT-8), and how
 * much memory its parsed value takes (LL-LIMIT-10). JSON.parse has no depth limit, and a few bytes of
 * text can become kilobytes of objects, so both are known before anything is built or held.
 */
import { MAX_NESTING_DEPTH } from './limits.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const COMMA = 0x2c
const COLON = 0x3a

/** Where the string starting at `open` (a quote) ends, or -1 when it never does. */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  while (end !== -1) {
    let backslashes = 0
    for (let k = end - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return -1
}

/** Opening brackets in the text, strings included, counted up to just past `limit` (native searches). */
function openers(text: string, limit: number): number {
  let count = 0
  for (let i = text.indexOf('['); i !== -1 && count <= limit; i = text.indexOf('[', i + 1)) count++
  for (let i = text.indexOf('{'); i !== -1 && count <= limit; i = text.indexOf('{', i + 1)) count++
  return count
}

/**
 * True when JSON text nests arrays and objects more than `max` levels deep (the outermost value is
 * level 1). Text that is not JSON gives some answer; JSON.parse refuses it anyway.
 */
export function exceedsDepth(text: string, max: number = MAX_NESTING_DEPTH): boolean {
  // Each level takes at least two characters, and one opening bracket: most frames stop here.
  if (text.length <= 2 * max || openers(text, max) <= max) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(text, i)
      if (i < 0) return false
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--
  }
  return false
}

/** True when a parsed value nests more than `max` levels (transports that carry objects). */
export function valueExceedsDepth(value: unknown, max: number = MAX_NESTING_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (max <= 0) return true
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (valueExceedsDepth(item, max - 1)) return true
  }
  return false
}

export interface JsonShape {
  /** Deepest nesting of arrays and objects (0 for a scalar). */
  readonly depth: number
  /**
   * Memory the text and its parsed value take together, estimated (LL-LIMIT-10): the text twice (the
   * text itself, and the strings and numbers of the value), plus about 64 bytes per array or object
   * and 16 per member or element, measured on V8 (an empty object takes ~64 bytes where its text
   * takes 2). Counts what a log holds, not how long its text is.
   */
  readonly heldBytes: number
}

/** One pass over JSON text: its depth and the memory it holds once parsed. */
export function jsonShape(text: string): JsonShape {
  let depth = 0
  let deepest = 0
  let containers = 0
  let members = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(text, i)
      if (i < 0) break
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      containers++
      if (++depth > deepest) deepest = depth
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--
    else if (c === COMMA || c === COLON) members++
  }
  return { depth: deepest, heldBytes: 2 * text.length + 64 * containers + 16 * members }
}
