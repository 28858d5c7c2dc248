import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DownloadError,
  ErrorCodes,
  ValidationError,
  createDownloaderFactory,
  rebuildDownloaderFactory,
  type DigestAlgorithm,
  type DownloadOutcome,
  type DownloadRequest,
  type DownloaderFactory,
  type Limits,
  type ProtocolAdapter,
} from '@dl/core';
import { activeResources, resourceGrowth, type ResourceCounts } from './active-resources.js';
import type { ConformanceFixture, ConformanceIt, ConformanceSetup } from './conformance-setup.js';
import { generatedContent } from './generated-content.js';
import { countOpenFds } from './open-fds.js';
import { waitFor } from './wait-for.js';

/**
 * Registers the adapter conformance tests with the runner's `it`: every
 * adapter, ours or a third party's, must pass them. Each test starts its own
 * fixture, factory and temp folder, and uses only `@dl/core`'s public API.
 *
 * What it checks: a download with size and sha256 (and the digests computed
 * in the same pass); size and digest mismatches (typed error, nothing at the
 * destination, no temp file); recovery from a break mid-body (resumed when
 * the adapter declares resume); abort by signal and by leaving `downloadAll`
 * early (code `aborted`, no temp file, sockets, handles and descriptors back
 * to baseline); the per-host limit counted on the server's side; the context
 * round trip through `downloadAll`; `not-found`, not retryable; and the
 * plain-data handoff (`JSON.stringify(factory)`, rebuilt with
 * {@link ConformanceSetup.builder}, downloads with the same options).
 *
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { adapterConformance } from '@dl/testkit';
 *
 * adapterConformance(it, {
 *   name: 's3',
 *   fixture: () => startMyS3Fixture(),
 *   adapter: (fixture) => s3({ endpoint: fixture.endpoint }),
 *   builder: s3,
 * });
 * ```
 */
