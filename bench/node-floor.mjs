// The "node floor" peer (issue 13): about the least a Node process can do to
// download a manifest and verify it. undici's Agent.dispatch() with one plain
// handler object per request (undici 7's onRequestStart / onResponseStart /
// onResponseData / onResponseEnd / onResponseError), no Readable per body, no
// promise per chunk, sha256 updated as data arrives, a synchronous write +
// rename for a small file and a write stream (with pause/resume) for a large
// one. No retries. Same input as naive-download.mjs.
//
//   node bench/node-floor.mjs MANIFEST OUT_DIR CONNECTIONS_PER_HOST
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(new URL('../packages/http/package.json', import.meta.url));
const { Agent } = require('undici');

const [manifestFile, outDir, connectionsText = '16'] = process.argv.slice(2);
const connections = Number(connectionsText);
const lines = readFileSync(manifestFile, 'utf8').split('\n').filter(Boolean);
const agent = new Agent({ connections, pipelining: 1 });
const SMALL = 1 << 20; // bodies up to 1 MiB are kept in memory and written at once
const made = new Set();
let next = 0;
let running = 0;
let failed = 0;

function fail(item, why) {
  failed++;
  console.error(`${item.url}: ${why}`);
}

function start(item) {
  const dest = join(outDir, item.path);
  const temp = `${dest}.part`;
  const folder = dirname(dest);
  if (!made.has(folder)) {
    mkdirSync(folder, { recursive: true });
    made.add(folder);
  }
  const hash = createHash('sha256');
  const chunks = [];
  let status = 0;
  let out;
  const done = () => {
    const expected = item.digests?.sha256;
    if (status === 200 && expected !== undefined && hash.digest('hex') !== expected) {
      rmSync(temp, { force: true });
      fail(item, 'sha256 mismatch');
    } else if (status === 200) renameSync(temp, dest);
    running--;
    pump();
  };
  const url = new URL(item.url);
  agent.dispatch(
    { origin: url.origin, path: url.pathname + url.search, method: 'GET' },
    {
      onRequestStart() {},
      onResponseStart(controller, statusCode) {
        status = statusCode;
        if (status === 200 && !(item.size <= SMALL)) {
          out = createWriteStream(temp);
          out.on('drain', () => controller.resume());
        }
      },
      onResponseData(controller, chunk) {
        if (status !== 200) return;
        hash.update(chunk);
        if (out === undefined) chunks.push(chunk);
        else if (!out.write(chunk)) controller.pause();
      },
      onResponseEnd() {
        if (status !== 200) {
          fail(item, `HTTP ${status}`);
          status = 0;
          done();
        } else if (out === undefined) {
          writeFileSync(temp, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
          done();
        } else out.end(done);
      },
      onResponseError(_controller, error) {
        out?.destroy();
        fail(item, String(error));
        status = 0;
        running--;
        pump();
      },
    },
  );
}

function pump() {
  while (running < connections && next < lines.length) {
    running++;
    start(JSON.parse(lines[next++]));
  }
  if (running === 0 && next >= lines.length) {
    void agent.close();
    if (failed > 0) {
      console.error(`${failed} of ${lines.length} failed`);
      process.exitCode = 1;
    }
  }
}
pump();
