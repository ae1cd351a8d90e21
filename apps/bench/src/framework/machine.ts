/** The machine the figures come from: enough to tell two runs apart, nothing identifying. */
import os from 'node:os'

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGb: number
  readonly os: string
  readonly node: string
  readonly loadBefore: readonly number[]
  loadAfter: readonly number[]
  readonly date: string
}

export function describeMachine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadBefore: os.loadavg(),
    loadAfter: os.loadavg(),
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
  }
}

export const formatLoad = (load: readonly number[]) => load.map((n) => n.toFixed(2)).join(', ')

export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; load average ${formatLoad(machine.loadBefore)} before, ${formatLoad(machine.loadAfter)} after (${machine.date} UTC)`
}
