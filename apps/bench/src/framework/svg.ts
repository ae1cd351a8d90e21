/** Small SVG charts, written by hand: horizontal bar groups and line plots. No dependency. */
import { short } from './stats.js'

const COLORS = ['#2563eb', '#9ca3af', '#6b7280', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6']
const FONT = 'font-family="system-ui, sans-serif" font-size="12"'

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export interface BarGroup {
  readonly title: string
  readonly unit: string
  readonly bars: ReadonlyArray<{
    readonly label: string
    readonly value: number
    readonly low?: number
    readonly high?: number
  }>
}

/** One group per figure, each scaled to its own largest bar; whiskers show the spread (min–max). */
export function barChart(title: string, groups: readonly BarGroup[]): string {
  const width = 760
  const labelWidth = 220
  const barHeight = 18
  const plotWidth = width - labelWidth - 110
  const parts: string[] = []
  let y = 34
  for (const group of groups) {
    parts.push(`<text x="8" y="${y}" ${FONT} font-weight="600">${xml(group.title)}</text>`)
    y += 8
    const top = Math.max(...group.bars.map((bar) => Math.max(bar.value, bar.high ?? 0)), 1e-9)
    for (const [i, bar] of group.bars.entries()) {
      const w = Number.isFinite(bar.value) ? (bar.value / top) * plotWidth : 0
      const color = COLORS[i % COLORS.length]
      parts.push(
        `<text x="${labelWidth - 6}" y="${y + 13}" ${FONT} text-anchor="end">${xml(bar.label)}</text>`,
      )
      parts.push(
        `<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="${barHeight - 4}" fill="${color}"/>`,
      )
      if (bar.low !== undefined && bar.high !== undefined && Number.isFinite(bar.low)) {
        const x1 = labelWidth + (bar.low / top) * plotWidth
        const x2 = labelWidth + (bar.high / top) * plotWidth
        const mid = y + barHeight / 2
        parts.push(
          `<path d="M${x1.toFixed(1)} ${mid}H${x2.toFixed(1)}M${x1.toFixed(1)} ${mid - 4}v8M${x2.toFixed(1)} ${mid - 4}v8" stroke="#111" stroke-width="1"/>`,
        )
      }
      const text = `${short(bar.value)} ${group.unit}`
      parts.push(
        `<text x="${labelWidth + Math.max(w, ((bar.high ?? 0) / top) * plotWidth) + 6}" y="${y + 13}" ${FONT}>${xml(text)}</text>`,
      )
      y += barHeight
    }
    y += 18
  }
  const height = y
  return svg(
    width,
    height,
    `<text x="8" y="18" ${FONT} font-size="14" font-weight="700">${xml(title)}</text>${parts.join('')}`,
  )
}

export interface LineSeries {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

/** Lines over a shared x axis (e.g. seconds since the drop), with a legend. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly LineSeries[],
): string {
  const width = 760
  const height = 320
  const left = 60
  const right = 16
  const top = 40
  const bottom = 44
  const all = series.flatMap((s) => s.points)
  const xMax = Math.max(...all.map(([x]) => x), 1e-9)
  const yMax = niceCeil(Math.max(...all.map(([, y]) => y), 1e-9))
  const px = (x: number) => left + (x / xMax) * (width - left - right)
  const py = (y: number) => height - bottom - (y / yMax) * (height - top - bottom)
  const parts: string[] = [`<text x="8" y="18" ${FONT} font-size="14" font-weight="700">${xml(title)}</text>`]
  for (let i = 0; i <= 4; i++) {
    const value = (yMax * i) / 4
    const y = py(value)
    parts.push(`<path d="M${left} ${y.toFixed(1)}H${width - right}" stroke="#e5e7eb"/>`)
    parts.push(
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" ${FONT} text-anchor="end">${short(value)}</text>`,
    )
  }
  for (let i = 0; i <= 5; i++) {
    const value = (xMax * i) / 5
    parts.push(
      `<text x="${px(value).toFixed(1)}" y="${height - bottom + 16}" ${FONT} text-anchor="middle">${short(value)}</text>`,
    )
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 8}" ${FONT} text-anchor="middle">${xml(xLabel)}</text>`,
  )
  parts.push(
    `<text x="14" y="${(top + height - bottom) / 2}" ${FONT} text-anchor="middle" transform="rotate(-90 14 ${(top + height - bottom) / 2})">${xml(yLabel)}</text>`,
  )
  for (const [i, s] of series.entries()) {
    const color = COLORS[i % COLORS.length]
    const d = s.points
      .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)} ${py(y).toFixed(1)}`)
      .join('')
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`)
    const ly = top + i * 16
    parts.push(`<rect x="${width - right - 220}" y="${ly - 9}" width="12" height="10" fill="${color}"/>`)
    parts.push(`<text x="${width - right - 204}" y="${ly}" ${FONT}>${xml(s.name)}</text>`)
  }
  return svg(width, height, parts.join(''))
}

function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

function svg(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`
}
