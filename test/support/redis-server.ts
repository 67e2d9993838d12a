import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import Redis from 'ioredis';

/**
 * A redis-server of a test's own, on a free port, keeping nothing on disk:
 * tests that kill or restart Redis use one of these, never the shared one.
 */
export class OwnRedis {
  private process: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const redis = new OwnRedis(port);
    await redis.up();
    return redis;
  }

  /** Starts the server (empty) and waits until it answers. */
  async up(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    client.disconnect();
  }

  /** Kills the server; what it held is gone. */
  async down(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async restartEmpty(): Promise<void> {
    await this.down();
    await this.up();
  }

  client(): Redis {
    return new Redis(this.url);
  }
}
