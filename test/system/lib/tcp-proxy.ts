/**
 * A small TCP proxy in front of Daniel, so Henrik's URL stays fixed while Daniel restarts
 * on a new port, and so the network can misbehave on demand: refuse connections (Daniel
 * down), hold them without answering (a black hole), or cut the next requests either
 * mid-request (part of the body forwarded) or after Daniel answered (the answer lost: the
 * lines are stored but the agent does not know).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface CutPlan {
  /** How many connections to cut. */
  count: number;
  /**
   * `request`: forward `afterBytes` of the request, then cut (without `afterBytes`: the
   * headers and half the body, whatever the body's size); `response`: cut as Daniel's answer starts.
   */
  phase: 'request' | 'response';
  afterBytes?: number;
}

export class TcpProxy {
  mode: ProxyMode = 'pass';
  readonly stats = { connections: 0, refused: 0, cut: 0 };
  private readonly sockets = new Set<Socket>();
  private cutPlan: CutPlan | undefined;
  /** Cuts taken by a request that has not been cut yet (so a caller waiting for them does not cut its connection first). */
  private cutsUnderWay = 0;

  private constructor(
    private readonly server: Server,
    public targetPort: number,
    public readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    const proxy = new TcpProxy(server, targetPort, address.port);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cut the next `plan.count` connections as planned. */
  cut(plan: CutPlan): void {
    this.cutPlan = { ...plan };
  }

  /** Cuts planned and not yet done, those of requests under way included. */
  get cutsPending(): number {
    return (this.cutPlan?.count ?? 0) + this.cutsUnderWay;
  }

  /** Destroys every open connection (both sides) at once. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    this.track(client);
    if (this.mode === 'refuse') {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'blackhole') {
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.track(upstream);
    let cutDone = false;
    /** A cut this connection took and has not done. */
    let owed = false;
    const settle = (): void => {
      if (owed) this.cutsUnderWay--;
      owed = false;
    };
    const both = (): void => {
      if (!cutDone) this.stats.cut++;
      cutDone = true;
      settle();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      settle();
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    // Connections are kept alive: a cut applies to the next request, which starts with the
    // first client bytes after an answer (or on a fresh connection).
    let plan: CutPlan | undefined;
    let inRequest = false;
    let forwarded = 0;
    /** The request's bytes until its headers end (mid-body cuts), and where to cut once known. */
    let head = Buffer.alloc(0);
    let cutAt: number | undefined;
    client.on('data', (chunk: Buffer) => {
      if (!inRequest) {
        inRequest = true;
        forwarded = 0;
        plan = this.takeCut();
        if (plan !== undefined) {
          owed = true;
          this.cutsUnderWay++;
        }
        head = Buffer.alloc(0);
        cutAt = plan?.afterBytes;
      }
      if (plan?.phase === 'request' && cutAt === undefined) {
        head = Buffer.concat([head, chunk]);
        const headerEnd = head.indexOf('\r\n\r\n');
        if (headerEnd >= 0) {
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head.subarray(0, headerEnd).toString('latin1'))?.[1] ?? 0);
          if (length === 0) {
            // No body to cut in half (a GET): the cut waits for the next request.
            if (this.cutPlan !== undefined) this.cutPlan.count++;
            plan = undefined;
            settle();
          } else {
            cutAt = headerEnd + 4 + Math.floor(length / 2);
          }
        }
      }
      if (plan?.phase === 'request' && cutAt !== undefined) {
        const room = cutAt - forwarded;
        if (room <= 0) return both();
        if (chunk.length >= room) {
          upstream.write(chunk.subarray(0, room));
          forwarded += room;
          // Let the partial request reach Daniel before both sides vanish.
          setTimeout(both, 50);
          return;
        }
      }
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      inRequest = false;
      if (plan?.phase === 'response') return both();
      client.write(chunk);
    });
  }

  private takeCut(): CutPlan | undefined {
    if (!this.cutPlan || this.cutPlan.count <= 0) return undefined;
    this.cutPlan.count--;
    return this.cutPlan;
  }
}
