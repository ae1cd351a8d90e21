/** What the run asks of each experiment (Lifeline, and Socket.IO as the anchor). */
import type { FaultProxy } from '../fault-proxy.js'
import type { ExperimentResult } from './types.js'

export interface Experiment {
  readonly name: string
  readonly proxy: FaultProxy
  /** Connects every client; resolves once all are open. */
  open(): Promise<void>
  /** One message each way per client, plus one on the shared topic. */
  tick(): void
  /** Messages sent and delivered so far, both ways, for the progress line. */
  progress(): { sent: number; delivered: number; resumes: number }
  /** Stops sending, waits for what is owed (up to `timeoutMs`), then counts. */
  finish(timeoutMs: number): Promise<ExperimentResult>
  close(): Promise<void>
}
