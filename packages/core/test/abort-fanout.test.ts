import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fanOutAborts, listenAbort, unlistenAbort } from '../src/util/abort-fanout.js';

describe('abort listeners on a long-lived signal', () => {
  it('share one listener of the signal, run once each on abort, and can be taken back', () => {
    const controller = new AbortController();
    const { signal } = controller;
    fanOutAborts(signal);
    const calls: string[] = [];
    const listeners = Array.from(
      { length: 100 },
      (_, i) =>
        function (this: AbortSignal) {
          calls.push(`${i}:${String(this.reason)}`);
        },
    );
    for (const listener of listeners) listenAbort(signal, listener);
    const object = { handleEvent: () => calls.push('object') };
    listenAbort(signal, object);
    for (const listener of listeners.slice(10)) unlistenAbort(signal, listener);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    controller.abort('why');
    expect(calls).toEqual([...Array.from({ length: 10 }, (_, i) => `${i}:why`), 'object']);
    // Added after the abort: never called, as with the signal's own listeners.
    listenAbort(signal, () => calls.push('late'));
    expect(calls).toHaveLength(11);
  });

  it("use the signal's own listeners for a signal not marked", () => {
    const controller = new AbortController();
    let called = 0;
    const listener = () => called++;
    listenAbort(controller.signal, listener);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    unlistenAbort(controller.signal, listener);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    listenAbort(controller.signal, listener);
    controller.abort();
    controller.abort();
    expect(called).toBe(1);
  });
});
