/** Everything `dl worker` accepts, as commander hands it over. */
export interface WorkerOptions {
  /** `--queue redis://HOST:PORT/DB`. */
  readonly queue: string;
  /** `--name Q`: the fleet's queue. */
  readonly name?: string;
  /** `-j N`: transfers at once in this worker; default: the run's `-j`. */
  readonly total?: number;
  /** `--chunks N`: chunks run at once. */
  readonly chunks: number;
  /** `--lock-duration S` in ms: a dead worker's chunks are redone this long after it stopped renewing. */
  readonly lockDuration: number;
}
