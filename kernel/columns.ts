import { Column, ColumnOptions, ValueTransformer } from 'typeorm';
import { TableColumnOptions } from 'typeorm/schema-builder/options/TableColumnOptions';

/**
 * Column shapes shared by every subgraph's entities and migrations, written
 * once so MySQL and SQLite agree on them (byte counts as integers up to 2^53,
 * instants with milliseconds in UTC).
 */
const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};

export const BytesColumn = (options: ColumnOptions = {}) => Column({ type: 'bigint', default: 0, transformer: bigintToNumber, ...options });

export const InstantColumn = (options: ColumnOptions = {}) => Column({ type: 'datetime', precision: 3, ...options });

/** Migration column builders matching the decorators above. */
export const col = {
  id: (name: string, length = 64): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isPrimary: true }),
  string: (name: string, length = 255, nullable = false): TableColumnOptions => ({
    name,
    type: 'varchar',
    length: String(length),
    isNullable: nullable,
  }),
  text: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
  int: (name: string, defaultValue: number | null = 0): TableColumnOptions => ({
    name,
    type: 'int',
    isNullable: defaultValue === null,
    ...(defaultValue === null ? {} : { default: defaultValue }),
  }),
  bytes: (name: string): TableColumnOptions => ({ name, type: 'bigint', default: 0 }),
  bool: (name: string, defaultValue = false): TableColumnOptions => ({ name, type: 'boolean', default: defaultValue }),
  instant: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'datetime', precision: 3, isNullable: nullable }),
  serial: (name: string): TableColumnOptions => ({
    name,
    type: 'integer',
    isPrimary: true,
    isGenerated: true,
    generationStrategy: 'increment',
  }),
};
