/**
 * What the fault proxy does to a connection at a byte offset of the
 * server→client stream:
 * - `reset`: a TCP RST to the client (`resetAndDestroy`), the server side closed;
 * - `stall`: stop forwarding both ways for `stallMs`, then go on (a client
 *   whose idle timeout is shorter gives up first; a client that closes its
 *   side meanwhile ends the connection at once, server side included);
 * - `truncate`: end the client side cleanly (FIN) there, as if the stream were
 *   complete, and close the server side;
 * - `corrupt`: flip every bit of that one byte (XOR 0xff) and go on.
 */
export type FaultKind = 'reset' | 'stall' | 'truncate' | 'corrupt';

/**
 * Which listener accepted a connection: `main` is the proxy's own port,
 * `data` a per-transfer port opened for an FTP passive reply.
 */
export type FaultChannel = 'main' | 'data';

/**
 * A seeded random schedule: on every connection, faults happen at random
 * byte offsets of the server→client stream, spaced by exponentially
 * distributed gaps of mean `meanBytesBetweenFaults` (a Poisson process on the
 * bytes), so long-lived connections (HTTP keep-alive, SSH) and short ones (FTP
 * data) get faults in proportion to what they carry.
 */
export interface RandomFaults {
  /** Mean server→client bytes between two faults of one connection. */
  readonly meanBytesBetweenFaults: number;
  /** Relative weights of the kinds drawn; a kind left out or 0 is never drawn. @default each kind 1 */
  readonly kinds?: Readonly<Partial<Record<FaultKind, number>>>;
  /** How long a `stall` lasts, in milliseconds. @default 60000 */
  readonly stallMs?: number;
}

/** One explicit fault. */
export interface FaultRule {
  /** What happens. */
  readonly kind: FaultKind;
  /** Offset in the connection's server→client bytes (0: before the first byte). */
  readonly at: number;
  /** The listener whose connections it applies to. @default 'main' */
  readonly channel?: FaultChannel;
  /**
   * Which connection of that channel, counted from 0 in the order they were
   * accepted; every one when absent.
   */
  readonly connection?: number;
  /** How long a `stall` lasts, in milliseconds. @default 60000 */
  readonly stallMs?: number;
}

/** The faults of new connections; see {@link FaultProxy.setFaults}. */
export interface FaultSchedule {
  /** Random faults of `main` connections. @default none */
  readonly random?: RandomFaults;
  /** Random faults of FTP `data` connections. @default the same as `random` */
  readonly dataRandom?: RandomFaults;
  /** Explicit faults, next to the random ones. @default [] */
  readonly rules?: readonly FaultRule[];
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions extends FaultSchedule {
  /** The real server every connection is forwarded to (loopback only: tests must not reach other addresses). */
  readonly target: { readonly host: string; readonly port: number };
  /** Address to listen on. @default '127.0.0.1' */
  readonly host?: '127.0.0.1' | '::1';
  /** Seed of the random schedules (each connection draws its own from it). @default 1 */
  readonly seed?: number;
  /**
   * The target is a plain FTP server: rewrite its passive replies (`227`,
   * `229`) on the control connection so every data connection goes through
   * a proxy port of its own, with the `data` faults. (FTPS cannot be
   * rewritten: its control connection is encrypted.) @default false
   */
  readonly ftp?: boolean;
}
