export { ftp } from './ftp-adapter.js';
export type { FtpAdapterOptions, PemSource } from './ftp-adapter-options.js';
export type { FtpSession } from './ftp-session.js';
