import type { AdmissionBudget, HostThrottle, Permit } from '../contracts/admission-budget.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { DownloadResult } from '../contracts/download-result.js';
import type { OpenFunction } from '../contracts/open-function.js';
import type { OpenRequest } from '../contracts/open-request.js';
import type { DownloadEvents, DownloadStats } from '../contracts/progress.js';
import type { RemoteMetadata, RemoteResource } from '../contracts/remote-resource.js';
import { abortError, DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { linkedAbort, type LinkedAbort } from '../util/linked-abort.js';
import { redactUrl } from '../util/redact.js';
import { runDownload, type AttemptContext } from './attempt-loop.js';
import type { FileSinkContext } from './file-sink.js';
import { discardBody } from './guarded-body.js';
import { ProgressHub } from './progress-hub.js';
import { PositionalSink, SegmentFile } from './segment-file.js';
import type { Sink } from './sink.js';

/** Bytes the in-order hasher reads back from the file at once. */
const READ_BACK_BYTES = 1024 * 1024;

/** How one download is split. */
export interface SplitOptions {
  /** Connections at most, the first included. */
  readonly split: number;
  /** The least bytes of one segment. */
  readonly minSegment: number;
  readonly files: FileSinkContext;
}

/**
 * Downloads one file over up to `split` connections to the same origin
 * (aria2's `-x/-s`), composed around the ordinary attempt loop.
 *
 * The first connection (the prefix) is an ordinary download of the whole
 * file: its first reply gives the size, and then segments 1..K−1 start as
 * range requests, each through its own attempt loop (its own permit, so the
 * per-host limit counts it; its own retries, resuming from its own offset)
 * writing at its offsets into the one temp file. The prefix's body is
 * spliced: its own network bytes up to the first segment's start, then the
 * later segments' bytes read back from the file, in order, as they land.
 * The prefix's attempt loop therefore validates (size, digests, custom
 * validators) every byte once and in order, and commits (renames) only after.
 *
 * A segment that fails for good, or a server that answers a range request
 * with the whole file, ends the split: the other segments stop and the
 * prefix continues to the end over its one connection (reopening where it
 * stood if it had stopped already).
 */
export function runSegmented<C>(
  request: DownloadRequest<C>,
  url: URL,
  context: AttemptContext,
  signal: AbortSignal,
  permit: Permit | undefined,
  options: SplitOptions,
): Promise<DownloadResult<C>> {
  return new SegmentedDownload(request, url, context, signal, options).run(permit);
}

interface Segment {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly sink: PositionalSink;
  readonly abort: LinkedAbort;
  done: boolean;
  /** Settles (never rejects) when the segment's attempt loop ended. */
  ended: Promise<void>;
}

class SegmentedDownload<C> {
  readonly #file: SegmentFile;
  readonly #shownUrl: string;
  readonly #segments: Segment[] = [];
  /** Where the prefix's own network bytes end: the first segment's start. */
  #boundary = Infinity;
  #size = 0;
  #planned = false;
  /** Set when the split ended: the prefix takes every remaining byte over the network. */
  #fallback = false;
  /** True while the prefix's attempt loop handles a chunk read back from the file. */
  #readingBack = false;
  /** The real permit behind the prefix's current attempt. */
  #networkPermit: Permit | undefined;
  /** Bytes received over the network by every connection, for progress. */
  #fetched = 0;
  #id = 0;
  #metadata: RemoteMetadata | undefined;
  #wake: (() => void) | undefined;
  #woken: Promise<void> | undefined;
  readonly #prefixSink: PositionalSink;

  constructor(
    private readonly request: DownloadRequest<C>,
    private readonly url: URL,
    private readonly context: AttemptContext,
    private readonly signal: AbortSignal,
    private readonly options: SplitOptions,
  ) {
    this.#file = new SegmentFile(request.destination!, url, options.files);
    this.#shownUrl = redactUrl(url);
    this.#prefixSink = new PositionalSink(
      this.#file,
      0,
      () => {},
      () => this.#readingBack,
    );
  }

  run(permit: Permit | undefined): Promise<DownloadResult<C>> {
    const { context } = this;
    const prefix: AttemptContext = {
      open: (open) => this.#openPrefix(open),
      budget: this.#prefixBudget(),
      policy: context.policy,
      progress: new ProgressView(context.progress, {
        visible: true,
        received: (bytes) => {
          if (this.#readingBack) return false;
          this.#fetched += bytes;
          return true;
        },
        bytes: () => this.#fetched,
        quiet: () => this.#readingBack,
        named: (id) => (this.#id = id),
      }),
      canResume: (url) => context.canResume(url),
    };
    return runDownload(
      this.request,
      this.url,
      this.#sink(),
      prefix,
      this.signal,
      permit === undefined ? undefined : this.#track(permit),
    );
  }

  /** The prefix's sink: its bytes at their offsets; commit and abort stand for the whole file. */
  #sink(): Sink {
    const sink = this.#prefixSink;
    return {
      write: (chunk) => sink.write(chunk),
      restart: async () => {
        this.#fallBack();
        await sink.restart();
      },
      commit: async () => {
        await sink.commit();
        await this.#stopSegments();
        return this.#file.commit();
      },
      abort: async () => {
        this.#fallBack();
        await this.#stopSegments();
        await sink.abort();
        await this.#file.discard();
      },
    };
  }

  /** Opens the prefix; the first reply plans the segments; a body past the boundary is spliced. */
  async #openPrefix(open: OpenRequest): Promise<RemoteResource> {
    const resource = await this.context.open(open);
    const metadata = resource.metadata;
    if (!this.#planned) {
      this.#planned = true;
      if (open.offset === 0 && metadata.offset === 0) this.#plan(metadata);
    }
    if (this.#segments.length === 0) return resource;
    const wrapped: Mutable<RemoteResource> = {
      metadata,
      body: this.#splice(resource, metadata.offset, open.signal),
    };
    if (resource.expect !== undefined) wrapped.expect = resource.expect;
    if (resource.failover !== undefined) wrapped.failover = resource.failover;
    if (resource.onSettled !== undefined) wrapped.onSettled = (o) => resource.onSettled!(o);
    if (resource.finalError !== undefined) wrapped.finalError = (e) => resource.finalError!(e);
    return wrapped;
  }

  /** Splits the file when it is large enough and starts segments 1..K−1. */
  #plan(metadata: RemoteMetadata): void {
    const size = metadata.size;
    if (size === undefined) return;
    if (this.request.size !== undefined && this.request.size !== size) return;
    if (metadata.length !== undefined && metadata.length !== size) return;
    const count = Math.min(this.options.split, Math.floor(size / this.options.minSegment));
    if (count < 2) return;
    this.#size = size;
    this.#metadata = metadata;
    const bounds = Array.from({ length: count + 1 }, (_, i) => Math.floor((i * size) / count));
    this.#boundary = bounds[1]!;
    for (let i = 1; i < count; i++) this.#startSegment(bounds[i]!, bounds[i + 1]!);
  }

  #startSegment(start: number, end: number): void {
    const abort = linkedAbort(this.signal);
    const segment: Segment = {
      start,
      end,
      sink: new PositionalSink(this.#file, start, () => this.#notify()),
      abort,
      done: false,
      ended: Promise.resolve(),
    };
    const { context } = this;
    const segmentContext: AttemptContext = {
      open: this.#openSegment,
      budget: context.budget,
      policy: context.policy,
      progress: new ProgressView(context.progress, {
        visible: false,
        received: (bytes) => {
          this.#fetched += bytes;
          this.#segmentProgress(bytes);
          return true;
        },
      }),
      canResume: (url) => context.canResume(url),
    };
    const range: DownloadRequest = {
      url: this.url,
      range: { start, end: end - 1 },
      ...(this.request.headers === undefined ? {} : { headers: this.request.headers }),
    };
    this.#segments.push(segment);
    segment.ended = runDownload(range, this.url, segment.sink, segmentContext, abort.signal)
      .then(
        () => {
          segment.done = true;
        },
        () => {
          // Ended by the split's end or the download's cancellation: nothing to do.
          if (!abort.signal.aborted) this.#fallBack();
        },
      )
      .finally(() => {
        abort.dispose();
        this.#notify();
      });
  }

  /**
   * Opens one segment's range. The request the adapter sees is the whole
   * download's (so an adapter never cuts a range out of a whole-file reply
   * itself), and the prefix's metadata guards the first attempt as a
   * resume's would (`If-Range`): a reply that does not start where asked
   * means the server ignores ranges (or the file changed), and ends the split.
   */
  readonly #openSegment: OpenFunction = async (open) => {
    const resource = await this.context.open({
      ...open,
      download: this.request as DownloadRequest<unknown>,
      resumeFrom: open.resumeFrom ?? this.#metadata,
    });
    if (resource.metadata.offset !== open.offset) {
      discardBody(resource.body);
      throw new DownloadError(
        `The server answered a range request from byte ${resource.metadata.offset}, not ${open.offset}: continuing over one connection`,
        { code: ErrorCodes.ProtocolError, retryable: false, url: open.url },
      );
    }
    return resource;
  };

  /**
   * The prefix's body from `from`: its own network bytes up to the boundary
   * (to the end once the split ended), then each later segment's bytes read
   * back from the file in order, as far as they are on disk, waiting for more.
   */
  async *#splice(
    resource: RemoteResource,
    from: number,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    let position = from;
    this.#readingBack = false;
    if (position < this.#boundary || this.#fallback) {
      for await (const chunk of resource.body) {
        const boundary = this.#fallback ? Infinity : this.#boundary;
        this.#readingBack = false;
        if (position + chunk.byteLength >= boundary) {
          const head = chunk.subarray(0, boundary - position);
          position = boundary;
          if (head.byteLength > 0) yield head;
          break;
        }
        position += chunk.byteLength;
        yield chunk;
      }
    } else {
      discardBody(resource.body);
    }
    if (position >= this.#size) return;
    // The prefix's connection is done: its permit lets a waiting segment start.
    this.#networkPermit?.release();
    while (position < this.#size) {
      if (this.#fallback) {
        throw new DownloadError('The split download ended: continuing over one connection', {
          code: ErrorCodes.ProtocolError,
          retryable: true,
          url: this.url,
        });
      }
      const segment = this.#segmentAt(position);
      const available = segment.sink.flushed - position;
      if (available <= 0) {
        await this.#changed(signal);
        continue;
      }
      const chunk = await this.#file.readAt(position, Math.min(available, READ_BACK_BYTES));
      position += chunk.byteLength;
      this.#readingBack = true;
      yield chunk;
    }
  }

  #segmentAt(position: number): Segment {
    const segments = this.#segments;
    for (let i = segments.length - 1; i >= 0; i--) {
      if (segments[i]!.start <= position) return segments[i]!;
    }
    throw new Error('no segment holds this position');
  }

  /** Ends the split: the remaining segments stop; the prefix takes the rest. */
  #fallBack(): void {
    if (this.#fallback) return;
    this.#fallback = true;
    for (const segment of this.#segments) {
      if (!segment.done) segment.abort.abort(abortError('the split download ended'));
    }
    this.#notify();
  }

  async #stopSegments(): Promise<void> {
    await Promise.all(this.#segments.map((segment) => segment.ended));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#woken = undefined;
    wake?.();
  }

  /** Resolves at the next change of any segment; rejects when `signal` aborts. */
  #changed(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal.reason));
    this.#woken ??= new Promise<void>((resolve) => (this.#wake = resolve));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#woken!.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  #segmentProgress(bytes: number): void {
    const { progress } = this.context;
    if (this.#id === 0 || !progress.wants('download-progress')) return;
    progress.emit('download-progress', {
      id: this.#id,
      url: this.#shownUrl,
      bytes: this.#fetched,
      chunk: bytes,
      total: this.#size,
    });
  }

  /** The factory's budget, but the prefix's permits are tracked and reads back are not paced. */
  #prefixBudget(): AdmissionBudget {
    const budget = this.context.budget;
    const view: Mutable<AdmissionBudget> = {
      get total() {
        return budget.total;
      },
      get active() {
        return budget.active;
      },
      acquire: async (origin, signal) => this.#track(await budget.acquire(origin, signal)),
      onRelease: (listener) => budget.onRelease(listener),
    };
    if (budget.hostSignal !== undefined) {
      view.hostSignal = (origin, said) => budget.hostSignal!(origin, said);
    }
    if (budget.takeBytes !== undefined) {
      view.takeBytes = (origin, bytes, signal) =>
        this.#readingBack ? undefined : budget.takeBytes!(origin, bytes, signal);
    }
    return view;
  }

  #track(permit: Permit): Permit {
    this.#networkPermit = permit;
    return { origin: permit.origin, release: () => permit.release() };
  }
}

