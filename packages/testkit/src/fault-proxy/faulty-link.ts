import { connect, type Socket } from 'node:net';
import type { FaultKind } from './fault-proxy-options.js';
import type { FaultPlan } from './fault-plan.js';

const RESET_DELAY_MS = 10;
const RESET_DRAIN_WAIT_MS = 500;

/** What a link reports to its proxy. */
export interface LinkHooks {
  fault(kind: FaultKind): void;
  bytes(toClient: number, toServer: number): void;
  /** Both sockets closed. */
  closed(): void;
  /** Rewrites server→client bytes before faults apply (FTP passive replies); may hold bytes back. */
  readonly rewrite?: (chunk: Buffer) => Promise<Buffer>;
  /** Called at the server's end of stream with the bytes the rewriter still holds. */
  readonly flush?: () => Buffer;
}

/**
 * One client connection forwarded to the target, with the faults of its
 * plan applied to the server→client bytes. Backpressure is kept both ways; a
 * half-close (FIN) is passed on; an error on one side destroys the other.
 */
export class FaultyLink {
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #plan: FaultPlan;
  readonly #hooks: LinkHooks;
  #sentDown = 0;
  #stalled = false;
  #stallTimer: NodeJS.Timeout | undefined;
  #resetTimer: NodeJS.Timeout | undefined;
  #upBlocked = false;
  #downBlocked = false;
  #cut = false;
  #pendingDown: Buffer[] = [];
  #pendingUp: Buffer[] = [];
  #endDown = false;
  #endUp = false;
  #queue: Promise<void> = Promise.resolve();
  #open = 2;
  #whenClosed: (() => void)[] = [];

