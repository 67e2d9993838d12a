import { constants, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mapLimited } from '../kernel/map-limited';
import { GraphQLRequestError, whileUnderWay } from './api';
import { hashSourceFile } from './hash';
import { describeIoError, SourceFileError, StoreError } from './errors';
import { sendBody } from './http-put';
import { CdsApi, DeclaredItem, UploadGrant } from './operations';
import { Retrier, TransientError, transportCause } from './retry';
import { SourceItem } from './scan';

/** A source file, hashed: what the agent declares for its grant. */
export interface PreparedItem {
  item: SourceItem;
  declared: DeclaredItem;
}

/** A file whose bytes are in CDS under the key CDS chose (CDS still verifies it before it counts). */
export interface UploadedItem extends PreparedItem {
  objectKey: string;
  /** false when the key already held the object (an earlier run uploaded it and never reported it) */
  stored: boolean;
  /** what the upload endpoint signed for the object it placed (gateway/uploads.ts), for the report */
  receipt: string | null;
}

export interface UploaderOptions {
  api: CdsApi;
  /** the gateway's GraphQL URL: CDS_GATEWAY grants name a path on the same origin */
  gatewayUrl: string;
  authorization: string;
  migrationId: string;
  runToken: string;
  retrier: Retrier;
}

/** Objects per upload request to the gateway, and bytes: many small recordings in one request, a large file alone. */
const GATEWAY_BODY_ITEMS = 250;
const GATEWAY_BODY_BYTES = 32 * 1024 * 1024;
/** Requests in flight: gateway bodies, and presigned S3 PUTs (one object or part each). */
const GATEWAY_REQUESTS_AT_ONCE = 4;
const S3_REQUESTS_AT_ONCE = 16;
/** A file that keeps changing is tried this often (hashed anew each time) before the migration fails naming it. */
const ATTEMPTS = 3;
const REQUEST_IDLE_TIMEOUT_MS = 120_000;

type Outcome = { kind: 'ok'; stored: boolean; receipt?: string } | { kind: 'changed' } | { kind: 'regrant'; why: string };

/** Hashes a source file for its grant; a file that cannot be read fails the migration naming it. */
export async function prepare(item: SourceItem): Promise<PreparedItem> {
  if (item.unreadable) throw new SourceFileError(item.sourcePath, item.unreadable);
  const hashed = await hashSourceFile(item);
  return { item, declared: { category: item.category, sourcePath: item.sourcePath, sizeBytes: hashed.sizeBytes, sha256: hashed.sha256 } };
}

/**
 * Puts files into CDS with upload grants (issue 9): asks CDS for a batch of
 * grants, sends the bytes as each grant says (to the gateway's upload
 * endpoint, or presigned to S3), and answers the files now stored. A file
 * whose bytes no longer match what was declared (it changed while read) is
 * hashed again and sent under a new grant; an expired or used grant is
 * replaced. The agent never holds a store credential.
 */
export class Uploader {
  constructor(private readonly options: UploaderOptions) {}

  async upload(batch: PreparedItem[]): Promise<UploadedItem[]> {
    const done: UploadedItem[] = [];
    let pending = batch;
    for (let attempt = 1; pending.length; attempt++) {
      if (attempt > ATTEMPTS) {
        const first = pending[0];
        throw new StoreError(
          first.item.sourcePath,
          `could not be put into CDS after ${ATTEMPTS} attempts (it kept changing while it was read, or its grants kept running out); it was not counted`,
        );
      }
      const grants = await this.options.api.grants(
        this.options.migrationId,
        this.options.runToken,
        pending.map((p) => p.declared),
      );
      const outcomes = await this.send(pending, grants);
      const next: PreparedItem[] = [];
      for (const [index, prepared] of pending.entries()) {
        const outcome = outcomes[index];
        if (outcome.kind === 'ok')
          done.push({ ...prepared, objectKey: grants[index].objectKey, stored: outcome.stored, receipt: outcome.receipt ?? null });
        else if (outcome.kind === 'changed') next.push(await prepare(prepared.item));
        else next.push(prepared);
      }
      pending = next;
    }
    return done;
  }

