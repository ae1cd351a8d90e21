/**
 * Compiles the frame schemas into small validator functions, ahead of time: one expression per frame
 * over a handful of shared helpers. It reads only JSON Schema keywords it can express exactly as Ajv
 * (draft 2020-12) judges them, and refuses anything else (an unknown keyword, `anyOf` with siblings,
 * `additionalProperties` without one `patternProperties`, a `const` that is not a primitive, a
 * `required` member without a schema, a member named like an Object.prototype property), so a schema
 * change it cannot express fails the build instead of weakening validation. Lengths count code points
 * and patterns run with the `u` flag, as JSON Schema says. The frame vectors, the Ajv agreement test
 * and the differential fuzz test hold it to the published JSON Schema.
 */
import type { TSchema } from '@sinclair/typebox'

type Schema = Record<string, unknown>

const KNOWN = new Set([
  'type',
  'const',
  'properties',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'items',
  'minItems',
  'maxItems',
  'anyOf',
  'patternProperties',
  'additionalProperties',
  'maxProperties',
  'description',
  'title',
  '$id',
])

/** Helpers the compiled expressions call; kept tiny, as they ship in browser bundles. */
export const HELPERS = [
  'const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v)',
  'const isInt = (v, min, max) => typeof v === "number" && v >= min && v <= max && v % 1 === 0',
  // JSON Schema counts code points; UTF-16 units are at least as many and at most twice as many, so
  // most strings are decided by their length alone, and the rest are counted.
  'const lengthOk = (v, min, max) => v.length >= min && v.length <= 2 * max && ((v.length <= max && v.length >= 2 * min) || ((n) => n >= min && n <= max)([...v].length))',
  'const isString = (v, min, max, re) => typeof v === "string" && lengthOk(v, min, max) && (re === undefined || re.test(v))',
  'const isArray = (v, min, max, each) => Array.isArray(v) && v.length >= min && v.length <= max && v.every(each)',
].join('\n')

export class CheckCompiler {
  private readonly patterns = new Map<string, string>()

  /** `const RE0 = /.../` lines for every pattern used so far. */
  declarations(): string {
    return [...this.patterns]
      .map(([source, name]) => `const ${name} = new RegExp(${JSON.stringify(source)}, "u")`)
      .join('\n')
  }

  /**
   * An expression that is true when `value` (a JS expression) satisfies the schema. `known` names
   * members already checked by the caller (the frame's `type`, which the dispatcher switched on).
   */
  expression(input: TSchema | Schema, value: string, known: readonly string[] = []): string {
    const schema = input as Schema
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key)) throw new Error(`compile-checks: unsupported keyword ${key}`)
    }
    if (schema.anyOf !== undefined) {
      // Siblings of anyOf apply too (JSON Schema ANDs them); this compiler would drop them.
      const siblings = Object.keys(schema).filter((key) => key !== 'anyOf' && !ANNOTATIONS.has(key))
      if (siblings.length > 0)
        throw new Error(`compile-checks: anyOf with sibling keywords ${siblings.join(', ')}`)
      const options = (schema.anyOf as Schema[]).map((option) => this.expression(option, value))
      return `(${options.join(' || ')})`
    }
    if (schema.const !== undefined) {
      // === compares primitives by value only; an object or array const would never match.
      if (typeof schema.const === 'object' && schema.const !== null) {
        throw new Error('compile-checks: const must be a string, number, boolean or null')
      }
      return `${value} === ${JSON.stringify(schema.const)}`
    }
    switch (schema.type) {
      case undefined:
        return 'true'
      case 'boolean':
        return `typeof ${value} === "boolean"`
      case 'integer':
        // Without bounds JSON Schema has none: 2 ** 53 is an integer too.
        return `isInt(${value}, ${num(schema.minimum, -Infinity)}, ${num(schema.maximum, Infinity)})`
      case 'string': {
        const re = typeof schema.pattern === 'string' ? `, ${this.pattern(schema.pattern)}` : ''
        return `isString(${value}, ${num(schema.minLength, 0)}, ${num(schema.maxLength, 2 ** 32)}${re})`
      }
      case 'array': {
        const each = schema.items === undefined ? 'true' : this.expression(schema.items as Schema, 'e')
        return `isArray(${value}, ${num(schema.minItems, 0)}, ${num(schema.maxItems, 2 ** 32)}, (e) => ${each})`
      }
      case 'object':
        return this.object(schema, value, known)
      default:
        throw new Error(`compile-checks: unsupported type ${String(schema.type)}`)
    }
  }

  private object(schema: Schema, value: string, known: readonly string[]): string {
    const parts = [`isObject(${value})`]
    const required = new Set((schema.required as string[] | undefined) ?? [])
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {}
    const patterns = schema.patternProperties as Record<string, Schema> | undefined
    const unbound = [...required].filter((key) => !(key in properties))
    if (unbound.length > 0)
      throw new Error(`compile-checks: required without a schema: ${unbound.join(', ')}`)
    if (patterns !== undefined && Object.keys(patterns).length !== 1) {
      throw new Error('compile-checks: patternProperties must hold exactly one pattern')
    }
    if (
      patterns === undefined &&
      (schema.additionalProperties !== undefined || schema.maxProperties !== undefined)
    ) {
      // Checking them needs every member against `properties`: not written, so refused.
      throw new Error('compile-checks: additionalProperties or maxProperties without patternProperties')
    }
    if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
      throw new Error('compile-checks: additionalProperties may only be false')
    }
    if (patterns !== undefined && Object.keys(properties).length > 0) {
      throw new Error('compile-checks: properties together with patternProperties')
    }
    for (const [key, property] of Object.entries(properties)) {
      // v[key] would read an inherited value where the member is absent.
      if (key in Object.prototype)
        throw new Error(`compile-checks: member named like Object.prototype.${key}`)
      if (known.includes(key)) continue
      const access = `${value}[${JSON.stringify(key)}]`
      const check = this.expression(property, access)
      if (property.type === undefined && property.anyOf === undefined && property.const === undefined) {
        if (required.has(key)) parts.push(`${JSON.stringify(key)} in ${value}`) // any JSON value, present
      } else if (required.has(key)) parts.push(check)
      else parts.push(`(${access} === undefined || ${check})`)
    }
    if (patterns !== undefined) {
      const [[keyPattern, each]] = Object.entries(patterns) as [[string, Schema]]
      if (typeof schema.maxProperties === 'number') {
        parts.push(`Object.keys(${value}).length <= ${schema.maxProperties}`)
      }
      const keyOk = `${this.pattern(keyPattern)}.test(k)`
      // additionalProperties: false -> every key must match; otherwise other keys are free.
      const entry =
        schema.additionalProperties === false
          ? `${keyOk} && ${this.expression(each, 'e')}`
          : `!${keyOk} || ${this.expression(each, 'e')}`
      parts.push(`Object.entries(${value}).every(([k, e]) => ${entry})`)
    }
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' && ')})`
  }

  private pattern(source: string): string {
    let name = this.patterns.get(source)
    if (name === undefined) {
      name = `RE${this.patterns.size}`
      this.patterns.set(source, name)
    }
    return name
  }
}

const num = (value: unknown, fallback: number) => String(typeof value === 'number' ? value : fallback)

/** Keywords that describe and constrain nothing. */
const ANNOTATIONS = new Set(['description', 'title', '$id'])
