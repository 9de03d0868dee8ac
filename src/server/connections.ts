/**
 * Closing the server's connections on shutdown. `server.close()` stops accepting and closes
 * keep-alive sockets that sit idle at that moment, but not two kinds that would hold the
 * close open until the grace runs out: a socket that connected and never sent a request
 * (clients pre-connect spares; Node counts it as busy), and a keep-alive socket whose
 * request was in flight at close and which goes idle afterwards. While draining, both are
 * closed as soon as they are seen, on a short tick; after the grace every socket is cut, so
 * a client that never reads cannot hold the process open.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const DRAIN_TICK_MS = 25;

export class ConnectionDrainer {
  private readonly sockets = new Set<Socket>();
  private draining = false;

  constructor(private readonly server: Server) {
    // Per connection, not per request: keep-alive clients pay for it once.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Open sockets (for tests and diagnostics). */
  get size(): number {
    return this.sockets.size;
  }

  /** Closes idle sockets now and as they go idle, and every socket after `graceMs`. */
  drain(graceMs: number): void {
    // An app that never listened (tests' inject()) has no sockets to drain.
    if (this.draining || !this.server.listening) return;
    this.draining = true;
    const sweep = (): void => {
      this.server.closeIdleConnections();
      for (const socket of this.sockets) {
        // Nothing read: no request has started on it, so none is cut short.
        if (socket.bytesRead === 0) socket.destroy();
      }
    };
    sweep();
    const tick = setInterval(sweep, DRAIN_TICK_MS);
    const cut = setTimeout(() => {
      clearInterval(tick);
      this.server.closeAllConnections();
    }, graceMs);
    tick.unref();
    cut.unref();
    this.server.once('close', () => {
      clearInterval(tick);
      clearTimeout(cut);
    });
  }
}
