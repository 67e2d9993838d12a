import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../kernel/config';
import { openDatabase } from '../kernel/database';
import { RecordingLocation } from '../kernel/domain/enums';
import { rebuildDayCounts } from '../subgraphs/recordings/day-counts';
import { random } from '../subgraphs/recordings/seed';
import { Recording } from '../subgraphs/recordings/entities/recording';
import { RecordingDayCount } from '../subgraphs/recordings/entities/recording-day-count';
import { RECORDINGS_MIGRATIONS } from '../subgraphs/recordings/migrations';
import { RecordingCursor, RecordingQueries } from '../subgraphs/recordings/queries';
import { localCopyExpiry, RecordingWindow } from '../subgraphs/recordings/rules';

/**
 * Does a page of recordings cost the same on a PBX with 1,000,000 recordings
 * as on one with 1,000? Generates both PBXs in one `recording` table (the
 * recordings subgraph's own schema, by its own migrations) and times the
 * statements the subgraph runs for `Pbx.recordings` (RecordingQueries.pages
 * and .counts) and for GET /api/v1/pbx/recordings (RecordingQueries.offsetPages),
 * p50/p99 over many runs, on MariaDB and/or SQLite.
 *
 *   node -r @swc-node/register bench/recordings-pagination.ts [--db mysql,sqlite] [--runs 200] [--fresh] [--out bench/RESULTS-recordings.md]
 *
 * MariaDB: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306), database
 * cds_bench_recordings. SQLite: BENCH_SQLITE_FILE (default in the temp dir).
 * The data is kept between runs (generating it takes minutes); --fresh rebuilds it.
 */

const SMALL = { id: 'be0000001000', count: 1_000 };
const LARGE = { id: 'be0001000000', count: 1_000_000 };
const PAGE = 50;
/** The newest call of both PBXs; the calls spread over the year before it. */
const NOW = new Date('2025-01-01T00:00:00.000Z');
const DAYS = 365;
const MIGRATED_AT = new Date(NOW.getTime() - 30 * 24 * 3600 * 1000);

