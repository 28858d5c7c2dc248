/** Opens a proxy port for a data connection to `host:port` and resolves with its port. */
export type OpenDataPort = (host: string, port: number) => Promise<number>;

const PASV = /^227 (.*?)(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})(.*)$/s;
const EPSV = /^229 (.*?)\((.)\2\2(\d{1,5})\2\)(.*)$/s;

/**
 * Rewrites the passive replies of an FTP control connection (server to
 * client) so the client opens its data connections to proxy ports:
 * `227 … (h1,h2,h3,h4,p1,p2)` gets the proxy's address and port, `229 …
 * (|||port|)` the proxy's port. Bytes are passed on line by line; a partial
 * line is held until its end arrives.
 */
export class PassiveRewriter {
  #held = '';

  constructor(
    private readonly openDataPort: OpenDataPort,
    private readonly targetHost: string,
    private readonly proxyHost: string,
  ) {}

  async push(chunk: Buffer): Promise<Buffer> {
    // FTP replies are ASCII (latin1 keeps any other byte as it was).
    const text = this.#held + chunk.toString('latin1');
    const end = text.lastIndexOf('\n') + 1;
    this.#held = text.slice(end);
    if (end === 0) return Buffer.alloc(0);
    const lines = text.slice(0, end).split(/(?<=\n)/);
    const out: string[] = [];
    for (const line of lines) out.push(await this.#rewrite(line));
    return Buffer.from(out.join(''), 'latin1');
  }

  /** What is held at the end of the stream (a last line without its newline). */
  flush(): Buffer {
    const rest = this.#held;
    this.#held = '';
    return Buffer.from(rest, 'latin1');
  }

  async #rewrite(line: string): Promise<string> {
    const pasv = PASV.exec(line);
    if (pasv !== null) {
      const [, before, h1, h2, h3, h4, p1, p2, after] = pasv;
      const port = Number(p1) * 256 + Number(p2);
      // The server may name an address we cannot reach through: the target host is what works.
      const announced = `${h1}.${h2}.${h3}.${h4}`;
      const host = announced === '0.0.0.0' ? this.targetHost : announced;
      const local = await this.openDataPort(host, port);
      const address = this.proxyHost.replaceAll('.', ',');
      return `227 ${before}${address},${local >> 8},${local & 0xff}${after}`;
    }
    const epsv = EPSV.exec(line);
    if (epsv !== null) {
      const [, before, delimiter, port, after] = epsv;
      const local = await this.openDataPort(this.targetHost, Number(port));
      const d = delimiter!;
      return `229 ${before}(${d}${d}${d}${local}${d})${after}`;
    }
    return line;
  }
}
