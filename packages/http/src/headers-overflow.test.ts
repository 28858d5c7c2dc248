import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, ErrorCodes } from '@dl/core';
import { openRequest, rejectionOf, sessionContext } from '@dl/testkit';
import { http } from './index.js';

describe('a server whose response headers never end', () => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\n');
      let n = 0;
      const more = () => {
        while (!socket.destroyed && socket.write(`X-Filler-${n++}: ${'a'.repeat(100)}\r\n`));
        if (!socket.destroyed) socket.once('drain', more);
      };
      more();
    });
  });
  let url: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/endless`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is a protocol-error naming the URL, not an unclassified internal error; the connection is closed', async () => {
    const adapter = http();
    const session = await adapter.createSession(sessionContext());
    try {
      const error: unknown = await rejectionOf(adapter.open(session, openRequest(url)));
      expect(DownloadError.isInstance(error)).toBe(true);
      const { code, message, url: shown } = error as DownloadError;
      expect(code).toBe(ErrorCodes.ProtocolError);
      expect(message).toMatch(/headers are larger than the limit/);
      expect(shown).toBe(url);
    } finally {
      await session.close();
    }
    await expect.poll(() => sockets.size).toBe(0);
  });
});
