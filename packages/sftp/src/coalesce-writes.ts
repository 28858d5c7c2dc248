import { Socket } from 'node:net';

/**
 * Makes `socket` gather everything written in one tick into one `writev`.
 * ssh2 writes every SSH packet in three or four pieces (length, ciphertext,
 * MAC), and with Nagle off each piece would be a syscall and a segment of
 * its own that wakes the server. Corking until the end of the tick keeps
 * Nagle off (no delayed round trips) without the small writes. Call it
 * after `connect()`, which resets an instance's `write`.
 */
export function coalesceWrites(socket: Socket): void {
  let queued = false;
  const flush = () => {
    queued = false;
    socket.uncork();
  };
  const write = Socket.prototype.write as (...args: unknown[]) => boolean;
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    if (!queued) {
      queued = true;
      this.cork();
      process.nextTick(flush);
    }
    return write.apply(this, args);
  } as Socket['write'];
}
