import Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../../kernel/errors';
import { Identity, Role } from '../../kernel/identity';
import { GatewayPlugin } from './types';

export interface RateLimitOptions {
  /** operations per caller per minute (RATE_LIMIT_PER_MINUTE) */
  perMinute: number;
  /** the most a caller may send at once (RATE_LIMIT_BURST) */
  burst: number;
  /** per-role per-minute overrides (RATE_LIMIT_ROLES) */
  perRole?: Readonly<Partial<Record<string, number>>>;
  /** shared by every gateway instance when set (REDIS_URL); in this process otherwise */
  redisUrl?: string | null;
  /** the Redis key prefix (tests isolate themselves with it) */
  keyPrefix?: string;
}

/**
 * One window of `burst` operations that refills at `perMinute`: a window of
 * burst*60/perMinute seconds holding `burst` points (rate-limiter-flexible
 * counts in whole seconds).
 */
function windowOf(perMinute: number, burst: number): { points: number; duration: number } {
  const duration = Math.max(1, Math.round((burst * 60) / perMinute));
  return { points: Math.max(1, Math.round((perMinute * duration) / 60)), duration };
}

/**
 * The rate limit (RATE_LIMITED, HTTP 429): per caller (role and token
 * subject), with per-role budgets, through rate-limiter-flexible — in Redis
 * when REDIS_URL is set, so all gateway instances share one budget (an
 * in-process limiter insures against a Redis outage), in memory otherwise.
 * Charged before parsing, for every client operation on every transport;
 * the subscription engine's own payload queries are not client operations.
 */
export function useRateLimit(options: RateLimitOptions): GatewayPlugin {
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true })
    : null;
  redis?.on('error', () => undefined); // the insurance limiter takes over; ioredis reconnects
  const prefix = options.keyPrefix ?? 'cds:ratelimit';
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (role: Role): { limiter: RateLimiterAbstract; perMinute: number } => {
    const perMinute = options.perRole?.[role] ?? options.perMinute;
    let limiter = limiters.get(role);
    if (!limiter) {
      const window = { ...windowOf(perMinute, Math.min(options.burst, perMinute)), keyPrefix: `${prefix}:${role}` };
      limiter = redis
        ? new RateLimiterRedis({ ...window, storeClient: redis, insuranceLimiter: new RateLimiterMemory(window) })
        : new RateLimiterMemory(window);
      limiters.set(role, limiter);
    }
    return { limiter, perMinute };
  };

  const take = async (identity: Identity): Promise<void> => {
    const { limiter, perMinute } = limiterFor(identity.role);
    try {
      await limiter.consume(identity.sub, 1);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const seconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      throw new DomainError('RATE_LIMITED', `Too many requests: at most ${perMinute} a minute for your token; try again in ${seconds} s`, {
        retryAfterSeconds: seconds,
      });
    }
  };

  return {
    name: 'rateLimit',
    onRequest: (_request, context) => (context.transport === 'subscription-event' ? undefined : take(context.identity)),
    async serverWillStart() {
      // Connected before the first request, so it is not counted by the insurance limiter alone.
      await redis?.connect().catch(() => undefined);
      return {
        async serverWillStop() {
          await redis?.quit().catch(() => undefined);
        },
      };
    },
  };
}
