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
  const controller = new AbortController();
  const attached: AbortSignal[] = [];
  const onAbort = function (this: AbortSignal) {
    controller.abort(this.reason);
    dispose();
  };
  function dispose() {
    for (const parent of attached) parent.removeEventListener('abort', onAbort);
    attached.length = 0;
  }
  for (const parent of parents) {
    if (parent === undefined) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      dispose();
      break;
    }
    parent.addEventListener('abort', onAbort);
    attached.push(parent);
  }
  return {
    signal: controller.signal,
    abort(reason?: unknown) {
      dispose();
      controller.abort(reason);
    },
    dispose,
  };
}
