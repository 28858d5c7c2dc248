export { redisBudget } from './redis-budget.js';
export type { RedisBudgetOptions } from './redis-budget-options.js';
