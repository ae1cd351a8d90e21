/** The conformance suites as a library: run them from tests or your own tools. */
export { parseArgs, USAGE, UsageError } from './args.js'
export {
  type ClientSuiteOptions,
  Driver,
  type DriverHello,
  driverCommand,
  neededCapabilities,
  runClientSuite,
  ScriptedServer,
} from './client-suite.js'
export {
  buildReport,
  type CheckKind,
  type CheckResult,
  type CheckStatus,
  exitCode,
  formatJson,
  formatJunit,
  formatTable,
  type Report,
  type RuleResult,
  ruleLevel,
  type Suite,
  summaryLine,
} from './report.js'
export { playedBy, ruleMatcher, SelectionError, select } from './select.js'
export {
  ControlChannel,
  controlAction,
  playsVector,
  RESET_DEFAULTS,
  runServerSuite,
  type ServerEvent,
  type ServerSuiteOptions,
  type ServerTarget,
  vectorChecks,
} from './server-suite.js'
export { defaultSpecDir, type FrameValidator, loadSpec, type Spec } from './spec.js'
