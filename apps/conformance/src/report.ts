/**
 * What a suite run found, per check and per rule id, and its three renderings: a table for people, a
 * JSON document, and JUnit XML for CI.
 */
import { RULES } from '@lifeline/protocol'

export type Suite = 'server' | 'client'
export type CheckKind = 'trace' | 'frame-vector'
export type CheckStatus = 'passed' | 'failed' | 'not-applicable'

export interface CheckResult {
  readonly kind: CheckKind
  readonly name: string
  readonly rules: readonly string[]
  readonly status: CheckStatus
  /** Why it failed, or why it does not apply. */
  readonly problem?: string
  readonly durationMs: number
  /** What the client driver wrote to stderr, when it failed (client suite). */
  readonly stderr?: string
}

export interface RuleResult {
  readonly status: CheckStatus
  /** MUST, SHOULD or MAY, from PROTOCOL.md; `unknown` for an id PROTOCOL.md does not name. */
  readonly level: string
  readonly passed: number
  readonly failed: number
  readonly notApplicable: number
  /** Names of the checks that name this rule. */
  readonly checks: readonly string[]
}

export interface Report {
  readonly suite: Suite
  /** The server URL, or the driver command. */
  readonly target: string
  readonly startedAt: string
  readonly durationMs: number
  readonly summary: { readonly passed: number; readonly failed: number; readonly notApplicable: number }
  readonly rules: Readonly<Record<string, RuleResult>>
  readonly checks: readonly CheckResult[]
}

const RULE_ORDER = new Map(Object.keys(RULES).map((id, index) => [id, index]))

export function ruleLevel(id: string): string {
  return (RULES as Record<string, string>)[id] ?? 'unknown'
}

function compareRules(a: string, b: string): number {
  return (
    (RULE_ORDER.get(a) ?? Number.MAX_SAFE_INTEGER) - (RULE_ORDER.get(b) ?? Number.MAX_SAFE_INTEGER) ||
    a.localeCompare(b)
  )
}

/**
 * Builds the report. `ruleFilter`, when given, keeps only the rule ids it accepts in `rules` (the
 * checks themselves are already the selected ones).
 */
export function buildReport(input: {
  suite: Suite
  target: string
  startedAt: Date
  durationMs: number
  checks: readonly CheckResult[]
  ruleFilter?: ((id: string) => boolean) | undefined
}): Report {
  const byRule = new Map<string, CheckResult[]>()
  for (const check of input.checks) {
    for (const rule of check.rules) {
      if (input.ruleFilter !== undefined && !input.ruleFilter(rule)) continue
      const list = byRule.get(rule)
      if (list === undefined) byRule.set(rule, [check])
      else list.push(check)
    }
  }
  const rules: Record<string, RuleResult> = {}
  for (const id of [...byRule.keys()].sort(compareRules)) {
    const checks = byRule.get(id) ?? []
    const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length
    const failed = count('failed')
    const passed = count('passed')
    rules[id] = {
      status: failed > 0 ? 'failed' : passed > 0 ? 'passed' : 'not-applicable',
      level: ruleLevel(id),
      passed,
      failed,
      notApplicable: count('not-applicable'),
      checks: checks.map((check) => check.name),
    }
  }
  const count = (status: CheckStatus) => input.checks.filter((check) => check.status === status).length
  return {
    suite: input.suite,
    target: input.target,
    startedAt: input.startedAt.toISOString(),
    durationMs: input.durationMs,
    summary: { passed: count('passed'), failed: count('failed'), notApplicable: count('not-applicable') },
    rules,
    checks: input.checks,
  }
}

/** 0 when every check passed or did not apply, 1 otherwise. */
export function exitCode(report: Report): number {
  return report.summary.failed > 0 ? 1 : 0
}

const STATUS_TEXT: Record<CheckStatus, string> = { passed: 'pass', failed: 'FAIL', 'not-applicable': 'n/a' }

/** Names the checks of a rule briefly: trace names, and frame vectors counted per file. */
function describeChecks(report: Report, names: readonly string[]): string {
  const kinds = new Map(report.checks.map((check) => [check.name, check.kind]))
  const traces: string[] = []
  const vectors = new Map<string, number>()
  for (const name of names) {
    if (kinds.get(name) === 'trace') traces.push(name)
    else {
      const file = name.split(': ', 1)[0] ?? name
      vectors.set(file, (vectors.get(file) ?? 0) + 1)
    }
  }
  return [...traces, ...[...vectors].map(([file, n]) => `${file} (${n} vector${n === 1 ? '' : 's'})`)].join(
    ', ',
  )
}

