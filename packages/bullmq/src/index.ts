export { type FleetConnection } from './connection.js';
export {
  createFleetProducer,
  type FleetProducer,
  type FleetProducerOptions,
  type FleetRunOptions,
} from './producer.js';
export {
  createFleetWorker,
  type FleetWorker,
  type FleetWorkerOptions,
  type FleetChunkDone,
} from './worker.js';
export {
  FLEET_CHUNK_FAILED,
  type FleetOutcome,
  type FleetRequestRecord,
  type FleetResultRecord,
  type FleetErrorRecord,
} from './outcome.js';
export { verifiedFile } from './skip-check.js';
export { removeDeadWorkerTemps, type DeadOwners } from './stale-temps.js';
export { redisBudget } from './redis-budget.js';
export type { RedisBudgetOptions } from './redis-budget-options.js';
