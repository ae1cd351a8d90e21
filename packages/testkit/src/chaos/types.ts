/** The chaos suite's vocabulary: the transport under test, its options, and what a run reports. */
import type { ClientTransport, ServerTransport } from '@lifeline/core'
import type { ServerOptions } from '@lifeline/core/server'

/** The faults the suite injects through the fault proxy. */
export const FAULT_KINDS = ['reset', 'drop', 'blackhole', 'slice', 'latency', 'bandwidth'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** One run's transport: fresh for every run, stopped at its end. */
export interface ChaosTransportUnderTest {
  readonly server: ServerTransport
  /** Where the fault proxy forwards to: the server transport's port, or the broker clients dial. */
  readonly target: { readonly port: number; readonly host?: string }
  /** A client transport that dials through the fault proxy listening on `proxyPort`. */
  client(proxyPort: number): ClientTransport
  stop(): Promise<void>
}

export interface ChaosOptions {
  /** Starts the transport under test on free ports. */
  start(): Promise<ChaosTransportUnderTest>
  /** How long faults are injected while both sides send. Default: 60000 ms. */
  readonly durationMs?: number
  /** Clients, each with its own session. Default: 3. */
  readonly clients?: number
  /** Pause between faults, drawn uniformly from [min, max] ms. Default: [500, 5000]. */
  readonly faultGapMs?: readonly [number, number]
  /** Which faults to draw from. Default: all of them. */
  readonly faults?: readonly FaultKind[]
  /** Each client sends, and the server sends to each client and to the shared topic, this often. Default: 20 ms. */
  readonly sendEveryMs?: number
  /** Seed of the fault schedule; a failing run prints it. Default: CHAOS_SEED or a random one. */
  readonly seed?: number
  /** Heartbeat interval and timeout: a black hole is detected within their sum. Default: 1000 ms each. */
  readonly heartbeatMs?: number
  readonly heartbeatTimeoutMs?: number
  /** Grace period: longer than any fault, so every resume must recover. Default: 60000 ms. */
  readonly graceMs?: number
  /** After the faults stop, how long everything may take to arrive. Default: 30000 ms. */
  readonly settleTimeoutMs?: number
  /** Extra server options (a smaller maxFrameBytes for NATS, say). */
  readonly serverOptions?: Partial<ServerOptions>
  /** Runs the same experiment, same faults at the same moments, against Socket.IO with connection state recovery. */
  readonly compareWithSocketIo?: boolean
  /** Called about once a second while the run goes. */
  readonly onProgress?: (progress: ChaosProgress) => void
}

/** Messages of one direction, checked one by one. */
export interface DirectionTally {
  readonly sent: number
  /** Distinct messages that arrived. */
  readonly delivered: number
  readonly lost: number
  /** Arrivals of a message already delivered. */
  readonly duplicated: number
  /** Arrivals of a message before one sent earlier. */
  readonly outOfOrder: number
}

export interface ExperimentResult {
  readonly name: string
  readonly c2s: DirectionTally
  readonly s2c: DirectionTally
  /** Reconnections that asked to resume, and those that came back with nothing missing. */
  readonly resumes: number
  readonly recovered: number
  /** Resumes that did not recover, with why. */
  readonly unrecovered: readonly string[]
  /** Problems that are not counts: a send that failed, an error event. */
  readonly problems: readonly string[]
}

export interface ChaosReport {
  readonly transport: string
  readonly seed: number
  readonly durationMs: number
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly faultCount: number
  readonly lifeline: ExperimentResult
  readonly socketIo: ExperimentResult | undefined
}

export interface ChaosProgress {
  readonly elapsedMs: number
  readonly durationMs: number
  readonly faultCount: number
  readonly lastFault: FaultKind | undefined
  readonly sent: number
  readonly delivered: number
  readonly resumes: number
}