/** The readable table: one line per rule, the failures with their problems, and a summary line. */
export function formatTable(report: Report): string {
  const header = ['rule', 'level', 'status', 'pass', 'fail', 'n/a', 'checks']
  const rows = Object.entries(report.rules).map(([id, rule]) => [
    id,
    rule.level,
    STATUS_TEXT[rule.status],
    String(rule.passed),
    String(rule.failed),
    String(rule.notApplicable),
    describeChecks(report, rule.checks),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const out = [`Lifeline conformance: ${report.suite} suite against ${report.target}`, '', line(header)]
  out.push(line(widths.map((width, i) => '-'.repeat(i === widths.length - 1 ? Math.min(width, 40) : width))))
  for (const row of rows) out.push(line(row))
  const failed = report.checks.filter((check) => check.status === 'failed')
  if (failed.length > 0) {
    out.push('', 'Failures:')
    for (const check of failed) {
      out.push(`  ${check.kind} ${check.name} [${check.rules.join(', ')}]`)
      for (const text of (check.problem ?? '').split('\n')) out.push(`    ${text}`)
      if (check.stderr !== undefined && check.stderr.trim() !== '') {
        out.push('    driver stderr:')
        for (const text of check.stderr.trimEnd().split('\n').slice(-20)) out.push(`      ${text}`)
      }
    }
  }
  const notApplicable = report.checks.filter((check) => check.status === 'not-applicable')
  if (notApplicable.length > 0) {
    const reasons = new Map<string, number>()
    for (const check of notApplicable) {
      const reason = check.problem ?? 'not applicable'
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    out.push('', 'Not applicable:')
    for (const [reason, n] of reasons) out.push(`  ${n} check${n === 1 ? '' : 's'}: ${reason}`)
  }
  out.push('', summaryLine(report))
  return out.join('\n')
}

export function summaryLine(report: Report): string {
  const { passed, failed, notApplicable } = report.summary
  const total = passed + failed + notApplicable
  const rules = Object.values(report.rules)
  const failedRules = rules.filter((rule) => rule.status === 'failed').length
  const verdict = failed > 0 ? 'FAILED' : 'PASSED'
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  return `${verdict}: ${plural(total, 'check')}, ${passed} passed, ${failed} failed, ${notApplicable} not applicable; ${plural(rules.length, 'rule')}, ${failedRules} failed (${(report.durationMs / 1000).toFixed(1)} s)`
}

export function formatJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

function xml(text: string): string {
  // Characters XML 1.0 cannot carry at all are dropped; the rest are escaped.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const clean = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
  return clean
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

const seconds = (ms: number) => (ms / 1000).toFixed(3)

/** JUnit XML: one testsuite, one testcase per check; failures carry the problem, n/a checks are skipped. */
export function formatJunit(report: Report): string {
  const { passed, failed, notApplicable } = report.summary
  const tests = passed + failed + notApplicable
  const name = `lifeline-conformance ${report.suite}`
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" tests="${tests}" failures="${failed}" skipped="${notApplicable}" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${xml(name)}" tests="${tests}" failures="${failed}" errors="0" skipped="${notApplicable}" time="${seconds(report.durationMs)}" timestamp="${xml(report.startedAt)}">`,
    `    <properties><property name="target" value="${xml(report.target)}"/></properties>`,
  ]
  for (const check of report.checks) {
    const open = `    <testcase classname="${xml(report.suite)}" name="${xml(`${check.name} [${check.rules.join(', ')}]`)}" time="${seconds(check.durationMs)}"`
    if (check.status === 'passed') {
      lines.push(`${open}/>`)
      continue
    }
    lines.push(`${open}>`)
    const problem = check.problem ?? ''
    const first = problem.split('\n', 1)[0] ?? ''
    if (check.status === 'failed') {
      lines.push(`      <failure message="${xml(first)}" type="${check.kind}">${xml(problem)}</failure>`)
      if (check.stderr !== undefined && check.stderr !== '') {
        lines.push(`      <system-err>${xml(check.stderr)}</system-err>`)
      }
    } else lines.push(`      <skipped message="${xml(first)}"/>`)
    lines.push('    </testcase>')
  }
  lines.push('  </testsuite>', '</testsuites>', '')
  return lines.join('\n')
}