export function adapterConformance<F extends ConformanceFixture>(
  it: ConformanceIt,
  setup: ConformanceSetup<F>,
): void {
  const timeout = setup.timeoutMs ?? 30_000;
  const test = (name: string, body: (rig: Rig<F>) => Promise<void>, limits?: Limits) =>
    it(`${setup.name}: ${name}`, () => withRig(setup, body, limits), timeout);

  test('downloads to a destination with size and sha256, computing the digests asked for', async (rig) => {
    const data = content('/ok/file.bin', 300_000);
    await rig.fixture.put('/ok/file.bin', data);
    const destination = join(rig.dir, 'out', 'file.bin');
    const context = { artifact: 42 };
    const result = await rig.factory.download({
      url: rig.fixture.url('/ok/file.bin'),
      destination,
      size: data.length,
      digests: { sha256: hex('sha256', data) },
      computeDigests: ['md5', 'sha1', 'sha512'],
      context,
    });
    expect(result.context === context, 'the context comes back as the same object');
    expect(result.path === destination, `result.path is the destination (got ${result.path})`);
    expect(result.size === data.length, `result.size is ${data.length} (got ${result.size})`);
    for (const algorithm of ['sha256', 'md5', 'sha1', 'sha512'] as const) {
      const want = hex(algorithm, data);
      expect(
        result.digests[algorithm] === want,
        `${algorithm} is ${want} (got ${result.digests[algorithm]})`,
      );
    }
    expect(result.attempts === 1, `one attempt (got ${result.attempts})`);
    const written = await readFile(destination);
    expect(Buffer.compare(written, data) === 0, 'the destination holds exactly the served bytes');
    await expectOnly(join(rig.dir, 'out'), ['file.bin']);
  });

  for (const kind of ['size', 'digest'] as const) {
    test(`a ${kind} mismatch fails with ${kind}-mismatch and leaves nothing behind`, async (rig) => {
      const data = content(`/bad/${kind}.bin`, 100_000);
      await rig.fixture.put(`/bad/${kind}.bin`, data);
      const folder = join(rig.dir, 'bad');
      const request: DownloadRequest = {
        url: rig.fixture.url(`/bad/${kind}.bin`),
        destination: join(folder, `${kind}.bin`),
        ...(kind === 'size'
          ? { size: data.length - 1 }
          : { size: data.length, digests: { sha256: hex('sha256', content('/other', 10)) } }),
      };
      const error = await rejection(rig.factory.download(request));
      expect(ValidationError.isInstance(error), `a ValidationError (got ${describe(error)})`);
      const code = kind === 'size' ? ErrorCodes.SizeMismatch : ErrorCodes.DigestMismatch;
      expect(error.code === code, `code ${code} (got ${error.code})`);
      expect(!error.retryable, 'not retryable');
      await expectOnly(folder, []);
    });
  }

  test('recovers from a break mid-body, resuming when the adapter declares resume', async (rig) => {
    const size = 600_000;
    const data = content('/cut/file.bin', size);
    await rig.fixture.put('/cut/file.bin', data);
    const resume = rig.adapter.capabilities.resume;
    const cutAfter = rig.fixture.cutAfter?.bind(rig.fixture);
    if (cutAfter === undefined) {
      expect(!resume, 'the fixture must implement cutAfter: the adapter declares resume');
      // Nothing to break: at least a repeated download must be a clean first attempt each time.
      for (let i = 0; i < 2; i++) {
        const again = await rig.factory.download({ url: rig.fixture.url('/cut/file.bin'), size });
        expect(
          again.attempts === 1 && again.resumedBytes === 0,
          'a clean download takes one attempt',
        );
      }
      return;
    }
    await cutAfter('/cut/file.bin', 200_000);
    const destination = join(rig.dir, 'cut', 'file.bin');
    const result = await rig.factory.download({
      url: rig.fixture.url('/cut/file.bin'),
      destination,
      size,
      digests: { sha256: hex('sha256', data) },
    });
    expect(result.attempts >= 2, `at least two attempts after a break (got ${result.attempts})`);
    if (resume) {
      expect(
        result.resumedBytes > 0,
        `resumed from the offset reached (resumedBytes ${result.resumedBytes})`,
      );
    } else {
      expect(
        result.resumedBytes === 0,
        `no resume declared, so no resumed bytes (got ${result.resumedBytes})`,
      );
    }
    expect(result.digests.sha256 === hex('sha256', data), 'the digest of the whole file is right');
    expect(
      Buffer.compare(await readFile(destination), data) === 0,
      'the destination holds the whole file',
    );
    await expectOnly(join(rig.dir, 'cut'), ['file.bin']);
  });

  test('abort by signal mid-transfer rejects with aborted and leaks nothing', async (rig) => {
    const big = content('/abort/big.bin', 8 * 1024 * 1024);
    await rig.fixture.put('/abort/big.bin', big);
    const baseline = await warmUp(rig);
    const controller = new AbortController();
    const unsubscribe = rig.factory.on('download-progress', (event) => {
      if (event.bytes > 0) controller.abort();
    });
    const folder = join(rig.dir, 'abort');
    const error = await rejection(
      rig.factory.download(
        { url: rig.fixture.url('/abort/big.bin'), destination: join(folder, 'big.bin') },
        { signal: controller.signal },
      ),
    );
    unsubscribe();
    expect(controller.signal.aborted, 'the abort happened mid-transfer (after the first bytes)');
    expect(error.code === ErrorCodes.Aborted, `code aborted (got ${describe(error)})`);
    await expectOnly(folder, []);
    await expectSettled(baseline, rig.fixture);
  });

  test('leaving downloadAll early ends every transfer and leaks nothing', async (rig) => {
    await rig.fixture.put('/early/small.bin', content('/early/small.bin', 1000));
    const paths = Array.from({ length: 6 }, (_, i) => `/early/big-${i}.bin`);
    for (const path of paths) await rig.fixture.put(path, content(path, 4 * 1024 * 1024));
    const baseline = await warmUp(rig);
    const folder = join(rig.dir, 'early');
    const requests = ['/early/small.bin', ...paths].map((path) => ({
      url: rig.fixture.url(path),
      destination: join(folder, path.slice('/early/'.length)),
      context: path,
    }));
    const started = new Set<number>();
    const ended = new Map<number, string>();
    rig.factory.on('download-start', (event) => started.add(event.id));
    rig.factory.on('download-end', (event) =>
      ended.set(event.id, event.ok ? 'ok' : (event.code ?? 'failed')),
    );
    let seen = 0;
    for await (const outcome of rig.factory.downloadAll(requests)) {
      seen++;
      expect(
        outcome.ok,
        `the first outcome is a success (got ${describe(outcome.ok ? undefined : outcome.error)})`,
      );
      break;
    }
    expect(seen === 1, 'left the loop after one outcome');
    const unfinished = [...started].filter((id) => !ended.has(id));
    expect(
      unfinished.length === 0,
      `every transfer ended before leaving the loop returned (${unfinished.length} still running)`,
    );
    const other = [...ended.values()].filter((how) => how !== 'ok' && how !== ErrorCodes.Aborted);
    expect(other.length === 0, `the rest ended as aborted (got ${other.join(', ')})`);
    const left = (await readdir(folder).catch(() => [] as string[])).filter(
      (name) => !name.startsWith('big-'),
    );
    expect(
      left.every((name) => name === 'small.bin'),
      `no temp file after leaving the loop (found ${left.join(', ')})`,
    );
    // A connection still being set up when the loop was left may join the
    // idle pool; closing the factory must then leave nothing behind.
    await rig.factory.close();
    await expectSettled(baseline, rig.fixture);
  });

  test(
    'never runs more transfers per host than the per-host limit (counted by the server)',
    async (rig) => {
      const paths = Array.from({ length: 40 }, (_, i) => `/limit/${i}.bin`);
      for (const path of paths) await rig.fixture.put(path, content(path, 64 * 1024));
      rig.fixture.resetPeak();
      const outcomes: DownloadOutcome<string>[] = [];
      const requests = paths.map((path) => ({
        url: rig.fixture.url(path),
        destination: join(rig.dir, 'limit', path.slice('/limit/'.length)),
        size: 64 * 1024,
        context: path,
      }));
      for await (const outcome of rig.factory.downloadAll(requests)) outcomes.push(outcome);
      const failed = outcomes.filter((o) => !o.ok);
      expect(
        failed.length === 0,
        `every download succeeds (first failure: ${describe(failed[0])})`,
      );
      expect(outcomes.length === 40, `40 outcomes (got ${outcomes.length})`);
      const peak = rig.fixture.peakConnections();
      expect(peak <= 3, `at most 3 at once at the server with perHost 3 (saw ${peak})`);
      expect(peak >= 1, `the server saw the transfers (peak ${peak})`);
    },
    { total: 16, perHost: 3 },
  );

  test('round-trips contexts through downloadAll, failures included', async (rig) => {
    const contexts = Array.from({ length: 12 }, (_, i) => ({ index: i, missing: i % 4 === 3 }));
    for (const ctx of contexts) {
      if (!ctx.missing)
        await rig.fixture.put(`/ctx/${ctx.index}`, content(`/ctx/${ctx.index}`, 5000));
    }
    const requests = contexts.map((ctx) => ({
      url: rig.fixture.url(`/ctx/${ctx.index}`),
      context: ctx,
    }));
    const seen = new Set<object>();
    for await (const outcome of rig.factory.downloadAll(requests)) {
      const ctx = outcome.context;
      expect(
        contexts.includes(ctx),
        'the outcome carries one of the request contexts, as the same object',
      );
      expect(!seen.has(ctx), `context ${ctx.index} arrives once`);
      seen.add(ctx);
      expect(outcome.request === requests[ctx.index], 'the outcome carries its request');
      if (ctx.missing) {
        expect(!outcome.ok, `request ${ctx.index} (missing) fails`);
        if (!outcome.ok)
          expect(
            outcome.error.code === ErrorCodes.NotFound,
            `not-found (got ${outcome.error.code})`,
          );
      } else {
        expect(
          outcome.ok,
          `request ${ctx.index} succeeds (got ${describe(outcome.ok ? 0 : outcome.error)})`,
        );
        if (outcome.ok)
          expect(outcome.result.context === ctx, 'the result carries the same context');
      }
    }
    expect(
      seen.size === contexts.length,
      `every context arrives (got ${seen.size} of ${contexts.length})`,
    );
  });

  test('survives the plain-data handoff: JSON.stringify(factory), rebuild, download, options intact', async (rig) => {
    const data = content('/handoff/file.bin', 50_000);
    await rig.fixture.put('/handoff/file.bin', data);
    const name = rig.adapter.name;
    // Only the adapter: the fixture's interceptors are test plumbing and do not travel.
    const sent = createDownloaderFactory({ adapters: [rig.adapter] });
    const text = JSON.stringify(sent);
    await sent.close();
    const config = JSON.parse(text) as { adapters: { name: string; options: unknown }[] };
    expect(
      config.adapters.length === 1 && config.adapters[0]?.name === name,
      `the configuration names the adapter "${name}" (got ${text})`,
    );
    const rebuilt = rebuildDownloaderFactory(config, {
      adapters: { [name]: (options: unknown) => setup.builder(options, rig.fixture) },
    });
    try {
      const again = JSON.stringify(rebuilt);
      expect(
        again === text,
        `the rebuilt adapter has the same options: the builder takes back what toJSON() gave (sent ${text}, rebuilt ${again})`,
      );
      const destination = join(rig.dir, 'handoff', 'file.bin');
      const result = await rebuilt.download({
        url: rig.fixture.url('/handoff/file.bin'),
        destination,
        size: data.length,
        digests: { sha256: hex('sha256', data) },
      });
      expect(result.size === data.length, `the rebuilt factory downloads (size ${result.size})`);
      expect(
        Buffer.compare(await readFile(destination), data) === 0,
        'the rebuilt factory wrote exactly the served bytes',
      );
    } finally {
      await rebuilt.close();
    }
  });

  test('a missing file fails with not-found, not retryable, leaving nothing behind', async (rig) => {
    await rig.fixture.put('/present.bin', content('/present.bin', 10));
    const folder = join(rig.dir, 'missing');
    const error = await rejection(
      rig.factory.download({
        url: rig.fixture.url('/absent.bin'),
        destination: join(folder, 'absent.bin'),
      }),
    );
    expect(error.code === ErrorCodes.NotFound, `code not-found (got ${describe(error)})`);
    expect(!error.retryable, 'not retryable');
    await expectOnly(folder, []);
  });
}

