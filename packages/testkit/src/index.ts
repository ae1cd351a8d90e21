/** @lifeline/testkit: tools for Lifeline's own integration tests. Not published. */
export { FaultProxy, type FaultProxyTarget } from './fault-proxy.js'
export { freePort, sleep, type WaitForOptions, waitFor } from './wait.js'
