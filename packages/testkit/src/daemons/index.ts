export { startVsftpd, type RunningVsftpd } from './vsftpd.js';
export type { VsftpdOptions } from './vsftpd-options.js';
export { startSshd, parseSshPublicKey, type RunningSshd, type SshPublicKey } from './sshd.js';
export type { SshdOptions } from './sshd-options.js';
export { startRedis, type RunningRedis, type RedisOptions } from './redis.js';
export { startSshAgent, type RunningSshAgent } from './ssh-agent.js';
export type { RunningDaemon } from './daemon-process.js';
export type { SystemUser } from './system-user.js';
export { createTestCertificate, type TestCertificate } from './test-certificate.js';
export {
  establishedConnections,
  watchConnections,
  type ConnectionWatch,
} from './tcp-connections.js';
export { freePort, freePortRange } from './free-port.js';