  constructor(
    client: Socket,
    target: { readonly host: string; readonly port: number },
    plan: FaultPlan,
    hooks: LinkHooks,
  ) {
    this.#client = client;
    this.#plan = plan;
    this.#hooks = hooks;
    this.#server = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const server = this.#server;

    client.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    client.on('end', () => {
      // A client that gives up on a stalled connection closes it: it must not wait for the stall.
      if (this.#stalled) {
        this.destroy();
        return;
      }
      this.#endUp = true;
      this.#flushUp();
    });
    client.on('drain', () => {
      this.#downBlocked = false;
      this.#flow();
    });
    client.on('error', () => server.destroy());
    client.once('close', () => {
      // The client is gone: nothing more can reach it, so the server side closes too.
      if (!server.destroyed) {
        if (server.writableFinished) server.destroy();
        else {
          server.once('finish', () => server.destroy());
          server.end();
        }
      }
      this.#sideClosed();
    });

    server.on('data', (chunk: Buffer) => {
      const rewrite = hooks.rewrite;
      if (rewrite === undefined) this.#deliver(chunk);
      else this.#queue = this.#queue.then(async () => this.#deliver(await rewrite(chunk)));
    });
    server.on('end', () => {
      this.#queue = this.#queue.then(() => {
        const rest = hooks.flush?.();
        if (rest !== undefined && rest.length > 0) this.#deliver(rest);
        this.#endDown = true;
        this.#finishDown();
      });
    });
    server.on('drain', () => {
      this.#upBlocked = false;
      this.#flow();
    });
    // A target that refuses or resets: the client sees a reset too.
    server.on('error', () => reset(client));
    // A clean close came with an 'end', which reaches the client after what a stall still holds.
    server.once('close', () => this.#sideClosed());
  }

  /** Calls `callback` once both sockets closed (at once when they are). */
  onClosed(callback: () => void): void {
    if (this.#open === 0) callback();
    else this.#whenClosed.push(callback);
  }

  /** Destroys both sockets now (the proxy stops). */
  destroy(): void {
    this.#clearStall();
    this.#client.destroy();
    this.#server.destroy();
  }

  #fromClient(chunk: Buffer): void {
    if (this.#stalled) {
      this.#pendingUp.push(chunk);
      return;
    }
    if (this.#server.destroyed) return;
    this.#hooks.bytes(0, chunk.length);
    if (!this.#server.write(chunk)) {
      this.#upBlocked = true;
      this.#flow();
    }
  }

  #flushUp(): void {
    if (this.#stalled) return;
    const pending = this.#pendingUp;
    this.#pendingUp = [];
    for (const chunk of pending) this.#fromClient(chunk);
    if (this.#endUp && !this.#server.destroyed) this.#server.end();
  }

  #deliver(chunk: Buffer): void {
    if (this.#cut || this.#client.destroyed) return;
    if (this.#stalled) {
      this.#pendingDown.push(chunk);
      return;
    }
    let position = 0;
    while (position < chunk.length) {
      const fault = this.#plan.peek();
      const room = fault === undefined ? Infinity : Math.max(0, fault.at - this.#sentDown);
      if (room >= chunk.length - position) {
        this.#write(chunk.subarray(position));
        return;
      }
      if (room > 0) {
        this.#write(chunk.subarray(position, position + room));
        position += room;
      }
      this.#plan.take();
      this.#hooks.fault(fault!.kind);
      switch (fault!.kind) {
        case 'corrupt':
          this.#write(Buffer.of(chunk[position]! ^ 0xff));
          position++;
          break;
        case 'reset':
          this.#cut = true;
          this.#server.pause();
          this.#resetSoon();
          return;
        case 'truncate':
          this.#cut = true;
          this.#client.end();
          this.#server.destroy();
          return;
        case 'stall':
          this.#stalled = true;
          this.#pendingDown.push(chunk.subarray(position));
          this.#flow();
          this.#stallTimer = setTimeout(() => this.#endStall(), fault!.stallMs);
          return;
      }
    }
  }

  /**
   * Resets the client once what was forwarded reached it: Linux reports a
   * reset that arrives before the queued bytes were read as a plain end of
   * stream, which would make a reset look like a truncation.
   */
  #resetSoon(): void {
    const client = this.#client;
    const go = () => {
      client.off('drain', go);
      clearTimeout(this.#resetTimer);
      this.#resetTimer = setTimeout(() => {
        this.#resetTimer = undefined;
        reset(client);
        this.#server.destroy();
      }, RESET_DELAY_MS);
    };
    if (client.writableLength === 0) go();
    else {
      client.once('drain', go);
      // A client that reads nothing more is reset all the same.
      this.#resetTimer = setTimeout(go, RESET_DRAIN_WAIT_MS);
    }
  }

  #write(bytes: Buffer): void {
    this.#sentDown += bytes.length;
    this.#hooks.bytes(bytes.length, 0);
    if (!this.#client.write(bytes)) {
      this.#downBlocked = true;
      this.#flow();
    }
  }

  #endStall(): void {
    this.#stallTimer = undefined;
    this.#stalled = false;
    const pending = this.#pendingDown;
    this.#pendingDown = [];
    for (const chunk of pending) this.#deliver(chunk);
    if (this.#stalled) return;
    this.#finishDown();
    this.#flushUp();
    this.#flow();
  }

  #finishDown(): void {
    if (this.#endDown && !this.#stalled && !this.#cut && !this.#client.destroyed) {
      this.#client.end();
    }
  }

  /**
   * Reads from a side only while the other side takes what it is sent and,
   * for the server, nothing stalls. The client is read during a stall (its
   * bytes are held), so a client closing the connection is noticed.
   */
  #flow(): void {
    if (this.#upBlocked && !this.#stalled) this.#client.pause();
    else this.#client.resume();
    if (this.#stalled || this.#downBlocked) this.#server.pause();
    else this.#server.resume();
  }

  #sideClosed(): void {
    this.#open--;
    if (this.#open === 0) {
      this.#clearStall();
      this.#hooks.closed();
      for (const callback of this.#whenClosed.splice(0)) callback();
    }
  }

  #clearStall(): void {
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    if (this.#resetTimer !== undefined) clearTimeout(this.#resetTimer);
    this.#stallTimer = undefined;
    this.#resetTimer = undefined;
  }
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    // Not connected yet (or a non-TCP handle): a plain destroy is the closest.
    socket.destroy();
  }
}
