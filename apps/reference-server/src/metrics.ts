/**
 * Prometheus metrics on a registry of our own (never prom-client's global one), fed by the
 * LifelineServer's events.
 */
import type { LifelineServer } from '@lifeline/core/server'
import { Counter, Gauge, Registry } from 'prom-client'

export interface Metrics {
  readonly registry: Registry
  /** Stops listening to the server's events. */
  detach(): void
}

export function createMetrics(server: LifelineServer): Metrics {
  const registry = new Registry()
  const registers = [registry]

  new Gauge({
    name: 'lifeline_sessions',
    help: 'Sessions by state: connected, or away (dropped, waiting in the grace period for a resume)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const stats = server.stats
      this.set({ state: 'connected' }, stats.connected)
      this.set({ state: 'away' }, stats.away)
    },
  })
  const opened = new Counter({
    name: 'lifeline_sessions_opened_total',
    help: 'New sessions opened (not counting resumes)',
    registers,
  })
  const resumes = new Counter({
    name: 'lifeline_resumes_total',
    help: 'Sessions resumed on a new connection, by whether every stream was recovered',
    labelNames: ['recovered'] as const,
    registers,
  })
  const replayed = new Counter({
    name: 'lifeline_replayed_entries_total',
    help: 'Stream entries replayed to resuming sessions or recovering joins',
    registers,
  })
  const drops = new Counter({
    name: 'lifeline_drops_total',
    help: 'Connections of a session lost without a goodbye (the session went away)',
    registers,
  })
  const unrecoverable = new Counter({
    name: 'lifeline_unrecoverable_total',
    help: 'Resumes asked for but not recovered: expired, unknown or invalid memento, or replay overflow',
    registers,
  })
  const ended = new Counter({
    name: 'lifeline_sessions_ended_total',
    help: 'Sessions ended, by reason (bye, kick, grace, shutdown)',
    labelNames: ['reason'] as const,
    registers,
  })
  const refused = new Counter({
    name: 'lifeline_connections_refused_total',
    help: 'Connections refused before a session opened, by close code',
    labelNames: ['code'] as const,
    registers,
  })
  // Zero-valued series, so that dashboards and rate() see them from the start.
  resumes.inc({ recovered: 'true' }, 0)
  resumes.inc({ recovered: 'false' }, 0)

  const stops = [
    server.on('session', (event) => {
      if (event.resumed) resumes.inc({ recovered: String(event.recovered) })
      else opened.inc()
      // A new session with a reason is a resume that failed (LL-RESUME-4); a resumed one that lost
      // entries is not recovered either (LL-RESUME-3).
      if ((event.resumed && !event.recovered) || (!event.resumed && event.reason !== undefined)) {
        unrecoverable.inc()
      }
    }),
    server.on('replay', (event) => replayed.inc(event.entries)),
    server.on('away', () => drops.inc()),
    server.on('end', (event) => ended.inc({ reason: event.reason })),
    server.on('refused', (event) => refused.inc({ code: String(event.code) })),
  ]

  return {
    registry,
    detach: () => {
      for (const stop of stops) stop()
    },
  }
}
