import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Reads rows of an entity on the hot read paths (every request's loaders)
 * without TypeORM's query builder and entity hydration, which under load were
 * most of a subgraph's CPU: the SQL text of each shape is built once per
 * entity and statement shape, the driver's raw rows are turned into entity
 * objects column by column with the driver's own conversion (dates, booleans,
 * column transformers: the same values `find` gives, on MySQL and on SQLite),
 * and the statement still runs through the data source, so the SQL counter
 * sees it. Writes keep using TypeORM.
 */

type Direction = 'ASC' | 'DESC';

export interface RowQuery<E> {
  /** `property IN (keys)`; no keys, no statement */
  whereIn: [keyof E & string, readonly unknown[]];
  /** further `property IN (values)` conditions (constant lists: part of the statement's shape) */
  and?: [keyof E & string, readonly unknown[]][];
  /** `property IS NULL` conditions */
  isNull?: (keyof E & string)[];
  orderBy?: [keyof E & string, Direction][];
}

interface Shape {
  columns: ColumnMetadata[];
  select: string;
  prototype: object;
}

const shapes = new WeakMap<DataSource, Map<EntityTarget<ObjectLiteral>, Shape>>();

function shapeOf(db: DataSource, entity: EntityTarget<ObjectLiteral>): Shape {
  let byEntity = shapes.get(db);
  if (!byEntity) shapes.set(db, (byEntity = new Map()));
  let shape = byEntity.get(entity);
  if (!shape) {
    const metadata = db.getMetadata(entity);
    const columns = metadata.columns.filter((c) => !c.isVirtual && !c.embeddedMetadata && !c.relationMetadata);
    const q = (name: string) => db.driver.escape(name);
    shape = {
      columns,
      select: `SELECT ${columns.map((c) => q(c.databaseName)).join(', ')} FROM ${q(metadata.tableName)}`,
      prototype: (metadata.target as { prototype: object }).prototype,
    };
    byEntity.set(entity, shape);
  }
  return shape;
}

function columnOf(shape: Shape, property: string): ColumnMetadata {
  const column = shape.columns.find((c) => c.propertyName === property);
  if (!column) throw new Error(`No column for property '${property}'`);
  return column;
}

/** Rows of `entity` matching `query`, as entity objects. */
export async function selectRows<E extends ObjectLiteral>(db: DataSource, entity: EntityTarget<E>, query: RowQuery<E>): Promise<E[]> {
  const [keyProperty, keys] = query.whereIn;
  if (!keys.length) return [];
  const shape = shapeOf(db, entity as EntityTarget<ObjectLiteral>);
  const q = (property: string) => db.driver.escape(columnOf(shape, property).databaseName);
  const params: unknown[] = [...keys];
  const conditions = [`${q(keyProperty)} IN (${keys.map(() => '?').join(', ')})`];
  for (const [property, values] of query.and ?? []) {
    if (!values.length) return [];
    conditions.push(`${q(property)} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  }
  for (const property of query.isNull ?? []) conditions.push(`${q(property)} IS NULL`);
  const order = query.orderBy?.length ? ` ORDER BY ${query.orderBy.map(([p, d]) => `${q(p)} ${d}`).join(', ')}` : '';
  const raw = (await db.query(`${shape.select} WHERE ${conditions.join(' AND ')}${order}`, params)) as Record<string, unknown>[];
  const { columns, prototype } = shape;
  const driver = db.driver;
  const rows: E[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const source = raw[i];
    const row = Object.create(prototype) as Record<string, unknown>;
    for (const column of columns) row[column.propertyName] = driver.prepareHydratedValue(source[column.databaseName], column);
    rows[i] = row as E;
  }
  return rows;
}
