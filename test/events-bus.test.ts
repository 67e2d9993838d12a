import { randomUUID } from 'node:crypto';
import { EventBus, EventEnvelope } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { OwnRedis } from './support/redis-server';

/**
 * The bus heals and isolates (docs/events.md, "When the bus fails"): a poison
 * event goes to the dead-letter stream, is counted and does not stop the
 * others; a failure while the consumer is unhealthy waits instead; a vanished
 * consumer group is created again; the stream is trimmed only below what every
 * expected group acknowledged. The same for the Redis bus and the embedded one.
 */
const event = (type: string): EventEnvelope => ({
  id: randomUUID(),
  type,
  key: 'k',
  source: 'test',
  occurredAt: new Date().toISOString(),
  payload: {},
});

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let redis: OwnRedis;
beforeAll(async () => {
  redis = await OwnRedis.start();
}, 20_000);
afterAll(() => redis?.down());

const kinds: [string, (groups: string[]) => EventBus][] = [
  [
    'redis',
    (groups) => new RedisStreamBus(redis.url, `bus-test:${randomUUID()}`, { claimIdleMs: 150, expectedGroups: groups, tailGraceMs: 0 }),
  ],
  ['memory', (groups) => new MemoryBus(20, groups)],
];

describe.each(kinds)('%s bus', (_kind, makeBus) => {
  let bus: EventBus;
  afterEach(() => bus?.close());

  it('sets a poison event aside in the dead-letter stream, counts it, and delivers the others', async () => {
    bus = makeBus(['g']);
    const seen: string[] = [];
    let attempts = 0;
    const consumption = await bus.consume(
      'g',
      async (e) => {
        if (e.type === 'Poison') {
          attempts++;
          throw new Error('cannot apply this');
        }
        seen.push(e.type);
      },
      { maxAttempts: 3 },
    );
    await bus.publish([event('A'), event('Poison'), event('B')]);
    await until(() => bus.stats.deadLettered === 1, 'the poison event to be set aside');
    expect(seen).toEqual(['A', 'B']);
    expect(attempts).toBe(3);
    const letters = await bus.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ group: 'g', error: 'cannot apply this' });
    expect(JSON.parse(letters[0].event)).toMatchObject({ type: 'Poison' });
    // Set aside means acknowledged: nothing holds the stream back.
    await bus.publish([event('C')]);
    await until(() => seen.includes('C'), 'C');
    await consumption.caughtUp(5_000);
    await consumption.stop();
  });

  it('keeps retrying, never dead-letters, while the consumer itself is unhealthy', async () => {
    bus = makeBus(['g']);
    let databaseUp = false;
    let applied = 0;
    let attempts = 0;
    const consumption = await bus.consume(
      'g',
      async () => {
        attempts++;
        if (!databaseUp) throw new Error('database unreachable');
        applied++;
      },
      {
        maxAttempts: 2,
        healthy: async () => {
          if (!databaseUp) throw new Error('down');
        },
      },
    );
    await bus.publish([event('A')]);
    await until(() => attempts >= 4, 'several attempts');
    expect(bus.stats.deadLettered).toBe(0);
    databaseUp = true;
    await until(() => applied === 1, 'the event to be applied once the database is back', 20_000);
    expect(bus.stats.deadLettered).toBe(0);
    await consumption.stop();
  });

  it('trims only below what every expected group acknowledged', async () => {
    bus = makeBus(['g1', 'g2']);
    const one = await bus.consume('g1', async () => undefined);
    await bus.publish([event('A'), event('B')]);
    await one.caughtUp(5_000);
    // g2 does not exist yet: nothing may be dropped.
    expect(await bus.acknowledgedBelow()).toBeNull();
    const got: string[] = [];
    const two = await bus.consume('g2', async (e) => void got.push(e.type));
    await two.caughtUp(5_000);
    expect(got).toEqual(['A', 'B']);
    const below = await bus.acknowledgedBelow();
    expect(below).not.toBeNull();
    const { lastId } = await bus.position();
    await bus.trim(below!);
    // Everything was acknowledged by both: trimmed; later events still flow.
    expect((await bus.position()).lastId).toBe(lastId);
    await bus.publish([event('C')]);
    await two.caughtUp(5_000);
    expect(got).toEqual(['A', 'B', 'C']);
    await one.stop();
    await two.stop();
  });
});

describe('redis bus, Redis-specific faults', () => {
  it('creates a vanished consumer group again (NOGROUP) and goes on delivering', async () => {
    const stream = `bus-test:${randomUUID()}`;
    const bus = new RedisStreamBus(redis.url, stream, { claimIdleMs: 150 });
    const admin = redis.client();
    try {
      const got: string[] = [];
      const consumption = await bus.consume('g', async (e) => void got.push(e.type));
      await bus.publish([event('A')]);
      await until(() => got.length === 1, 'A');
      await admin.xgroup('DESTROY', stream, 'g');
      await bus.publish([event('B')]);
      // Recreated from the start of the stream: A comes again (the inbox skips it in a subgraph), then B.
      await until(() => got.includes('B'), 'B after the group vanished');
      expect(bus.stats.groupsRecreated).toBeGreaterThanOrEqual(1);
      await consumption.stop();
    } finally {
      admin.disconnect();
      await bus.close();
    }
  });

  it('trims exactly: XLEN drops to what some group has not acknowledged', async () => {
    const stream = `bus-test:${randomUUID()}`;
    const bus = new RedisStreamBus(redis.url, stream, { expectedGroups: ['g'], tailGraceMs: 0 });
    const admin = redis.client();
    try {
      await bus.publish([event('A'), event('B')]);
      let block = true;
      const consumption = await bus.consume(
        'g',
        async (e) => {
          if (e.type === 'C' && block) throw new Error('not yet');
        },
        { maxAttempts: 1000 },
      );
      await consumption.caughtUp(5_000);
      await bus.publish([event('C'), event('D')]);
      await until(async () => Number(((await admin.xinfo('GROUPS', stream)) as unknown[][])[0][5]) === 1, 'C pending');
      await bus.trim((await bus.acknowledgedBelow())!);
      // A and B are gone; C (pending) and D stay.
      expect(await admin.xlen(stream)).toBe(2);
      block = false;
      await consumption.stop();
    } finally {
      admin.disconnect();
      await bus.close();
    }
  });
});
