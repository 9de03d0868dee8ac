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
  /** `request`: forward `afterBytes` of the request, then cut; `response`: cut as Daniel's answer starts. */
  phase: 'request' | 'response';
  afterBytes?: number;
}

export class TcpProxy {
  mode: ProxyMode = 'pass';
  readonly stats = { connections: 0, refused: 0, cut: 0 };
  private readonly sockets = new Set<Socket>();
  private cutPlan: CutPlan | undefined;

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

  get cutsPending(): number {
    return this.cutPlan?.count ?? 0;
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
    const both = (): void => {
      if (!cutDone) this.stats.cut++;
      cutDone = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // Connections are kept alive: a cut applies to the next request, which starts with the
    // first client bytes after an answer (or on a fresh connection).
    let plan: CutPlan | undefined;
    let inRequest = false;
    let forwarded = 0;
    client.on('data', (chunk: Buffer) => {
      if (!inRequest) {
        inRequest = true;
        forwarded = 0;
        plan = this.takeCut();
      }
      if (plan?.phase === 'request') {
        const room = (plan.afterBytes ?? 200) - forwarded;
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
