// Preloaded with --import by startup.test.ts: prints every ES module the
// process loads ("loaded <url>" on stderr). NODE_DEBUG=module only shows
// CommonJS loads, and @dl/mirrorlist or fast-xml-parser are ES modules.
import { register } from 'node:module';

const hook = `export async function load(url, context, next) {
  process._rawDebug('loaded ' + url);
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
