declare const __DL_VERSION__: string | undefined;

/** The version of `@dl/cli`, stamped in at build time. */
export const VERSION: string = typeof __DL_VERSION__ === 'string' ? __DL_VERSION__ : '0.0.0-dev';
