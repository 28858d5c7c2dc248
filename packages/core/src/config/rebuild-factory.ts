import type { DownloaderFactory } from '../contracts/downloader-factory.js';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { createDownloaderFactory } from '../runtime/downloader-factory.js';
import type { FactoryBuilders } from './factory-config.js';
import { parseFactoryConfig } from './parse-factory-config.js';

/**
 * Rebuilds a factory in another process from its plain-data configuration
 * (`factory.toJSON()`, sent as JSON) and the builders this process's entry
 * point passes in. Secrets by reference are resolved by each adapter when
 * its session is created, so they never travel.
 *
 * @example
 * ```ts
 * import { http } from '@dl/http';
 * const factory = rebuildDownloaderFactory(JSON.parse(text), { adapters: { http } });
 * ```
 */
export function rebuildDownloaderFactory(
  config: unknown,
  builders: FactoryBuilders,
): DownloaderFactory {
  const parsed = parseFactoryConfig(config);
  const adapters = parsed.adapters.map(({ name, options }, i) => {
    const build = Object.hasOwn(builders.adapters, name) ? builders.adapters[name] : undefined;
    if (build === undefined) {
      throw missing(
        `config.adapters[${i}].name`,
        `adapter "${name}"`,
        Object.keys(builders.adapters),
      );
    }
    return build(options);
  });
  const known = builders.interceptors ?? {};
  const interceptors = parsed.interceptors.map(({ type, options }, i) => {
    const build = Object.hasOwn(known, type) ? known[type] : undefined;
    if (build === undefined)
      throw missing(`config.interceptors[${i}].type`, `interceptor "${type}"`, Object.keys(known));
    return build(options);
  });
  return createDownloaderFactory({
    adapters,
    interceptors,
    limits: parsed.limits,
    retry: parsed.retry,
    ...(parsed.userAgent === undefined ? {} : { userAgent: parsed.userAgent }),
    ...(builders.logger === undefined ? {} : { logger: builders.logger }),
    ...(builders.budget === undefined ? {} : { budget: builders.budget }),
  });
}

function missing(where: string, what: string, passed: string[]): DownloadError {
  return new DownloadError(
    `Invalid factory configuration: ${where}: no builder was passed for ${what} (passed: ${passed.join(', ') || 'none'})`,
    { code: ErrorCodes.InvalidRequest, details: { field: where } },
  );
}
