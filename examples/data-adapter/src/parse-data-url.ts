import { DownloadError, ErrorCodes, redactUrl } from '@dl/core';

/** What a `data:` URL holds. */
export interface DataUrlContent {
  /** The media type with its parameters, `text/plain;charset=US-ASCII` when the URL names none. */
  readonly mediaType: string;
  /** The decoded bytes. */
  readonly bytes: Uint8Array;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a `data:` URL (RFC 2397): `data:[<mediatype>][;base64],<data>`.
 * A malformed one (no comma, bad base64, a broken `%` escape) is an
 * `invalid-request` error: no later attempt could make it work.
 */
export function parseDataUrl(url: URL): DataUrlContent {
  const href = url.href;
  const comma = href.indexOf(',');
  if (url.protocol !== 'data:' || comma === -1) {
    throw invalid(url, 'a data: URL needs a comma before its data');
  }
  let header = href.slice('data:'.length, comma);
  let payload = href.slice(comma + 1);
  const hash = payload.indexOf('#');
  if (hash !== -1) payload = payload.slice(0, hash);
  const base64 = /;base64$/i.test(header);
  if (base64) header = header.slice(0, -';base64'.length);
  const mediaType =
    header === '' || header.startsWith(';') ? `text/plain${header || ';charset=US-ASCII'}` : header;
  const raw = percentDecode(payload, url);
  if (!base64) return { mediaType, bytes: raw };
  const text = Buffer.from(raw)
    .toString('latin1')
    .replace(/[\t\n\f\r ]/g, '');
  // Node's decoder skips characters it does not know; a data: URL with them is broken.
  if (!BASE64.test(text))
    throw invalid(url, 'the base64 data has characters outside the base64 alphabet');
  return { mediaType, bytes: new Uint8Array(Buffer.from(text, 'base64')) };
}

function percentDecode(text: string, url: URL): Uint8Array {
  const out = new Uint8Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x25) {
      out[length++] = code & 0xff;
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex))
      throw invalid(url, `a "%" at position ${i} is not followed by two hex digits`);
    out[length++] = Number.parseInt(hex, 16);
    i += 2;
  }
  return out.subarray(0, length);
}

function invalid(url: URL, reason: string): DownloadError {
  return new DownloadError(`Malformed data: URL: ${reason}`, {
    code: ErrorCodes.InvalidRequest,
    url: redactUrl(url).slice(0, 64),
  });
}
