/**
 * @lifeline/core/contract: the transport contract suite, for vitest files of transport adapters.
 * Apart from `@lifeline/core/testing` because it imports vitest, which only tests have installed.
 */
export {
  type TransportCapabilities,
  type TransportContractOptions,
  type TransportUnderTest,
  transportContract,
} from './testing/contract.js'
