import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DomainError } from '../kernel/errors';
import { DirectoryStore } from '../kernel/objectstore/directory-store';
import { RegionStores } from '../kernel/objectstore/regions';
import { S3Store } from '../kernel/objectstore/s3-store';
import { cdsObjectKey, checkKey, ObjectStore, StoredObject } from '../kernel/objectstore/store';

/**
 * The CDS object store: a directory and an S3 bucket behind one interface,
 * the S3 one against s3rver (an S3-compatible server, in-process on an
 * ephemeral loopback port), and the per-region mapping that keeps every PBX's
 * objects in its own region.
 */

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
// s3rver ships no type declarations; the shape above is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('@20minutes/s3rver') as S3rverClass;

// The SDK warns once per process that its releases after January 2027 need Node 22; noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BUCKET = 'cds-test';
const REGION_BUCKETS = ['cds-us-east-1', 'cds-eu-central-1'];
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MiB = 1024 * 1024;

let tmp: string;
let s3rver: S3rverInstance;
let endpoint: string;
let raw: S3Client;
let bigFile: string;
let bigFileHash: StoredObject;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cds-objectstore-'));
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(tmp, 's3rver'),
    configureBuckets: [BUCKET, ...REGION_BUCKETS].map((name) => ({ name })),
  });
  const address = await s3rver.run();
  endpoint = `http://127.0.0.1:${address.port}`;
  raw = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
  // The SDK lists a bucket as GET /bucket/ and s3rver signs that without the trailing slash.
  raw.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (request.path && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 's3rverBucketPath' },
  );

  // A 50 MB file, written and hashed chunk by chunk (the tests never hold it whole either).
  bigFile = path.join(tmp, 'big.bin');
  const hash = createHash('sha256');
  const out = fs.createWriteStream(bigFile);
  for (let written = 0; written < 50_000_000; written += 4 * MiB) {
    const chunk = randomBytes(Math.min(4 * MiB, 50_000_000 - written));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.on('error', reject).end(() => resolve()));
  bigFileHash = { sizeBytes: 50_000_000, sha256: hash.digest('hex') };
});

afterAll(async () => {
  raw?.destroy();
  await s3rver?.close();
  await rm(tmp, { recursive: true, force: true });
});

afterEach(() => jest.restoreAllMocks());

async function sourceFile(name: string, content: Buffer | string): Promise<string> {
  const file = path.join(tmp, 'sources', name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function hashOf(stream: NodeJS.ReadableStream): Promise<StoredObject> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof DomainError ? error.code : `not a DomainError: ${String(error)}`;
  }
  return 'resolved';
}

/** A source that delivers `bytes` bytes and then fails, as a disk or network read would mid-file. */
function failingSource(bytes: number): fs.ReadStream {
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(new Error('simulated read error mid-file'));
        return;
      }
      const n = Math.min(MiB, bytes - sent);
      sent += n;
      this.push(Buffer.alloc(n, 0x5a));
    },
  });
  return stream as unknown as fs.ReadStream;
}

/** Every file under a directory, as '/'-separated paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(dir, path.join(e.parentPath ?? e.path, e.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

async function keysInBucket(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

const BAD_KEYS = [
  '',
  '/abs/path',
  '../escape',
  'a/../../escape',
  'a/..',
  'a\\b',
  'a\0b',
  'a//b',
  './a',
  'a/./b',
  'C:/windows',
  'x'.repeat(1025),
];

interface Flavour {
  name: string;
  make(): Promise<ObjectStore>;
  /** Overwrites the stored bytes behind the store's back. */
  tamper(store: ObjectStore, key: string, content: Buffer): Promise<void>;
  /** What the store holds, read behind its back, for "nothing was written" checks. */
  contents(store: ObjectStore): Promise<string[]>;
  /** Makes the next putFile fail after `bytes` bytes, as a full disk or a failing read would; says how, and how to undo. */
  failMidFile(bytes: number): Promise<{ message: string; undo(): void }>;
}

