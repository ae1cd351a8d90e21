/** Runs the chaos experiment: faults from a seed, both sides sending, then every message accounted for. */
import type { Experiment } from './experiment.js'
import { lifelineExperiment } from './lifeline.js'
import { FaultSchedule } from './schedule.js'
import { socketIoExperiment } from './socketio.js'
import { type ChaosOptions, type ChaosReport, FAULT_KINDS } from './types.js'

/** The seed of a run: `CHAOS_SEED` when set, so a failing run replays its fault schedule. */
export function chaosSeed(options: Pick<ChaosOptions, 'seed'>): number {
  const fromEnv = Number(process.env.CHAOS_SEED)
  if (options.seed !== undefined) return options.seed
  return Number.isInteger(fromEnv) ? fromEnv : Math.floor(Math.random() * 2 ** 31)
}

export async function runChaos(transport: string, options: ChaosOptions): Promise<ChaosReport> {
  const settings = {
    clients: options.clients ?? 3,
    heartbeatMs: options.heartbeatMs ?? 1000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 1000,
    graceMs: options.graceMs ?? 60_000,
  }
  const durationMs = options.durationMs ?? 60_000
  const seed = chaosSeed(options)
  const experiments: Experiment[] = [await lifelineExperiment(transport, options, settings)]
  if (options.compareWithSocketIo === true) experiments.push(await socketIoExperiment(settings))
  try {
    await Promise.all(experiments.map((experiment) => experiment.open()))
    const schedule = new FaultSchedule(
      experiments.map((experiment) => experiment.proxy),
      {
        seed,
        gapMs: options.faultGapMs ?? [500, 5000],
        kinds: options.faults ?? FAULT_KINDS,
        deadAfterMs: settings.heartbeatMs + settings.heartbeatTimeoutMs,
      },
    )
    const started = performance.now()
    const sender = setInterval(() => {
      for (const experiment of experiments) experiment.tick()
    }, options.sendEveryMs ?? 20)
    const progress = setInterval(() => {
      const [lifeline] = experiments
      if (lifeline === undefined) return
      options.onProgress?.({
        elapsedMs: performance.now() - started,
        durationMs,
        faultCount: schedule.total,
        lastFault: schedule.last,
        ...lifeline.progress(),
      })
    }, 1000)
    const faults = schedule.run()
    await new Promise((resolve) => setTimeout(resolve, durationMs))
    schedule.stop()
    await faults
    clearInterval(sender)
    clearInterval(progress)
    const settle = options.settleTimeoutMs ?? 30_000
    const finishing = performance.now()
    const [lifeline, socketIo] = await Promise.all(
      experiments.map(async (experiment) => {
        const result = await experiment.finish(settle)
        if (process.env.CHAOS_DEBUG)
          console.log(`${experiment.name}: settled in ${Math.round(performance.now() - finishing)} ms`)
        return result
      }),
    )
    if (lifeline === undefined) throw new Error('chaos: no result')
    return {
      transport,
      seed,
      durationMs,
      faults: { ...schedule.counts },
      faultCount: schedule.total,
      lifeline,
      socketIo,
    }
  } finally {
    await Promise.all(experiments.map((experiment) => experiment.close().catch(() => {})))
  }
}
