import { listenAbort, unlistenAbort } from './abort-fanout.js';

/**
 * An AbortController that aborts when any parent signal does. `dispose`
 * detaches it from the parents; without that, listeners on a long-lived
 * parent (the factory's) would pile up, one per download. (AbortSignal.any
 * is avoided for the same reason: it has leaked on Node 20.)
 */
export interface LinkedAbort {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  dispose(): void;
}

export function linkedAbort(...parents: (AbortSignal | undefined)[]): LinkedAbort {
  return new Link(parents);
}

/**
 * The link is its own listener (`handleEvent`), so one is made per attempt
 * without a closure or an array per parent: this runs for every download.
 */
class Link implements LinkedAbort {
  readonly #controller = new AbortController();
  #parents: readonly (AbortSignal | undefined)[] | undefined;

  constructor(parents: readonly (AbortSignal | undefined)[]) {
    for (const parent of parents) {
      if (parent?.aborted) {
        this.#controller.abort(parent.reason);
        return;
      }
    }
    for (const parent of parents) if (parent !== undefined) listenAbort(parent, this);
    this.#parents = parents;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  handleEvent(event: Event): void {
    this.abort((event.target as AbortSignal).reason);
  }

  abort(reason?: unknown): void {
    this.dispose();
    this.#controller.abort(reason);
  }

  dispose(): void {
    const parents = this.#parents;
    if (parents === undefined) return;
    this.#parents = undefined;
    for (const parent of parents) if (parent !== undefined) unlistenAbort(parent, this);
  }
}