interface Options {
  dbs: ('mysql' | 'sqlite')[];
  runs: number;
  fresh: boolean;
  out: string | null;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { dbs: ['mysql', 'sqlite'], runs: 200, fresh: false, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--db') options.dbs = argv[++i].split(',').map((d) => d.trim()) as Options['dbs'];
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--fresh') options.fresh = true;
    else if (arg === '--out') options.out = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

/** Rows per INSERT statement: 2,000 rows x 15 columns stays under SQLite's 32,766 bound parameters and MariaDB's 16 MB packet. */
const ROWS_PER_INSERT = 2_000;

/** Inserts `count` recordings of one PBX in big multi-row INSERTs, 50 statements per transaction. */
async function generate(db: DataSource, pbxId: string, count: number): Promise<void> {
  const metadata = db.getMetadata(Recording);
  const columns = metadata.columns;
  const q = (name: string) => db.driver.escape(name);
  const head = `INSERT INTO ${q(metadata.tableName)} (${columns.map((c) => q(c.databaseName)).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const next = random(createHash('sha256').update(pbxId).digest().readUInt32BE(0));
  const span = DAYS * 24 * 3600 * 1000;
  const expires = localCopyExpiry(MIGRATED_AT);
  const started = Date.now();
  let done = 0;
  while (done < count) {
    await db.transaction(async (em) => {
      for (let s = 0; s < 50 && done < count; s++) {
        const n = Math.min(ROWS_PER_INSERT, count - done);
        const params: unknown[] = [];
        for (let i = 0; i < n; i++) {
          const k = done + i;
          // Evenly spread over the year, newest first by k, with jitter inside each slot.
          const startedAt = new Date(NOW.getTime() - Math.floor(((k + next()) / count) * span));
          const duration = Math.max(5, Math.round(Math.exp(3 + next() * 5.2)));
          const migrated = startedAt < MIGRATED_AT;
          const sourcePath = `recordings/${startedAt.toISOString().slice(0, 10).replace(/-/g, '/')}/bench-${k}.wav`;
          const row: Record<string, unknown> = {
            id: randomUUID(),
            pbxId,
            callId: `${pbxId}-${k.toString(36)}`,
            startedAt,
            durationSeconds: duration,
            sizeBytes: 44 + duration * 16_000,
            caller: String(200 + Math.floor(next() * 80)),
            callee: `+39${3_000_000_000 + Math.floor(next() * 999_999_999)}`,
            location: migrated ? RecordingLocation.CDS_WITH_LOCAL_COPY : RecordingLocation.LOCAL,
            localCopyExpiresAt: migrated ? expires : null,
            sha256: migrated ? createHash('sha256').update(`${pbxId}-${k}`).digest('hex') : null,
            objectKey: migrated ? `${pbxId}/CALL_RECORDINGS/${sourcePath}` : null,
            sourcePath,
            migrationId: migrated ? 'bench-migration' : null,
            createdAt: NOW,
          };
          for (const column of columns) params.push(db.driver.preparePersistentValue(row[column.propertyName], column));
        }
        await em.query(head + Array.from({ length: n }, () => tuple).join(', '), params);
        done += n;
      }
    });
    process.stdout.write(
      `\r  ${pbxId}: ${done.toLocaleString('en')} of ${count.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  process.stdout.write('\n');
}

async function ensureData(db: DataSource, fresh: boolean): Promise<void> {
  const repository = db.getRepository(Recording);
  for (const pbx of [SMALL, LARGE]) {
    const have = fresh ? -1 : await repository.countBy({ pbxId: pbx.id });
    if (have === pbx.count) {
      console.log(`  ${pbx.id}: ${have.toLocaleString('en')} recordings already there`);
      continue;
    }
    await repository.delete({ pbxId: pbx.id });
    await generate(db, pbx.id, pbx.count);
  }
  // The bulk load went around insertRecordingRows, which keeps the per-day counts totalCount reads: recount them.
  await db.transaction((em) => rebuildDayCounts(em, [SMALL.id, LARGE.id]));
  // Fresh statistics, as a production database would have them.
  if (db.options.type === 'mysql') await db.query('ANALYZE TABLE `recording`, `recording_day_count`');
  else await db.query('ANALYZE');
}

interface Timing {
  p50: number;
  p99: number;
  mean: number;
  runs: number;
}

async function time(runs: number, work: (i: number) => Promise<unknown>): Promise<Timing> {
  const warmup = Math.max(5, Math.floor(runs / 10));
  for (let i = 0; i < warmup; i++) await work(i);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await work(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((s, x) => s + x, 0) / samples.length, runs };
}

interface Case {
  name: string;
  runs: number;
  work: (i: number) => Promise<unknown>;
  check: () => Promise<string>;
}

/** The row at position `offset` (newest first) as a cursor: what a client holds after paging that far. */
async function cursorAt(queries: RecordingQueries, pbxId: string, offset: number): Promise<RecordingCursor> {
  const [page] = await queries.offsetPages([{ pbxId, window: { from: null, to: null }, offset, rows: 1 }]);
  return { startedAt: page[0].startedAt, id: page[0].id };
}

async function casesFor(queries: RecordingQueries, pbx: { id: string; count: number }, runs: number): Promise<Case[]> {
  const open: RecordingWindow = { from: null, to: null };
  // Deep: 90% of the way back; the window: one week in the middle of the year.
  const deep = await cursorAt(queries, pbx.id, Math.floor(pbx.count * 0.9));
  const middle = NOW.getTime() - (DAYS / 2) * 24 * 3600 * 1000;
  const week: RecordingWindow = { from: new Date(middle - 7 * 24 * 3600 * 1000), to: new Date(middle) };
  // Not on midnights: whole days from the day counts, the two partial days counted row by row.
  const quarter: RecordingWindow = { from: new Date(middle - 90 * 24 * 3600 * 1000 + 1234), to: new Date(middle + 4321) };
  const rows = async (p: Promise<unknown[][]>) => `${(await p)[0].length} rows`;
  const count = async (p: Promise<number[]>) => `count ${(await p)[0].toLocaleString('en')}`;
  const deepOffset = Math.floor(pbx.count * 0.9);
  const fewer = Math.max(20, Math.floor(runs / 4));
  const cases: Case[] = [
    {
      name: 'first page (50, newest first)',
      runs,
      work: () => queries.pages([{ pbxId: pbx.id, window: open, after: null, rows: PAGE + 1 }]),
      check: () => rows(queries.pages([{ pbxId: pbx.id, window: open, after: null, rows: PAGE + 1 }])),
    },
    {
      name: 'deep page via cursor (90% back)',
      runs,
      work: () => queries.pages([{ pbxId: pbx.id, window: open, after: deep, rows: PAGE + 1 }]),
      check: () => rows(queries.pages([{ pbxId: pbx.id, window: open, after: deep, rows: PAGE + 1 }])),
    },
    {
      name: 'from/to page (one week, mid-year)',
      runs,
      work: () => queries.pages([{ pbxId: pbx.id, window: week, after: null, rows: PAGE + 1 }]),
      check: () => rows(queries.pages([{ pbxId: pbx.id, window: week, after: null, rows: PAGE + 1 }])),
    },
    {
      name: 'totalCount, from/to (one week)',
      runs,
      work: () => queries.counts([{ pbxId: pbx.id, window: week }]),
      check: () => count(queries.counts([{ pbxId: pbx.id, window: week }])),
    },
    {
      name: 'totalCount, from/to (90 days, not on midnights)',
      runs,
      work: () => queries.counts([{ pbxId: pbx.id, window: quarter }]),
      check: () => count(queries.counts([{ pbxId: pbx.id, window: quarter }])),
    },
    {
      name: 'totalCount, all',
      runs,
      work: () => queries.counts([{ pbxId: pbx.id, window: open }]),
      check: () => count(queries.counts([{ pbxId: pbx.id, window: open }])),
    },
    {
      name: 'REST: offset page, start=0',
      runs,
      work: () => queries.offsetPages([{ pbxId: pbx.id, window: open, offset: 0, rows: 100 }]),
      check: () => rows(queries.offsetPages([{ pbxId: pbx.id, window: open, offset: 0, rows: 100 }])),
    },
    {
      name: 'REST: offset page, start=90% back',
      runs: fewer,
      work: () => queries.offsetPages([{ pbxId: pbx.id, window: open, offset: deepOffset, rows: 100 }]),
      check: () => rows(queries.offsetPages([{ pbxId: pbx.id, window: open, offset: deepOffset, rows: 100 }])),
    },
  ];
  return cases;
}

/** What the engine does for the deep cursor page and the deep offset page, for the record. */
async function plans(db: DataSource, queries: RecordingQueries): Promise<string[]> {
  const deep = await cursorAt(queries, LARGE.id, Math.floor(LARGE.count * 0.9));
  const page = queries.pageStatement([{ pbxId: LARGE.id, window: { from: null, to: null }, after: deep, rows: PAGE + 1 }]);
  // A deep offset runs in two statements: the day counts (seekPastWholeDays), then the short walk that is left.
  const [seek] = await queries.seekPastWholeDays([
    { pbxId: LARGE.id, window: { from: null, to: null }, offset: Math.floor(LARGE.count * 0.9), rows: 100 },
  ]);
  const offset = queries.offsetStatement([seek]);
  const middle = NOW.getTime() - (DAYS / 2) * 24 * 3600 * 1000;
  const count = queries.countStatement([
    { pbxId: LARGE.id, window: { from: new Date(middle - 90 * 24 * 3600 * 1000 + 1234), to: new Date(middle + 4321) } },
  ]);
  const lines: string[] = [
    `- deep offset page: the day counts turn offset ${Math.floor(LARGE.count * 0.9).toLocaleString('en')} into offset ${seek.offset.toLocaleString('en')} before ${seek.window.to?.toISOString()}`,
  ];
  if (db.options.type === 'mysql') {
    type Row = {
      id: number;
      table: string;
      type: string;
      key: string | null;
      rows: number;
      r_rows: number | string | null;
      Extra: string | null;
    };
    for (const [name, statement] of [
      ['deep cursor page', page],
      ['deep offset page, what is left', offset],
      ['totalCount of a 90-day window', count],
    ] as const) {
      const rows = await db.query<Row[]>(`ANALYZE ${statement.sql}`, statement.params);
      lines.push(
        `- ${name} (MariaDB ANALYZE): ${rows.map((r) => `${r.table}: ${r.type} on ${r.key ?? '-'}, read ${r.r_rows ?? '-'} rows${r.Extra ? ` (${r.Extra})` : ''}`).join('; ')}`,
      );
    }
  } else {
    for (const [name, statement] of [
      ['deep cursor page', page],
      ['deep offset page, what is left', offset],
      ['totalCount of a 90-day window', count],
    ] as const) {
      const rows = await db.query<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${statement.sql}`, statement.params);
      lines.push(`- ${name} (SQLite EXPLAIN QUERY PLAN): ${rows.map((r) => r.detail).join('; ')}`);
    }
  }
  return lines;
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

async function benchEngine(kind: 'mysql' | 'sqlite', options: Options): Promise<string[]> {
  const config: DatabaseConfig =
    kind === 'mysql'
      ? { kind: 'mysql', url: `${(process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '')}/cds_bench_recordings` }
      : { kind: 'sqlite', file: process.env.BENCH_SQLITE_FILE ?? path.join(os.tmpdir(), 'cds-bench-recordings.sqlite') };
  console.log(`${kind}: preparing data`);
  const db = await openDatabase({ db: config, entities: [Recording, RecordingDayCount], migrations: RECORDINGS_MIGRATIONS });
  try {
    const generatedAt = Date.now();
    await ensureData(db, options.fresh);
    const queries = new RecordingQueries(db);
    const version =
      kind === 'mysql'
        ? (await db.query<{ v: string }[]>('SELECT VERSION() AS v'))[0].v
        : `SQLite ${(await db.query<{ v: string }[]>('SELECT sqlite_version() AS v'))[0].v}`;
    const lines = [`### ${kind === 'mysql' ? 'MariaDB' : 'SQLite'} (${version})`, ''];
    lines.push(
      `Data ready in ${((Date.now() - generatedAt) / 1000).toFixed(0)} s. Times in milliseconds, p50 / p99 over the runs shown (after a warm-up).`,
      '',
    );
    lines.push(
      '| operation | 1,000 recordings p50 | p99 | 1,000,000 recordings p50 | p99 | runs | answer (1k / 1M) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    const small = await casesFor(queries, SMALL, options.runs);
    const large = await casesFor(queries, LARGE, options.runs);
    for (let i = 0; i < small.length; i++) {
      const s = await time(small[i].runs, small[i].work);
      const l = await time(large[i].runs, large[i].work);
      const name = small[i].name;
      lines.push(
        `| ${name} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(l.p50)} | ${ms(l.p99)} | ${l.runs} | ${await small[i].check()} / ${await large[i].check()} |`,
      );
      console.log(`  ${name}: 1k p50 ${ms(s.p50)} p99 ${ms(s.p99)} | 1M p50 ${ms(l.p50)} p99 ${ms(l.p99)}`);
    }
    lines.push('', 'Plans on the 1,000,000-recording PBX:', '', ...(await plans(db, queries)), '');
    return lines;
  } finally {
    await db.destroy();
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const sections: string[] = [];
  for (const kind of options.dbs) sections.push(...(await benchEngine(kind, options)));
  const command = `node -r @swc-node/register bench/recordings-pagination.ts ${process.argv.slice(2).join(' ')}`.trim();
  const report = [
    '# Recordings pagination benchmark',
    '',
    '```',
    command,
    '```',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version} ` +
      `(load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} at the end: other work shared the machine, so p99s are noisy).`,
    `Two PBXs in one \`recording\` table: ${SMALL.count.toLocaleString('en')} and ${LARGE.count.toLocaleString('en')} recordings over ${DAYS} days. ` +
      'Each operation is the statement the recordings subgraph runs (RecordingQueries), timed with the driver and row hydration; pages of 50 (keyset) and 100 (offset).',
    '',
    'Reading the numbers:',
    '- Keyset pages (`Pbx.recordings`) seek in (pbxId, startedAt, id) and read only the page: the same time at 1,000 and 1,000,000, deep or not.',
    '- `totalCount` sums per-day counts (recording_day_count) and counts rows only on the partial days at the edges of a window:',
    '  its cost follows the days of history and the calls per day, not the number of recordings. The 1,000,000-recording PBX makes',
    '  2,740 calls a day against 2.7, so its edge days hold more rows; the 90-day and the all-time counts cost the same as one week.',
    '- Offset pages (REST) skip whole days by the same counts, then walk what is left (under a day) index-only and read the page by id',
    '  (a deferred join): start=900,000 costs one more small statement, not 900,000 index entries (before the day counts it was',
    '  ~230 ms on MariaDB and ~130 ms on SQLite, and totalCount of all 1,000,000 ~230 ms / ~160 ms).',
    '- Generating: rows go in 2,000 per INSERT (50 INSERTs per transaction); the day counts are then rebuilt from the rows.',
    '',
    ...sections,
  ].join('\n');
  console.log(`\n${report}`);
  if (options.out) fs.writeFileSync(options.out, `${report}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
