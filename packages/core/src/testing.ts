/** @lifeline/core/testing: simulated time and an in-memory network with faults, for tests. */

export {
  type TransportCapabilities,
  type TransportContractOptions,
  type TransportUnderTest,
  transportContract,
} from './testing/contract.js'
export {
  type Direction,
  FakeClientTransport,
  FakeNetwork,
  type FakeNetworkOptions,
  type WireTap,
} from './testing/fake-network.js'
export { SimulatedClock, seededRandom } from './testing/simulated-clock.js'
export { testApplication } from './testing/test-application.js'