interface ViewOptions {
  /** Whether the download's own events and counts go through (false for segments). */
  readonly visible: boolean;
  /** Called with each chunk's size; true when the bytes count as received. */
  readonly received: (bytes: number) => boolean;
  /** Bytes received by every connection, reported in progress events. */
  readonly bytes?: () => number;
  /** True while progress events are held back. */
  readonly quiet?: () => boolean;
  /** Told the download's id. */
  readonly named?: (id: number) => void;
}

/** The factory's progress as one connection of a split download reports into it. */
class ProgressView extends ProgressHub {
  constructor(
    private readonly hub: ProgressHub,
    private readonly view: ViewOptions,
  ) {
    super();
  }

  override nextId(): number {
    if (!this.view.visible) return 0;
    const id = this.hub.nextId();
    this.view.named?.(id);
    return id;
  }

  override wants(event: keyof DownloadEvents): boolean {
    return this.view.visible && this.hub.wants(event);
  }

  override emit<E extends keyof DownloadEvents>(event: E, payload: DownloadEvents[E]): void {
    if (!this.view.visible) return;
    if (event === 'download-progress' && this.view.bytes !== undefined) {
      // Chunks read back from the file were reported when their segment received them.
      if (this.view.quiet?.() === true) return;
      this.hub.emit(event, { ...payload, bytes: this.view.bytes() });
      return;
    }
    this.hub.emit(event, payload);
  }

  override on<E extends keyof DownloadEvents>(
    event: E,
    listener: (payload: DownloadEvents[E]) => void,
  ): () => void {
    return this.hub.on(event, listener);
  }

  override started(): void {
    if (this.view.visible) this.hub.started();
  }

  override ended(ok: boolean): void {
    if (this.view.visible) this.hub.ended(ok);
  }

  override received(bytes: number): void {
    if (this.view.received(bytes)) this.hub.received(bytes);
  }

  override stats(throttled?: readonly HostThrottle[]): DownloadStats {
    return this.hub.stats(throttled);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
