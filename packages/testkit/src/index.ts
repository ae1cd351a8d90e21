/** @lifeline/testkit: tools for Lifeline's own integration tests. Not published. */
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