interface Rig<F extends ConformanceFixture> {
  readonly fixture: F;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly adapter: ProtocolAdapter<any>;
  readonly factory: DownloaderFactory;
  readonly dir: string;
}

async function withRig<F extends ConformanceFixture>(
  setup: ConformanceSetup<F>,
  body: (rig: Rig<F>) => Promise<void>,
  limits: Limits = { total: 16, perHost: 4 },
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dl-conformance-'));
  let fixture: F | undefined;
  let factory: DownloaderFactory | undefined;
  let passed = false;
  try {
    fixture = await setup.fixture();
    const adapter = setup.adapter(fixture);
    factory = createDownloaderFactory({
      ...setup.factoryOptions,
      adapters: [adapter],
      limits,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
      interceptors: [
        ...(fixture.interceptors ?? []),
        ...(setup.factoryOptions?.interceptors ?? []),
      ],
    });
    await body({ fixture, adapter, factory, dir });
    passed = true;
  } finally {
    try {
      if (passed) await factory?.close();
      else await factory?.destroy();
      await fixture?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

interface Baseline {
  readonly resources: ResourceCounts;
  readonly fds: number | undefined;
}

/** Creates the session with one small download, then takes the leak baseline. */
async function warmUp(rig: Rig<ConformanceFixture>): Promise<Baseline> {
  await rig.fixture.put('/warm-up.bin', content('/warm-up.bin', 1000));
  await rig.factory.download({ url: rig.fixture.url('/warm-up.bin'), size: 1000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { resources: activeResources(), fds: countOpenFds() };
}

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function expectSettled(baseline: Baseline, fixture: ConformanceFixture): Promise<void> {
  let report = '';
  await waitFor(
    () => {
      const grown = resourceGrowth(baseline.resources);
      const transfers = fixture.activeTransfers?.() ?? 0;
      if (transfers > 0) grown.push(`${transfers} transfers still open at the server`);
      const fds = countOpenFds();
      if (baseline.fds !== undefined && fds !== undefined && fds > baseline.fds) {
        grown.push(`open file descriptors ${fds} > ${baseline.fds}`);
      }
      report = grown.join(', ');
      return grown.length === 0;
    },
    3000,
    { message: () => `resources still held after settling: ${report}` },
  );
}

function content(path: string, size: number): Buffer {
  const bytes = generatedContent(path, size);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(algorithm: DigestAlgorithm, data: Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** Fails the test with `message` unless `condition` holds (no runner's `expect` needed). */
function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Conformance: ${message}`);
}

async function rejection(promise: Promise<unknown>): Promise<DownloadError> {
  let settled: unknown;
  try {
    await promise;
  } catch (error) {
    settled = error;
  }
  expect(settled !== undefined, 'the call rejects');
  expect(
    DownloadError.isInstance(settled),
    `rejects with a DownloadError (got ${describe(settled)})`,
  );
  return settled;
}

/** Asserts that `folder` holds exactly `names` (no temp files), or does not exist when none are expected. */
async function expectOnly(folder: string, names: string[]): Promise<void> {
  const found = (await readdirSafe(folder)).sort();
  const want = [...names].sort();
  expect(
    found.length === want.length && found.every((name, i) => name === want[i]),
    `${folder} holds [${want.join(', ')}] (found [${found.join(', ')}])`,
  );
}

function describe(value: unknown): string {
  if (DownloadError.isInstance(value)) return `${value.name} ${value.code}: ${value.message}`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'object' && value !== null && 'error' in value) return describe(value.error);
  return String(value);
}
