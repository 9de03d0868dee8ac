/**
 * `daniel serve`'s syslog listeners (--syslog-udp, --syslog-tcp, --syslog-tls): the receivers
 * of src/inputs/syslog/ started on the configured addresses, writing through the push sink.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { startSyslog, type RunningSyslog, type SyslogTlsFiles } from '../inputs/syslog/listeners.js';
import type { PushSink } from '../inputs/sink.js';
import { ConfigError, type SyslogConfig } from './config.js';
import type { ServerLog } from './log.js';

async function readSyslogTls(config: SyslogConfig): Promise<SyslogTlsFiles | undefined> {
  if (config.tls === undefined || config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError(`syslog TLS file ${file} cannot be read: ${(error as Error).message}`);
    }
  };
  const files: SyslogTlsFiles = { cert: await read(config.tlsCert), key: await read(config.tlsKey) };
  if (config.tlsClientCa !== undefined) files.clientCa = await read(config.tlsClientCa);
  try {
    createSecureContext({ key: files.key, cert: files.cert, ...(files.clientCa === undefined ? {} : { ca: files.clientCa }) });
  } catch (error) {
    throw new ConfigError(`--syslog-tls certificate and key: ${(error as Error).message}`);
  }
  return files;
}

export interface SyslogInputs {
  /** SIGHUP: the TLS listener's files read again (new connections get them). */
  reload(config: SyslogConfig): Promise<void>;
  close(): Promise<void>;
  running: RunningSyslog;
}

/** Starts the configured listeners, or returns undefined when none is configured. */
export async function startSyslogInputs(
  config: SyslogConfig,
  sink: PushSink,
  log: ServerLog,
  info: (line: string) => void,
): Promise<SyslogInputs | undefined> {
  if (config.udp === undefined && config.tcp === undefined && config.tls === undefined) return undefined;
  const files = await readSyslogTls(config);
  let running: RunningSyslog;
  try {
    running = await startSyslog({
      ...(config.udp === undefined ? {} : { udp: config.udp }),
      ...(config.tcp === undefined ? {} : { tcp: config.tcp }),
      ...(config.tls === undefined || files === undefined ? {} : { tls: { ...config.tls, files } }),
      sink,
      log,
      info,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new ConfigError(`cannot listen for syslog: ${(error as Error).message} (check --syslog-udp, --syslog-tcp, --syslog-tls / DANIEL_SYSLOG_*)`);
    }
    throw error;
  }
  return {
    running,
    async reload(next) {
      if (config.tls === undefined) return;
      const reread = await readSyslogTls({ ...next, tls: config.tls });
      if (reread !== undefined) running.setTls(reread);
    },
    close: () => running.close(),
  };
}
