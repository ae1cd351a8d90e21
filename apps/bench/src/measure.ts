/** Shared measuring: interleaved rounds, medians, and one line per figure. */

export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

export interface Comparison {
  readonly label: string
  readonly baseline: string
  readonly baselineRate: number
  readonly rate: number
  readonly ratio: number
  readonly target: number
}

/** Runs baseline and subject alternately, `rounds` times each after a warm-up, and compares medians. */
export async function compare(
  label: string,
  baseline: { name: string; run: () => Promise<number> },
  subject: () => Promise<number>,
  options: { rounds: number; target: number },
): Promise<Comparison> {
  await baseline.run()
  await subject()
  const baselineRates: number[] = []
  const rates: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < options.rounds; round++) {
    const b = await baseline.run()
    const s = await subject()
    baselineRates.push(b)
    rates.push(s)
    ratios.push(s / b)
  }
  return {
    label,
    baseline: baseline.name,
    baselineRate: median(baselineRates),
    rate: median(rates),
    ratio: median(ratios),
    target: options.target,
  }
}

export function report(result: Comparison, unit = 'msg/s'): string {
  const pass = result.ratio >= result.target ? 'meets' : 'BELOW'
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} ${unit}`
  return `${result.label}: ${fmt(result.rate)} vs ${result.baseline} ${fmt(result.baselineRate)} = ${result.ratio.toFixed(2)}x (target >= ${result.target}x: ${pass})`
}
