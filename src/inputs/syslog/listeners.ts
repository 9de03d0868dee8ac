/**
 * The syslog listeners: UDP (RFC 5426, one message per datagram), TCP (RFC 6587 framing) and
 * TLS (RFC 5425, the same framing inside TLS, client certificates when a CA is given). Each
 * hands its messages to one SyslogBatcher; a stream listener stops reading a connection while
 * the batcher is behind, a datagram listener drops (and counts) what arrives meanwhile.
 * Nothing a peer sends can stop a listener: a bad frame is a message, a broken connection is
 * closed alone.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, isIPv6, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { SyslogBatcher, peerHost, type BatcherOptions, type SyslogLog } from './batcher.js';
import { Deframer, DEFAULT_MAX_FRAME_BYTES } from './framing.js';
import { parseSyslog } from './parse.js';
import type { PushSink } from '../sink.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface SyslogTlsFiles {
  key: Buffer;
  cert: Buffer;
  /** Set: every client must show a certificate this CA signed. */
  clientCa?: Buffer;
}

export interface SyslogOptions {
  udp?: ListenAddress;
  tcp?: ListenAddress;
  tls?: ListenAddress & { files: SyslogTlsFiles };
  sink: PushSink;
  log: SyslogLog;
  /** One line for the user per listener: `syslog listening on udp://HOST:PORT`. */
  info(line: string): void;
  /** Longest message kept whole; longer ones are cut there (default 64 KiB). */
  maxFrameBytes?: number;
  /** Open TCP and TLS connections at most, each (default 1,024); more are closed at once. */
  maxConnections?: number;
  /** The kernel's receive buffer asked for the UDP socket (default 8 MiB; the OS may give less). */
  udpReceiveBufferBytes?: number;
  batch?: Omit<BatcherOptions, 'sink' | 'log'>;
}

export interface RunningSyslog {
  /** `udp://…`, `tcp://…`, `tls://…` with the real ports. */
  urls: { udp?: string; tcp?: string; tls?: string };
  batcher: SyslogBatcher;
  /** SIGHUP: new certificate and key (and client CA) for new TLS connections. */
  setTls(files: SyslogTlsFiles): void;
  close(): Promise<void>;
}

export const DEFAULT_MAX_CONNECTIONS = 1_024;
const DEFAULT_UDP_BUFFER = 8 * 1024 * 1024;

function urlOf(scheme: string, address: AddressInfo): string {
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

function tlsOptions(files: SyslogTlsFiles): Parameters<typeof createTlsServer>[0] {
  return {
    key: files.key,
    cert: files.cert,
    minVersion: 'TLSv1.2',
    ...(files.clientCa === undefined ? {} : { ca: files.clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}

export async function startSyslog(options: SyslogOptions): Promise<RunningSyslog> {
  const batcher = new SyslogBatcher({ sink: options.sink, log: options.log, ...options.batch });
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const connections = new Map<Socket, Deframer>();
  const servers: (NetServer | TlsServer)[] = [];
  let udp: UdpSocket | undefined;
  let tlsServer: TlsServer | undefined;
  const urls: RunningSyslog['urls'] = {};

  // The time of arrival in ns, worked out once per millisecond rather than once per message.
  let arrivalMs = 0;
  let arrivalNs = 0n;
  const receive = (text: string, peer: string, cut: boolean): void => {
    const now = Date.now();
    if (now !== arrivalMs) {
      arrivalMs = now;
      arrivalNs = BigInt(now) * 1_000_000n;
    }
    const arrival = arrivalNs;
    const message = parseSyslog(text, { nowNs: arrival });
    if (cut) message.fields.cut = 'true';
    batcher.add(message, peer, arrival);
  };

  const onConnection = (socket: Socket | TLSSocket): void => {
    const peer = peerHost(socket.remoteAddress);
    const deframer = new Deframer((frame, cut) => receive(frame.toString('utf8'), peer, cut), maxFrameBytes);
    connections.set(socket, deframer);
    let waiting = false;
    socket.on('data', (chunk: Buffer) => {
      deframer.push(chunk);
      if (batcher.behind && !waiting) {
        // Back-pressure: stop reading; the kernel's window fills and the sender waits.
        waiting = true;
        socket.pause();
        batcher.onDrain(() => {
          waiting = false;
          if (!socket.destroyed) socket.resume();
        });
      }
    });
    socket.on('end', () => deframer.end());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => connections.delete(socket));
  };

  const listen = async (server: NetServer | TlsServer, at: ListenAddress): Promise<AddressInfo> => {
    server.maxConnections = maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.host, port: at.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    servers.push(server);
    server.on('error', (error: Error) => options.log.warn('syslog listener error', { message: error.message }));
    return server.address() as AddressInfo;
  };

  const close = async (): Promise<void> => {
    for (const server of servers) server.close();
    // What a connection sent without its final LF is still a message.
    for (const [socket, deframer] of connections) {
      deframer.end();
      socket.destroy();
    }
    if (udp !== undefined) {
      const socket = udp;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    await batcher.close();
  };

  try {
    if (options.udp !== undefined) {
      const at = options.udp;
      const socket = createSocket({ type: isIPv6(at.host) ? 'udp6' : 'udp4', recvBufferSize: options.udpReceiveBufferBytes ?? DEFAULT_UDP_BUFFER });
      udp = socket;
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: at.host, port: at.port }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', (error) => options.log.warn('syslog udp error', { message: error.message }));
      socket.on('message', (datagram, remote) => {
        if (batcher.behind) {
          batcher.drop();
          return;
        }
        receive(datagram.subarray(0, maxFrameBytes).toString('utf8'), peerHost(remote.address), datagram.length > maxFrameBytes);
      });
      urls.udp = urlOf('udp', socket.address());
    }
    if (options.tcp !== undefined) {
      urls.tcp = urlOf('tcp', await listen(createTcpServer(onConnection), options.tcp));
    }
    if (options.tls !== undefined) {
      tlsServer = createTlsServer(tlsOptions(options.tls.files), onConnection);
      // A handshake that fails (no client certificate, a plain-TCP sender) closes that connection alone.
      tlsServer.on('tlsClientError', (error) => options.log.info('syslog tls handshake failed', { message: error.message }));
      urls.tls = urlOf('tls', await listen(tlsServer, options.tls));
    }
  } catch (error) {
    await close();
    throw error;
  }
  for (const url of [urls.udp, urls.tcp, urls.tls]) if (url !== undefined) options.info(`syslog listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    urls,
    batcher,
    setTls(files) {
      tlsServer?.setSecureContext(tlsOptions(files));
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}

