export { sftp } from './sftp-adapter.js';
export type { SftpAdapterOptions } from './sftp-adapter-options.js';
export type { SftpSession } from './sftp-session.js';
