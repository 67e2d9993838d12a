import { ClassType, Directive, Field, Int, ObjectType } from 'type-graphql';
import { badInput } from '../errors';

/** Relay-style paging, shared by every paged list (networks, recordings). */
@Directive('@shareable')
@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}
export interface ConnectionShape<T> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: Edge<T>[];
}

/** Builds `<Name>Connection` and `<Name>Edge` object types for a node type. */
export function Connection<T extends object>(name: string, nodeType: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field() cursor!: string;
    @Field(() => nodeType) node!: T;
  }
  @ObjectType(`${name}Connection`)
  class ConnectionType implements ConnectionShape<T> {
    @Field(() => Int) totalCount!: number;
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => [EdgeType]) edges!: Edge<T>[];
  }
  return ConnectionType;
}

export const MAX_PAGE_SIZE = 500;

/** Checks `first`: 1..500, default `fallback`. Larger values are refused, not silently cut. */
export function pageSize(first: number | null | undefined, fallback = 50): number {
  if (first === null || first === undefined) return fallback;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`'first' must be between 1 and ${MAX_PAGE_SIZE} (got ${first})`, 'first');
  }
  return first;
}

/** Keyset cursors: the sort key of the last row, opaque to clients. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === arity && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key;
  } catch {
    // fall through to the error below
  }
  throw badInput(`'${cursor}' is not a cursor this list gave out`, 'after');
}

/** Turns `first + 1` fetched rows into a page: the extra row only tells that there is a next page. */
export function toConnection<T>(rows: T[], first: number, totalCount: number, keyOf: (row: T) => (string | number)[]): ConnectionShape<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return { totalCount, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null }, edges };
}
