// The "node floor" peer (issue 13): about the least a Node process can do to
// download a manifest and verify it. undici's Agent.dispatch() with one plain
// handler object per request (undici 7's onRequestStart / onResponseStart /
// onResponseData / onResponseEnd / onResponseError), no Readable per body, no
// promise per chunk, sha256 updated as data arrives, a synchronous write +
// rename for a small file, synchronous writes as data arrives for a large one
// (no controller.pause(): see bench/README.md). No retries. Same input as
// naive-download.mjs.
//
//   node bench/node-floor.mjs MANIFEST OUT_DIR CONNECTIONS_PER_HOST
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
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
  let fd;
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
      onResponseStart(_controller, statusCode) {
        status = statusCode;
        if (status === 200 && !(item.size <= SMALL)) fd = openSync(temp, 'w');
      },
      onResponseData(_controller, chunk) {
        if (status !== 200) return;
        hash.update(chunk);
        // A large body is written as it comes, synchronously: the socket is
        // not read meanwhile, which is all the back pressure it needs.
        if (fd === undefined) chunks.push(chunk);
        else writeSync(fd, chunk);
      },
      onResponseEnd() {
        if (status !== 200) {
          fail(item, `HTTP ${status}`);
          status = 0;
          done();
        } else {
          if (fd === undefined)
            writeFileSync(temp, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
          else closeSync(fd);
          done();
        }
      },
      onResponseError(_controller, error) {
        if (fd !== undefined) closeSync(fd);
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
