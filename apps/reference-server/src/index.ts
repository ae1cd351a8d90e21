/** The reference server as a library, for tests and embedding: `startServer(config)`. */
export { authenticate, type ChatMessage, chatHandler, chatText, onJoin } from './app.js'
export { type Config, ConfigError, type Env, type LogLevel, parseConfig, usage } from './config.js'
export {
  type AppEvent,
  CONFORMANCE_DEFAULTS,
  CONTROL_PATH,
  type ConformanceFault,
  ConformanceHost,
  type ConformanceOptions,
  type ConformanceSettings,
} from './conformance.js'
export { createLogger, type Logger } from './logger.js'
export { createMetrics, type Metrics } from './metrics.js'
export { LIFELINE_PATH, type RunningServer, type StartOptions, startServer } from './server.js'
