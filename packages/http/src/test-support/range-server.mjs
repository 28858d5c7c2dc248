// A loopback HTTP server with Range support and a per-response rate cap, run in a worker
// thread so its CPU does not compete with the client under test; it logs every request.
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const data = Buffer.from(workerData.data);
const options = workerData.options;
const log = [];
const sockets = new Set();
/**
 * Connections that carried a request and are still open. Counted from their first request,
 * not from their accept: a connection the client closed can still be open here when the
 * next one is accepted in the same turn of the event loop.
 */
const carrying = new Set();
let maxSockets = 0;
let active = 0;
let maxActive = 0;
let killed = false;

const server = createServer((req, res) => {
  carrying.add(req.socket);
  maxSockets = Math.max(maxSockets, carrying.size);
  const header = req.headers.range;
  const match = options.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  const first = match ? Number(match[1]) : 0;
  const last = match && match[2] !== '' ? Number(match[2]) : data.length - 1;
  const entry = { range: header, status: match ? 206 : 200, sent: 0 };
  log.push(entry);
  res.writeHead(entry.status, {
    'content-length': last - first + 1,
    'accept-ranges': 'bytes',
    etag: '"v1"',
    ...(match ? { 'content-range': `bytes ${first}-${last}/${data.length}` } : {}),
  });
  const kill = options.kill;
  const cut = kill && !killed && match !== null && first === kill.start ? kill.after : Infinity;
  if (cut !== Infinity) killed = true;
  active++;
  maxActive = Math.max(maxActive, active);
  let ended = false;
  const done = () => {
    if (ended) return;
    ended = true;
    active--;
  };
  res.on('close', done);
  let position = first;
  const started = Date.now();
  const tick = () => {
    if (res.destroyed) return done();
    const allowed = Math.floor(((Date.now() - started) / 1000) * options.rate) - entry.sent;
    const take = Math.min(allowed, last + 1 - position, cut - entry.sent);
    if (take > 0) {
      res.write(data.subarray(position, position + take));
      position += take;
      entry.sent += take;
    }
    if (entry.sent >= cut) {
      req.socket.destroy();
      return done();
    }
    if (position > last) {
      res.end();
      return done();
    }
    setTimeout(tick, 5);
  };
  tick();
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => {
    sockets.delete(socket);
    carrying.delete(socket);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'log') parentPort.postMessage({ log, maxSockets, maxActive });
  if (message === 'stop') {
    for (const socket of sockets) socket.destroy();
    server.close(() => parentPort.close());
  }
});
