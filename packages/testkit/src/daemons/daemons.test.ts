import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../wait-for.js';
import { startSshd, startVsftpd } from './index.js';

/** Reads control-connection lines until one starts with a final reply code. */
function replies(socket: Socket): () => Promise<string> {
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (!/^\d{3} /.test(line)) continue;
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  return () => {
    const line = lines.shift();
    return line !== undefined
      ? Promise.resolve(line)
      : new Promise((resolve) => waiting.push(resolve));
  };
}

describe('startVsftpd', () => {
  it('serves anonymous logins, counts connections server-side, kills sessions, stops', async () => {
    const ftp = await startVsftpd();
    try {
      expect(ftp.connections()).toBe(0);
      const watch = ftp.watchConnections(2);
      const socket = connect(ftp.port, ftp.host);
      const next = replies(socket);
      expect(await next()).toMatch(/^220 /);
      expect(ftp.connections()).toBe(1);
      await waitFor(() => watch.samples > 2);
      expect(watch.stop()).toBe(1);
      socket.write('USER anonymous\r\n');
      expect(await next()).toMatch(/^(230|331) /);
      await waitFor(() => ftp.sessionPids().length > 0);
      const closed = once(socket, 'close');
      expect(ftp.killSessions()).toBeGreaterThan(0);
      await closed;
      await waitFor(() => ftp.connections() === 0);
    } finally {
      await ftp.stop();
    }
    expect(ftp.connections()).toBe(0);
    // The port is free again: connecting is refused.
    const probe = connect(ftp.port, ftp.host);
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('logs a local user in with its password and refuses a wrong one', async () => {
    const ftp = await startVsftpd({
      anonymous: false,
      user: { name: 'dltestkit', password: 'Pw-kit-1234' },
    });
    try {
      for (const [password, code] of [
        ['Pw-kit-1234', '230'],
        ['wrong-password', '530'],
      ] as const) {
        const socket = connect(ftp.port, ftp.host);
        const next = replies(socket);
        await next();
        socket.write('USER dltestkit\r\n');
        expect(await next()).toMatch(/^331 /);
        socket.write(`PASS ${password}\r\n`);
        expect(await next()).toMatch(new RegExp(`^${code} `));
        socket.destroy();
      }
    } finally {
      await ftp.stop();
    }
  });

  it('speaks implicit TLS with a generated certificate', async () => {
    const ftp = await startVsftpd({ tls: 'implicit' });
    try {
      expect(ftp.scheme).toBe('ftps');
      expect(ftp.ca).toContain('BEGIN CERTIFICATE');
      const socket = tlsConnect({ host: ftp.host, port: ftp.port, ca: ftp.ca });
      const next = replies(socket as unknown as Socket);
      expect(await next()).toMatch(/^220 /);
      socket.destroy();
    } finally {
      await ftp.stop();
    }
  });
});

describe('startSshd', () => {
  it('greets, counts connections, kills sessions and stops', async () => {
    const sshd = await startSshd();
    try {
      expect(sshd.hostKey.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(sshd.knownHostsLine).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);
      const socket = connect(sshd.port, sshd.host);
      const [banner] = (await once(socket, 'data')) as [Buffer];
      expect(banner.toString()).toMatch(/^SSH-2\.0-OpenSSH/);
      expect(sshd.connections()).toBe(1);
      await waitFor(() => sshd.sessionPids().length > 0);
      const closed = once(socket, 'close');
      sshd.killSessions();
      await closed;
      await waitFor(() => sshd.connections() === 0);
    } finally {
      await sshd.stop();
    }
  });
});
