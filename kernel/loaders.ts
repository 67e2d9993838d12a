import DataLoader from 'dataloader';
import { ObjectLiteral, Repository } from 'typeorm';

/**
 * The two shapes every request-scoped loader takes. Each subgraph builds its
 * loaders from these per request, so one SQL statement serves every entity of
 * a kind that a request touches, however many there are.
 */

/** One row per key (or null): `SELECT ... WHERE key IN (...)`. */
export function keyedLoader<K extends string | number, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (row: V) => K,
): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(
    async (keys) => {
      const rows = await fetch(keys);
      const byKey = new Map(rows.map((row) => [keyOf(row), row] as const));
      return keys.map((key) => byKey.get(key) ?? null);
    },
    { maxBatchSize: 1000 },
  );
}

/** Many rows per key: `SELECT ... WHERE parent IN (...)`, grouped in memory, order kept. */
export function groupedLoader<K extends string | number, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  groupOf: (row: V) => K,
): DataLoader<K, V[]> {
  return new DataLoader<K, V[]>(
    async (keys) => {
      const rows = await fetch(keys);
      const groups = new Map<K, V[]>(keys.map((key) => [key, []]));
      for (const row of rows) groups.get(groupOf(row))?.push(row);
      return keys.map((key) => groups.get(key) ?? []);
    },
    { maxBatchSize: 1000 },
  );
}

/** A single aggregate value per key (counts, sums), defaulting when a key has no rows. */
export function aggregateLoader<K extends string | number, V>(
  fetch: (keys: readonly K[]) => Promise<Map<K, V>>,
  fallback: V,
): DataLoader<K, V> {
  return new DataLoader<K, V>(
    async (keys) => {
      const values = await fetch(keys);
      return keys.map((key) => values.get(key) ?? fallback);
    },
    { maxBatchSize: 1000 },
  );
}

/** How many rows of `repository` have each value of `column` (a network's PBXs, say): one GROUP BY per request. */
export function countLoader<E extends ObjectLiteral>(repository: Repository<E>, column: keyof E & string): DataLoader<string, number> {
  return aggregateLoader<string, number>(async (keys) => {
    const rows = await repository
      .createQueryBuilder('row')
      .select(`row.${column}`, 'k')
      .addSelect('COUNT(*)', 'n')
      .where(`row.${column} IN (:...keys)`, { keys: [...keys] })
      .groupBy(`row.${column}`)
      .getRawMany<{ k: string; n: string | number }>();
    return new Map(rows.map((r) => [r.k, Number(r.n)]));
  }, 0);
}
