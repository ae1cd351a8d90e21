/**
 * @lifeline/core/testing: simulated time, an in-memory network with faults and the spec's test
 * application. No test framework needed (the transport contract suite, on vitest, is
 * `@lifeline/core/contract`).
 */
export {
  type Direction,
  FakeClientTransport,
  FakeNetwork,
  type FakeNetworkOptions,
  type WireTap,
} from './testing/fake-network.js'
export { SimulatedClock, seededRandom } from './testing/simulated-clock.js'
export { testApplication } from './testing/test-application.js'
