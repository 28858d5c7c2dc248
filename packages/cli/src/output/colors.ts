import { styleText } from 'node:util';

/** The few styles `dl` uses; plain text when colour is off. */
export interface Palette {
  readonly ok: (text: string) => string;
  readonly fail: (text: string) => string;
  readonly warn: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

/**
 * Colours for `stream`: only on a terminal that has them. A TTY stream's
 * `hasColors()` honours `NO_COLOR`, `NODE_DISABLE_COLORS`, `FORCE_COLOR`
 * and `TERM=dumb`, so none of that is decided here.
 */
export function paletteFor(stream: { isTTY?: boolean; hasColors?: () => boolean }): Palette {
  const on = stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
  const style = (format: Parameters<typeof styleText>[0]) =>
    on ? (text: string) => styleText(format, text) : (text: string) => text;
  return {
    ok: style('green'),
    fail: style('red'),
    warn: style('yellow'),
    dim: style('dim'),
    bold: style('bold'),
  };
}
