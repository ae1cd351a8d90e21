/** The ws scenarios: Lifeline over ws next to raw ws (and Socket.IO where it applies). */
import type { BenchModule } from '../framework/types.js'
import { complexityScenarios } from './complexity.js'
import { dedupScenarios } from './dedup.js'
import { memoryScenarios } from './memory.js'
import { roomScenarios } from './rooms.js'
import { throughputScenarios } from './throughput.js'

export const wsBench: BenchModule = {
  name: 'ws',
  scenarios: (options) => [
    ...throughputScenarios(options),
    ...roomScenarios(options),
    ...memoryScenarios(options),
    ...dedupScenarios(options),
    ...complexityScenarios(options),
  ],
}
