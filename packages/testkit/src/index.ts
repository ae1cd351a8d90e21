/** @lifeline/testkit: tools for Lifeline's own integration tests. Not published. */

export { formatChaosReport } from './chaos/report.js'
export { chaosSeed, runChaos } from './chaos/run.js'
export {
  type ChaosOptions,
  type ChaosProgress,
  type ChaosReport,
  type ChaosTransportUnderTest,
  type DirectionTally,
  type ExperimentResult,
  FAULT_KINDS,
  type FaultKind,
} from './chaos/types.js'
export { FaultProxy, type FaultProxyTarget } from './fault-proxy.js'
export {
  NatsCluster,
  NatsServer,
  type NatsServerOptions,
  natsServerBinary,
  startNatsCluster,
  startNatsServer,
} from './nats-server.js'
export { freePort, sleep, type WaitForOptions, waitFor } from './wait.js'