  private async send(pending: PreparedItem[], grants: UploadGrant[]): Promise<Outcome[]> {
    const outcomes = new Array<Outcome>(pending.length);
    const gateway: number[] = [];
    const direct: number[] = [];
    grants.forEach((grant, index) => (grant.transport === 'CDS_GATEWAY' ? gateway : direct).push(index));
    const bodies: number[][] = [];
    let body: number[] = [];
    let bytes = 0;
    for (const index of gateway) {
      const size = grants[index].sizeBytes;
      if (body.length && (body.length >= GATEWAY_BODY_ITEMS || bytes + size > GATEWAY_BODY_BYTES)) {
        bodies.push(body);
        body = [];
        bytes = 0;
      }
      body.push(index);
      bytes += size;
    }
    if (body.length) bodies.push(body);
    await Promise.all([
      mapLimited(bodies, GATEWAY_REQUESTS_AT_ONCE, async (indexes) => {
        const answers = await this.sendToGateway(
          indexes.map((i) => pending[i]),
          indexes.map((i) => grants[i]),
        );
        indexes.forEach((i, n) => (outcomes[i] = answers[n]));
      }),
      mapLimited(direct, S3_REQUESTS_AT_ONCE, async (index) => {
        outcomes[index] =
          grants[index].transport === 'S3_PUT'
            ? await this.putToS3(pending[index], grants[index])
            : await this.multipartToS3(pending[index], grants[index]);
      }),
    ]);
    return outcomes;
  }

  /** One request to the gateway's upload endpoint: the manifest, then each object's bytes (format in gateway/uploads.ts). */
  private async sendToGateway(items: PreparedItem[], grants: UploadGrant[]): Promise<Outcome[]> {
    const url = new URL(grants[0].url ?? '/api/v1/cds/uploads', this.options.gatewayUrl).toString();
    const manifest = Buffer.from(JSON.stringify({ grants: grants.map((g) => g.token) }));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(manifest.length, 0);
    const length = 4 + manifest.length + grants.reduce((n, g) => n + g.sizeBytes, 0);
    return this.options.retrier.run(
      async () => {
        const stream = Readable.from(
          (async function* () {
            yield head;
            yield manifest;
            for (const [index, item] of items.entries()) yield* fileBytes(item, 0, grants[index].sizeBytes);
          })(),
        );
        const answer = await this.request(
          'POST',
          url,
          { 'content-type': 'application/octet-stream', 'content-length': String(length), authorization: this.options.authorization },
          stream,
        );
        type Answer = { results?: { objectKey: string; status: string; reason?: string; receipt?: string }[]; reason?: string };
        let parsed: Answer | null;
        try {
          parsed = JSON.parse(answer.body) as Answer;
        } catch {
          parsed = null;
        }
        if (parsed?.results && parsed.results.length === grants.length) {
          return parsed.results.map((r): Outcome => {
            if (r.status === 'STORED' || r.status === 'ALREADY_STORED')
              return { kind: 'ok', stored: r.status === 'STORED', receipt: typeof r.receipt === 'string' ? r.receipt : undefined };
            if (r.status === 'MISMATCH') return { kind: 'changed' };
            return { kind: 'regrant', why: r.reason ?? r.status };
          });
        }
        if (answer.status === 429 || answer.status >= 500) throw new TransientError(`the upload endpoint answered HTTP ${answer.status}`);
        if (answer.status === 413 || answer.status === 400) {
          // The body did not match the declared sizes: a file changed size since it was hashed.
          return grants.map((): Outcome => ({ kind: 'changed' }));
        }
        throw new StoreError(
          items[0].item.sourcePath,
          `the CDS upload endpoint refused the upload (HTTP ${answer.status}): ${parsed?.reason ?? answer.body.slice(0, 300)}`,
        );
      },
      (cause) => new StoreError(items[0].item.sourcePath, `could not be uploaded: ${cause}`),
    );
  }

