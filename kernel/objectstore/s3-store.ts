import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { notFound } from '../errors';
import {
  ByteRange,
  checkKey,
  checkRange,
  hashingTap,
  hashStream,
  Inspection,
  IO_CHUNK_BYTES,
  ObjectStore,
  rangeNotSatisfiable,
  sameObject,
  StoredObject,
} from './store';

/** S3 allows at most 10,000 parts per multipart upload; parts are at least 5 MiB except the last. */
const MAX_PARTS = 10_000;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** Presigned multipart parts are this large (the last one smaller); grows for very large files to stay within 10,000 parts. */
export const PRESIGNED_PART_BYTES = 64 * 1024 * 1024;
/** Parts uploaded in parallel: memory per upload is about partSize × this. */
const DEFAULT_QUEUE_SIZE = 4;

/** Objects up to this size are inspected with one GET (length, kept checksum and bytes); larger ones ask for a kept checksum first. */
const ONE_REQUEST_INSPECTION_BYTES = 1024 * 1024;

/** A request someone else sends (the agent): method, url and the headers the signature covers. */
export interface PresignedRequest {
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (`cds/eu-central-1`), without leading or trailing '/'. */
  prefix?: string;
  /** S3-compatible endpoint (`http://127.0.0.1:9000`); AWS's own endpoint for the region when left out. */
  endpoint?: string;
  /** Signing region; from the standard provider chain (AWS_REGION, profile) when left out. */
  region?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** Static keys (tests, S3-compatible servers); otherwise the standard provider chain (env, profile, instance/task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size; grows for very large files to stay within 10,000 parts. */
  partSizeBytes?: number;
  queueSize?: number;
  /** Use this client instead of building one (it is then not destroyed by close()). */
  client?: S3Client;
}

/**
 * CDS objects in an S3 bucket (AWS or S3-compatible). Uploads stream the file
 * through a SHA-256 tap into lib-storage's Upload: one PutObject for small
 * files, a multipart upload for large ones. Both are atomic in S3: the object
 * appears only when PutObject or CompleteMultipartUpload succeeds, and a
 * failed multipart upload is aborted, so no partial object is ever visible.
 * Each upload holds at most partSize × queueSize bytes in memory.
 */
export class S3Store implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  private readonly prefix: string;
  /** The SDK client, for what the interface leaves out (presigned playback URLs, listing in tools). */
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly partSizeBytes: number;
  private readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix) checkKey(this.prefix);
    this.partSizeBytes = options.partSizeBytes ?? DEFAULT_PART_BYTES;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}${options.endpoint ? `?endpoint=${options.endpoint}` : ''}`;
    this.ownsClient = !options.client;
    this.client = options.client ?? new S3Client(clientConfig(options));
  }

  async putFile(key: string, filePath: string): Promise<StoredObject> {
    const objectKey = this.objectKey(key);
    const { size } = await stat(filePath); // only to size the parts
    const tap = hashingTap();
    let sourceError: unknown = null;
    const source = createReadStream(filePath, { highWaterMark: IO_CHUNK_BYTES });
    source.once('error', (error) => (sourceError ??= error));
    const body = Readable.from(tap.stage(source));
    const upload = new Upload({
      client: this.client,
      partSize: Math.max(this.partSizeBytes, Math.ceil(size / MAX_PARTS)),
      queueSize: this.queueSize,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        // No ContentLength: each part's length is that of the bytes actually read, so a file that
        // changes while being read yields a consistent object (and the hash of what was stored).
        Body: body,
      },
    });
    try {
      await upload.done();
    } catch (error) {
      // When reading the file failed, that is the cause, even if aborting the multipart upload failed as well.
      throw sourceError ?? error;
    } finally {
      // A failed upload stops reading mid-file; this closes the file.
      body.destroy();
    }
    return tap.result();
  }

  /**
   * A presigned PutObject for one object of exactly `expected` bytes: the
   * signature covers the content length and the SHA-256 (as the
   * x-amz-checksum-sha256 header, which S3 checks against the bytes and keeps
   * with the object), so the holder of the URL can store only those bytes,
   * under this key, until it expires.
   */
  async presignPut(key: string, expected: StoredObject, expiresInSeconds: number): Promise<PresignedRequest> {
    const checksum = Buffer.from(expected.sha256, 'hex').toString('base64');
    const url = await getSignedUrl(
      this.client,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        ContentLength: expected.sizeBytes,
        ChecksumSHA256: checksum,
      }),
      {
        expiresIn: expiresInSeconds,
        signableHeaders: new Set(['content-length', 'x-amz-checksum-sha256']),
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      },
    );
    return { method: 'PUT', url, headers: { 'content-length': String(expected.sizeBytes), 'x-amz-checksum-sha256': checksum } };
  }

  /** Starts a multipart upload the server will complete; answers its id and the parts (offsets and sizes) of a file of `sizeBytes`. */
  async createMultipart(
    key: string,
    sizeBytes: number,
    partBytesAtLeast = PRESIGNED_PART_BYTES,
  ): Promise<{ uploadId: string; parts: { partNumber: number; offset: number; sizeBytes: number }[] }> {
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    if (!created.UploadId) throw new Error(`S3 gave no upload id for '${key}'`);
    // S3 wants parts of at least 5 MiB (all but the last).
    const partBytes = Math.max(5 * 1024 * 1024, partBytesAtLeast, Math.ceil(sizeBytes / MAX_PARTS));
    const parts = [];
    for (let offset = 0, n = 1; offset < sizeBytes || n === 1; offset += partBytes, n++) {
      parts.push({ partNumber: n, offset, sizeBytes: Math.min(partBytes, sizeBytes - offset) });
      if (sizeBytes === 0) break;
    }
    return { uploadId: created.UploadId, parts };
  }

  /** A presigned UploadPart of exactly `sizeBytes` (the signature covers the length). */
  async presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    sizeBytes: number,
    expiresInSeconds: number,
  ): Promise<PresignedRequest> {
    const url = await getSignedUrl(
      this.client,
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        UploadId: uploadId,
        PartNumber: partNumber,
        ContentLength: sizeBytes,
      }),
      { expiresIn: expiresInSeconds, signableHeaders: new Set(['content-length']) },
    );
    return { method: 'PUT', url, headers: { 'content-length': String(sizeBytes) } };
  }

  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
        },
      }),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId }))
      .catch(() => undefined);
  }

  async verify(key: string, expected: StoredObject): Promise<boolean> {
    return (await this.inspect(key, expected)) === 'verified';
  }

  /**
   * Size and SHA-256 of the stored object: the checksum S3 computed and keeps
   * (a whole-object SHA-256, as presigned PUTs store) when there is one,
   * otherwise (multipart uploads, servers that keep no checksums) by reading
   * and hashing it. A small object is one GET, which answers the length, any
   * kept checksum and the bytes at once; a large one is asked for its kept
   * checksum first (HEAD), and read only when there is none.
   */
  async inspect(key: string, expected: StoredObject): Promise<Inspection> {
    const request = { Bucket: this.bucket, Key: this.objectKey(key), ChecksumMode: 'ENABLED' as const };
    try {
      if (expected.sizeBytes > ONE_REQUEST_INSPECTION_BYTES) {
        const head = await this.client.send(new HeadObjectCommand(request));
        if ((head.ContentLength ?? 0) !== expected.sizeBytes) return 'differs';
        const kept = keptSha256(head);
        if (kept) return kept === expected.sha256.toLowerCase() ? 'verified' : 'differs';
      }
      const response = await this.client.send(new GetObjectCommand(request));
      const body = response.Body;
      if (!(body instanceof Readable)) throw new Error(`S3 GetObject for '${key}' returned no Node.js stream`);
      const kept = keptSha256(response);
      if ((response.ContentLength ?? 0) !== expected.sizeBytes || kept) {
        // Small (or the wrong size): read to the end so the connection is reused.
        if (expected.sizeBytes <= ONE_REQUEST_INSPECTION_BYTES) for await (const _ of body);
        else body.destroy();
        if ((response.ContentLength ?? 0) !== expected.sizeBytes) return 'differs';
        return kept === expected.sha256.toLowerCase() ? 'verified' : 'differs';
      }
      return sameObject(await hashStream(body), expected) ? 'verified' : 'differs';
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      throw error;
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { sizeBytes: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    try {
      return await this.get(key, range);
    } catch (error) {
      if (isNotFound(error)) throw notFound('CDS object', key);
      if (range && httpStatus(error) === 416) throw rangeNotSatisfiable(key, range);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private async get(key: string, range?: ByteRange): Promise<Readable> {
    const response = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }),
    );
    const body = response.Body;
    if (!(body instanceof Readable)) throw new Error(`S3 GetObject for '${key}' returned no Node.js stream`);
    if (!range) return body;
    // Some S3-compatible servers ignore a Range or serve a different one (s3rver reads `bytes=0-0` as
    // `bytes=0-`); cut what was asked for out of what was served.
    const served = parseContentRange(response.ContentRange);
    const servedStart = served?.start ?? 0;
    const sizeBytes = served?.sizeBytes ?? response.ContentLength;
    if (sizeBytes !== undefined && range.start >= sizeBytes) {
      body.destroy();
      throw rangeNotSatisfiable(key, range, sizeBytes);
    }
    const wantedEnd = sizeBytes === undefined ? range.end : Math.min(range.end, sizeBytes - 1);
    if (served && served.start === range.start && served.end === wantedEnd) return body;
    if (servedStart > range.start) {
      body.destroy();
      throw new Error(`S3 served bytes ${response.ContentRange} of '${key}' for range ${range.start}-${range.end}`);
    }
    return Readable.from(slice(body, range.start - servedStart, wantedEnd - range.start + 1));
  }

  private objectKey(key: string): string {
    checkKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}

function clientConfig(options: S3StoreOptions): S3ClientConfig {
  const config: S3ClientConfig = {};
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    // S3-compatible servers rarely know the SDK's newer default CRC checksums; send them only where S3 requires one.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (options.region) config.region = options.region;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.credentials) config.credentials = options.credentials;
  return config;
}

/** The whole-object SHA-256 S3 keeps with an object (hex), or null: none kept, or a checksum of part checksums. */
function keptSha256(response: { ChecksumSHA256?: string; ChecksumType?: string }): string | null {
  const kept = response.ChecksumSHA256;
  if (!kept || kept.includes('-') || response.ChecksumType === 'COMPOSITE') return null;
  return Buffer.from(kept, 'base64').toString('hex');
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return httpStatus(error) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** `bytes 0-15/16` → { start: 0, end: 15, sizeBytes: 16 }; null when absent or unparsable. */
function parseContentRange(header: string | undefined): { start: number; end: number; sizeBytes?: number } | null {
  const match = header?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), sizeBytes: match[3] === '*' ? undefined : Number(match[3]) };
}

/** Skips `skip` bytes, then passes `take` bytes and stops reading (which closes the source). */
async function* slice(source: AsyncIterable<Buffer>, skip: number, take: number): AsyncGenerator<Buffer> {
  if (take <= 0) return;
  for await (let chunk of source) {
    if (skip > 0) {
      if (chunk.length <= skip) {
        skip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
    }
    if (chunk.length >= take) {
      yield chunk.subarray(0, take);
      return;
    }
    take -= chunk.length;
    yield chunk;
  }
}
