import { AddressInfo, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of the test database, to inject network faults for real:
 * - `pass`: bytes flow both ways (the default);
 * - `reset()`: every open connection is reset (RST), as when the database or a middlebox drops
 *   them; new connections work;
 * - `blackhole`: nothing flows any more and nothing is refused: connections stay open, new ones
 *   are accepted and never answered, as behind a network partition.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private blackholed = false;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on a free loopback port; resolves with it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Resets every open connection. */
  reset(): void {
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** Stops all traffic without closing anything (on), or lets it flow again (off). */
  blackhole(on: boolean): void {
    this.blackholed = on;
    for (const { client, upstream } of this.pairs) {
      if (on) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      } else {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    }
  }

  async stop(): Promise<void> {
    this.reset();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.blackholed) {
      // Accepted, never answered: the client's own timeouts must end it.
      client.pause();
      return;
    }
    const upstream = new Socket();
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    upstream.connect(this.targetPort, this.targetHost, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }
}