  private async putToS3(prepared: PreparedItem, grant: UploadGrant): Promise<Outcome> {
    return this.options.retrier.run(
      async () => {
        const answer = await this.request(
          'PUT',
          grant.url!,
          headersOf(grant.headers),
          Readable.from(fileBytes(prepared, 0, grant.sizeBytes)),
        );
        return s3Outcome(answer.status, answer.body);
      },
      (cause) => new StoreError(prepared.item.sourcePath, `could not be uploaded: ${cause}`),
    );
  }

  private async multipartToS3(prepared: PreparedItem, grant: UploadGrant): Promise<Outcome> {
    const etags: { partNumber: number; etag: string }[] = [];
    let failed: Outcome | null = null;
    await mapLimited(grant.parts, 4, async (part) => {
      if (failed) return;
      const outcome = await this.options.retrier.run(
        async () => {
          const answer = await this.request(
            'PUT',
            part.url,
            headersOf(part.headers),
            Readable.from(fileBytes(prepared, part.offset, part.sizeBytes)),
          );
          const result = s3Outcome(answer.status, answer.body);
          if (result.kind === 'ok') etags.push({ partNumber: part.partNumber, etag: String(answer.headers.etag ?? '') });
          return result;
        },
        (cause) => new StoreError(prepared.item.sourcePath, `could not be uploaded: ${cause}`),
      );
      if (outcome.kind !== 'ok') failed ??= outcome;
    });
    if (failed) return failed;
    try {
      await whileUnderWay('completing', () =>
        this.options.api.completeMultipart(this.options.migrationId, this.options.runToken, grant.token, etags),
      );
    } catch (error) {
      if (error instanceof GraphQLRequestError && (error.has('FORBIDDEN') || error.has('CONFLICT')))
        return { kind: 'regrant', why: error.message };
      throw error;
    }
    return { kind: 'ok', stored: true };
  }

  private async request(method: string, url: string, headers: Record<string, string>, body: Readable) {
    try {
      return await sendBody(method, url, headers, body, REQUEST_IDLE_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof SourceFileError) throw error;
      throw new TransientError(transportCause(error));
    }
  }
}

function headersOf(list: { name: string; value: string }[]): Record<string, string> {
  return Object.fromEntries(list.map((h) => [h.name, h.value]));
}

function s3Outcome(status: number, body: string): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok', stored: true };
  if (status === 429 || status >= 500) throw new TransientError(`the CDS store answered HTTP ${status}`);
  // S3 checked the bytes against the signed SHA-256 (or length) and refused them: the file changed since it was hashed.
  if (/BadDigest|XAmzContentSHA256Mismatch|IncompleteBody|InvalidDigest/.test(body)) return { kind: 'changed' };
  // Expired or otherwise refused signature: a new grant.
  return { kind: 'regrant', why: `the CDS store answered HTTP ${status}` };
}

/**
 * `size` bytes of a source file from `offset`, opened without following a
 * symbolic link; a file that ends early (it shrank) is a SourceFileError,
 * so that the request fails and the file is hashed anew.
 */
async function* fileBytes(prepared: PreparedItem, offset: number, size: number): AsyncGenerator<Buffer> {
  if (size === 0) return;
  const stream = createReadStream(prepared.item.absPath, {
    // fs accepts numeric flags; its types say string
    flags: (constants.O_RDONLY | constants.O_NOFOLLOW) as unknown as string,
    start: offset,
    end: offset + size - 1,
    highWaterMark: Math.min(1024 * 1024, Math.max(64 * 1024, size)),
  });
  let sent = 0;
  try {
    for await (const chunk of stream) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (error) {
    throw new SourceFileError(prepared.item.sourcePath, `could not be read: ${describeIoError(error)}`);
  }
  if (sent < size) throw new SourceFileError(prepared.item.sourcePath, 'it became shorter while it was uploaded');
}
