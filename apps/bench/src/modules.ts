/**
 * The benchmark modules `pnpm bench` runs, in this order. Registering one is one line here: import its
 * `BenchModule` and add it to the list.
 */
import { bundleBench } from './bundle/index.js'
import type { BenchModule } from './framework/types.js'
import { natsBench } from './nats/index.js'
import { socketIoBench } from './sio/index.js'
import { stormBench } from './storm/index.js'
import { wsBench } from './ws/index.js'

export const modules: readonly BenchModule[] = [wsBench, socketIoBench, natsBench, stormBench, bundleBench]