const directoryFlavour: Flavour = {
  name: 'directory store',
  make: async () => new DirectoryStore(await mkdtemp(path.join(tmp, 'dir-'))),
  tamper: async (store, key, content) => writeFile(path.join((store as DirectoryStore).root, key), content),
  contents: async (store) => filesUnder((store as DirectoryStore).root),
  // The directory store has the kernel copy the file: the copy stops part-way with a full disk.
  failMidFile: async (bytes) => {
    const spy = jest.spyOn(fs.promises, 'copyFile').mockImplementationOnce(async (source, destination) => {
      const partial = Buffer.alloc(bytes);
      const input = await fs.promises.open(source, 'r');
      await input.read(partial, 0, bytes, 0);
      await input.close();
      await fs.promises.writeFile(destination, partial, { flag: 'wx' });
      throw Object.assign(new Error('ENOSPC: no space left on device, copyfile (simulated)'), { code: 'ENOSPC' });
    });
    return { message: 'no space left on device', undo: () => spy.mockRestore() };
  },
};

let prefixes = 0;
/** The S3 commands the store under test sent, by name, to see single-part and multipart uploads happen. */
const sentCommands: string[] = [];
const s3Flavour: Flavour = {
  name: 'S3 store (s3rver)',
  make: async () => {
    const store = new S3Store({
      bucket: BUCKET,
      prefix: `run-${++prefixes}`,
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: CREDENTIALS,
    });
    sentCommands.length = 0;
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        sentCommands.push(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    return store;
  },
  tamper: async (store, key, content) => {
    const prefix = store.location.match(/^s3:\/\/[^/?]+\/([^?]*)/)?.[1];
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${key}`, Body: content }));
  },
  contents: async (store) => {
    const prefix = store.location.match(/^s3:\/\/[^/?]+\/([^?]*)/)?.[1];
    return (await keysInBucket(BUCKET)).filter((k) => k.startsWith(`${prefix}/`)).map((k) => k.slice(prefix!.length + 1));
  },
  // The S3 store streams its source into the upload: the read fails part-way.
  failMidFile: async (bytes) => {
    const spy = jest.spyOn(fs, 'createReadStream').mockImplementationOnce(() => failingSource(bytes));
    return { message: 'simulated read error mid-file', undo: () => spy.mockRestore() };
  },
};

describe.each([directoryFlavour, s3Flavour])('$name', (flavour) => {
  let store: ObjectStore;
  beforeEach(async () => {
    store = await flavour.make();
  });
  afterEach(async () => {
    await store.close?.();
  });

  it('puts a file, verifies it, reports its size, reads it back and deletes it', async () => {
    const content = 'call recording bytes\n'.repeat(1000);
    const file = await sourceFile('rec.wav', content);
    const key = cdsObjectKey('22110001d072', 'CALL_RECORDINGS', '2024/01/rec.wav');

    const stored = await store.putFile(key, file);
    expect(stored).toEqual({ sizeBytes: Buffer.byteLength(content), sha256: sha256(content) });
    if (store instanceof S3Store) expect(sentCommands).toEqual(['PutObject']);
    expect(await store.verify(key, stored)).toBe(true);
    expect(await store.verify(key, { ...stored, sha256: stored.sha256.toUpperCase() })).toBe(true);
    expect(await store.stat(key)).toEqual({ sizeBytes: stored.sizeBytes });
    expect((await readAll(await store.read(key))).toString()).toBe(content);
    expect(await flavour.contents(store)).toEqual([key]);

    await store.delete(key);
    expect(await store.stat(key)).toBeNull();
    expect(await store.verify(key, stored)).toBe(false);
    expect(await codeOf(store.read(key))).toBe('NOT_FOUND');
    await store.delete(key); // deleting a missing object is fine
  });

  it('reads inclusive byte ranges, clamps past the end, refuses a range that starts past it', async () => {
    const content = Buffer.from('0123456789abcdef');
    const key = '22110001d072/BACKUPS/range.bin';
    await store.putFile(key, await sourceFile('range.bin', content));

    expect((await readAll(await store.read(key, { start: 2, end: 5 }))).toString()).toBe('2345');
    expect((await readAll(await store.read(key, { start: 0, end: 0 }))).toString()).toBe('0');
    expect((await readAll(await store.read(key, { start: 10, end: 1000 }))).toString()).toBe('abcdef');
    expect(await codeOf(store.read(key, { start: 16, end: 20 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.read(key, { start: 5, end: 2 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.read(key, { start: -1, end: 2 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.read('22110001d072/BACKUPS/missing.bin', { start: 0, end: 1 }))).toBe('NOT_FOUND');
  });

  it('stores an empty file', async () => {
    const key = '22110001d072/BACKUPS/empty';
    const stored = await store.putFile(key, await sourceFile('empty', ''));
    expect(stored).toEqual({ sizeBytes: 0, sha256: sha256('') });
    expect(await store.verify(key, stored)).toBe(true);
    expect((await readAll(await store.read(key))).length).toBe(0);
  });

  it('verify re-reads the stored object: false when tampered, resized, missing or expected differently', async () => {
    const content = randomBytes(64 * 1024);
    const key = '22110001d072/CALL_RECORDINGS/tamper.wav';
    const stored = await store.putFile(key, await sourceFile('tamper.wav', content));
    expect(await store.verify(key, stored)).toBe(true);

    const flipped = Buffer.from(content);
    flipped[1000] ^= 0xff; // same size, one byte different
    await flavour.tamper(store, key, flipped);
    expect(await store.stat(key)).toEqual({ sizeBytes: content.length });
    expect(await store.verify(key, stored)).toBe(false);

    await flavour.tamper(store, key, content.subarray(1));
    expect(await store.verify(key, stored)).toBe(false);

    await flavour.tamper(store, key, content);
    expect(await store.verify(key, stored)).toBe(true);
    expect(await store.verify(key, { sizeBytes: stored.sizeBytes, sha256: sha256('something else') })).toBe(false);
    expect(await store.verify('22110001d072/CALL_RECORDINGS/never-written.wav', stored)).toBe(false);
  });

  it('a write that fails mid-file leaves nothing under the key, and an earlier object intact', async () => {
    const key = '22110001d072/BACKUPS/2024-01-01.tar';
    const file = await sourceFile('backup.tar', randomBytes(20 * MiB));

    // Past the first 8 MiB part, so the S3 store is inside a multipart upload when the read fails.
    let failure = await flavour.failMidFile(12 * MiB);
    await expect(store.putFile(key, file)).rejects.toThrow(failure.message);
    failure.undo();
    if (store instanceof S3Store) {
      expect(sentCommands).toContain('CreateMultipartUpload');
      expect(sentCommands).not.toContain('CompleteMultipartUpload');
    }
    expect(await store.stat(key)).toBeNull();
    expect(await codeOf(store.read(key))).toBe('NOT_FOUND');
    expect(await flavour.contents(store)).toEqual([]);

    const first = await store.putFile(key, file);
    failure = await flavour.failMidFile(12 * MiB);
    await expect(store.putFile(key, file)).rejects.toThrow(failure.message);
    failure.undo();
    expect(await store.verify(key, first)).toBe(true);
    expect(await flavour.contents(store)).toEqual([key]);
  });

  it('a source that cannot be read to its end fails the write and leaves nothing behind', async () => {
    const key = '22110001d072/BACKUPS/unreadable.tar';
    const file = await sourceFile('unreadable.tar', randomBytes(3 * MiB));
    // The hashing read fails in the directory store, the streaming read in the S3 store.
    const probe = await fs.promises.open(file, 'r');
    const prototype = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<{ bytesRead: number }> };
    await probe.close();
    const original = prototype.read;
    let reads = 0;
    const handleRead = jest.spyOn(prototype, 'read').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (++reads > 1) throw Object.assign(new Error('EIO: i/o error, read (simulated)'), { code: 'EIO' });
      return original.apply(this, args);
    });
    const streamRead = jest.spyOn(fs, 'createReadStream').mockImplementationOnce(() => failingSource(MiB));
    await expect(store.putFile(key, file)).rejects.toThrow(/i\/o error|simulated read error/);
    handleRead.mockRestore();
    streamRead.mockRestore();
    expect(await store.stat(key)).toBeNull();
    expect(await flavour.contents(store)).toEqual([]);
  });

  it('a missing source file fails the write and leaves nothing behind', async () => {
    const key = '22110001d072/BACKUPS/missing-source.tar';
    await expect(store.putFile(key, path.join(tmp, 'no-such-file.tar'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.stat(key)).toBeNull();
    expect(await flavour.contents(store)).toEqual([]);
  });

  it('refuses keys that could escape the store or mean different things in a directory and a bucket', async () => {
    const file = await sourceFile('k.bin', 'x');
    for (const key of BAD_KEYS) {
      expect(await codeOf(store.putFile(key, file))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.stat(key))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.read(key))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.verify(key, { sizeBytes: 1, sha256: sha256('x') }))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.delete(key))).toBe('BAD_USER_INPUT');
    }
    expect(await flavour.contents(store)).toEqual([]);
  });

  it('streams a 50 MB file in and out', async () => {
    const key = '22110001d072/BACKUPS/big.bin';
    const stored = await store.putFile(key, bigFile);
    expect(stored).toEqual(bigFileHash);
    if (store instanceof S3Store) {
      // 50 MB in 8 MiB parts.
      expect(sentCommands.filter((c) => c === 'UploadPart')).toHaveLength(6);
      expect(sentCommands).toContain('CompleteMultipartUpload');
    }
    expect(await store.verify(key, bigFileHash)).toBe(true);
    expect(await store.stat(key)).toEqual({ sizeBytes: 50_000_000 });
    expect(await hashOf(await store.read(key))).toEqual(bigFileHash);
    const tail = await readAll(await store.read(key, { start: 49_999_990, end: 60_000_000 }));
    const expectedTail = Buffer.alloc(10);
    const fd = await fs.promises.open(bigFile, 'r');
    await fd.read(expectedTail, 0, 10, 49_999_990);
    await fd.close();
    expect(tail).toEqual(expectedTail);
  });
});

describe("key rules and the directory store's staging area", () => {
  it('accepts CDS keys and builds them from serial, category and relative path', () => {
    expect(checkKey('22110001d072/CALL_RECORDINGS/2024/01/rec 1 (copy).wav')).toBe('22110001d072/CALL_RECORDINGS/2024/01/rec 1 (copy).wav');
    expect(cdsObjectKey('22110001d072', 'BACKUPS', 'daily/.config/x..y')).toBe('22110001d072/BACKUPS/daily/.config/x..y');
    expect(() => cdsObjectKey('22110001d072', 'BACKUPS', '../other-pbx/x')).toThrow(DomainError);
    expect(() => cdsObjectKey('2211/0001', 'BACKUPS', 'x')).toThrow(DomainError);
    for (const key of BAD_KEYS) expect(() => checkKey(key)).toThrow(DomainError);
  });

  it('the directory store keeps its staging area out of reach of keys', async () => {
    const store = new DirectoryStore(await mkdtemp(path.join(tmp, 'dir-')));
    expect(await codeOf(store.stat('.cds-staging/x.part'))).toBe('BAD_USER_INPUT');
  });

  it('what a writer that died mid-file left in staging is never an object, and is swept after a day', async () => {
    const root = await mkdtemp(path.join(tmp, 'dir-'));
    const staging = path.join(root, '.cds-staging');
    await mkdir(staging);
    const old = path.join(staging, 'died-yesterday.part');
    const recent = path.join(staging, 'still-writing.part');
    await writeFile(old, 'half a file');
    await writeFile(recent, 'half a file');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);

    const store = new DirectoryStore(root);
    await store.putFile('22110001d072/BACKUPS/a.tar', await sourceFile('a.tar', 'a'));
    expect(await filesUnder(root)).toEqual(['.cds-staging/still-writing.part', '22110001d072/BACKUPS/a.tar']);
  });
});

describe('RegionStores', () => {
  const PBX_EU = '22110001d072';
  const PBX_US = '22110002a001';

  async function putFor(stores: RegionStores, region: string, serial: string, names: string[]): Promise<string[]> {
    const store = stores.forRegion(region);
    const keys: string[] = [];
    for (const name of names) {
      const key = cdsObjectKey(serial, 'CALL_RECORDINGS', name);
      const stored = await store.putFile(key, await sourceFile(`${serial}-${name}`, `${serial}:${name}`));
      expect(await store.verify(key, stored)).toBe(true);
      keys.push(key);
    }
    return keys.sort();
  }

  it('two regions, a directory and a bucket: no object crosses', async () => {
    const euDir = path.join(tmp, 'regions-a', 'eu');
    const stores = RegionStores.fromConfig(
      `eu-central-1=file:${euDir},` +
        `us-east-1=s3://cds-us-east-1/objects?endpoint=${endpoint}&forcePathStyle=true` +
        `&accessKeyId=${CREDENTIALS.accessKeyId}&secretAccessKey=${CREDENTIALS.secretAccessKey}`,
    );
    try {
      expect(stores.regions()).toEqual(['eu-central-1', 'us-east-1']);
      expect(stores.forRegion('eu-central-1').location).toBe(`file:${euDir}`);
      expect(stores.forRegion('us-east-1').location).toBe(`s3://cds-us-east-1/objects?endpoint=${endpoint}`);
      expect(stores.forRegion('eu-central-1')).toBe(stores.forRegion('eu-central-1'));

      const euKeys = await putFor(stores, 'eu-central-1', PBX_EU, ['a.wav', 'b.wav']);
      const usKeys = await putFor(stores, 'us-east-1', PBX_US, ['c.wav']);

      expect(await filesUnder(euDir)).toEqual(euKeys);
      expect(await keysInBucket('cds-us-east-1')).toEqual(usKeys.map((k) => `objects/${k}`));
      expect(await keysInBucket('cds-eu-central-1')).toEqual([]);
      // And the us-east-1 object really is the us PBX's file.
      const body = (await raw.send(new GetObjectCommand({ Bucket: 'cds-us-east-1', Key: `objects/${usKeys[0]}` }))).Body;
      expect((await readAll(body as Readable)).toString()).toBe(`${PBX_US}:c.wav`);
    } finally {
      await stores.close();
    }
  });

  it('two directories from one {region} template: no object crosses', async () => {
    const base = path.join(tmp, 'regions-b');
    const stores = RegionStores.fromConfig('*=file:cds/{region}', { baseDir: base });
    try {
      expect(stores.regions()).toEqual(['*']);
      expect(stores.has('eu-central-1')).toBe(true);
      const euKeys = await putFor(stores, 'eu-central-1', PBX_EU, ['a.wav', 'nested/b.wav']);
      const usKeys = await putFor(stores, 'us-east-1', PBX_US, ['c.wav']);
      expect(await readdir(path.join(base, 'cds'))).toEqual(['eu-central-1', 'us-east-1']);
      expect(await filesUnder(path.join(base, 'cds', 'eu-central-1'))).toEqual(euKeys);
      expect(await filesUnder(path.join(base, 'cds', 'us-east-1'))).toEqual(usKeys);
    } finally {
      await stores.close();
    }
  });

  it('a region without a store refuses with CONFLICT and writes nothing anywhere', async () => {
    const base = path.join(tmp, 'regions-c');
    await mkdir(base, { recursive: true });
    const stores = RegionStores.fromConfig('us-east-1=file:us,eu-central-1=file:eu', { baseDir: base });
    try {
      expect(stores.has('eu-west-9')).toBe(false);
      let error: unknown;
      try {
        stores.forRegion('eu-west-9');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('CONFLICT');
      expect((error as DomainError).message).toBe(
        'No CDS store is configured for region eu-west-9; the migration cannot start (configured: eu-central-1, us-east-1)',
      );
      expect(await codeOf(Promise.resolve().then(() => stores.forRegion('')))).toBe('CONFLICT');
      expect(await codeOf(Promise.resolve().then(() => stores.forRegion('../us-east-1')))).toBe('CONFLICT');
      expect(await filesUnder(base)).toEqual([]);

      const none = RegionStores.fromConfig('');
      expect(() => none.forRegion('eu-central-1')).toThrow(
        'No CDS store is configured for region eu-central-1; the migration cannot start (configured: none)',
      );
    } finally {
      await stores.close();
    }
  });

  it('refuses configurations that are malformed or let regions share a store', () => {
    const bad: [string, RegExp][] = [
      ['eu-central-1', /must look like region=url/],
      ['eu-central-1=ftp://x', /must start with file: or s3:\/\//],
      ['EU_Central=file:/x', /not a region name/],
      ['eu-central-1=file:/a,eu-central-1=file:/b', /appears twice/],
      ['*=file:/srv/cds', /must contain \{region\}/],
      ['eu-central-1=file:/srv/cds,us-east-1=file:/srv/cds/us', /would share/],
      ['eu-central-1=s3://cds,us-east-1=s3://cds', /would share bucket cds/],
      ['eu-central-1=s3://cds?endpont=http://x', /unknown parameter 'endpont'/],
      ['eu-central-1=s3://cds?forcePathStyle=yes', /forcePathStyle must be true or false/],
      ['eu-central-1=s3://cds?accessKeyId=k', /come together/],
      ['eu-central-1=s3://cds?endpoint=127.0.0.1:9000', /endpoint must be an http/],
    ];
    for (const [spec, message] of bad) expect(() => RegionStores.fromConfig(spec)).toThrow(message);

    // Secrets stay out of messages.
    expect(() => RegionStores.fromConfig('eu-central-1=s3://cds?accessKeyId=k&secretAccessKey=TOPSECRET&bogus=1')).toThrow(
      /secretAccessKey=\*\*\*/,
    );
    try {
      RegionStores.fromConfig('eu-central-1=s3://cds?accessKeyId=k&secretAccessKey=TOPSECRET&bogus=1');
    } catch (e) {
      expect(String(e)).not.toContain('TOPSECRET');
    }
  });

  it('a region whose {region} store would overlap a configured one is refused', () => {
    const stores = RegionStores.fromConfig('*=file:/srv/cds/{region},eu-central-1=file:/srv/cds/us-east-1');
    expect(stores.regions()).toEqual(['eu-central-1', '*']);
    expect(() => stores.forRegion('us-east-1')).toThrow(/would share directory/);
    expect(stores.forRegion('eu-central-1').location).toBe('file:/srv/cds/us-east-1');
  });

  it('reads CDS_STORES, with a directory per region under .data/cds by default', () => {
    const base = path.join(tmp, 'regions-d');
    const fromDefault = RegionStores.fromEnv({}, { baseDir: base });
    expect(fromDefault.forRegion('eu-central-1').location).toBe(`file:${path.join(base, '.data/cds/eu-central-1')}`);
    const fromEnv = RegionStores.fromEnv({ CDS_STORES: 'us-east-1=file:///srv/cds-us' }, { baseDir: base });
    expect(fromEnv.forRegion('us-east-1').location).toBe('file:/srv/cds-us');
    expect(fromEnv.has('eu-central-1')).toBe(false);
  });
});
