import { createSecretKey, KeyObject } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import jwt from 'jsonwebtoken';
import { DomainError } from '../kernel/errors';
import { Route } from '../kernel/http';
import { isKeyOfPbx, ObjectStore, StoredObject } from '../kernel/objectstore/store';
import { PLAYBACK_PATH_PATTERN, verifyPlaybackGrant } from '../subgraphs/recordings/playback-link';
import { callerClaims, executeAsCaller, GatewayCallDeps, GraphQLCallResult, httpStatusOf, sendRestError } from './rest-recordings';
import { componentLogger } from '../kernel/log';

const log = componentLogger('playback');

/**
 * Playing a recording: `GET /api/v1/pbx/recordings/<id>/audio` streams the
 * recording's file from the CDS object store of its PBX's region, with HTTP
 * Range requests (what an <audio> element sends to seek).
 *
 * Who may play is decided by the subgraphs, not here: the route first runs a
 * GraphQL operation through the gateway as the caller (the recording, its
 * object key, its PBX's CDS region, and its `playbackUrl`, which is FORBIDDEN
 * to analysts), and only then reads the store.
 *
 * Credentials, either:
 * - `Authorization: Bearer <JWT>`: the operation runs with that token; or
 * - a signed link (`?pbx=&exp=&sig=`, as `Recording.playbackUrl` gives out),
 *   for an <audio> element, which cannot send headers. The signature says the
 *   recordings subgraph handed this link to someone allowed to hear this
 *   recording, until `exp`. The operation then runs with a 60-second token of
 *   the narrowest role that can read the recording, its own PBX's (`pbx`
 *   role, `pbx` claim = the serial the link was signed for): the subgraphs
 *   still check that the recording is that PBX's and what it may read.
 *
 * The local copy of a recording lives on the PBX and cannot be served from
 * here: a recording still LOCAL answers 409.
 */

export interface PlaybackDeps extends GatewayCallDeps {
  /** The CDS store of a region (kernel/objectstore RegionStores.fromConfig(CDS_STORES) satisfies this). */
  stores: { forRegion(region: string): ObjectStore };
  /**
   * Enables signed links. `linkSecret` checks them (the recordings subgraph
   * signs with the same: PLAYBACK_URL_SECRET, else JWT_SECRET); `jwtSecret`
   * is the HS256 secret the subgraphs verify tokens with, to sign the short
   * PBX token a link's lookup runs with. Without it only bearer tokens play.
   */
  signedLinks?: { linkSecret: string; jwtSecret: string } | null;
}

/** How long the token behind a signed link lives: one lookup. */
const LINK_TOKEN_SECONDS = 60;

const CONTENT_TYPES: Record<string, string> = { '.wav': 'audio/wav', '.mp3': 'audio/mpeg' };

export const contentTypeOf = (key: string) => CONTENT_TYPES[posix.extname(key).toLowerCase()] ?? 'application/octet-stream';

export const PLAYBACK_QUERY = `query RecordingPlayback($id: ID!) {
  recording(id: $id) {
    id
    objectKey
    sha256
    sizeBytes
    location
    playbackUrl
    pbx { id cds { region } }
  }
}`;

interface PlaybackLookup {
  recording: {
    id: string;
    objectKey: string | null;
    sha256: string | null;
    sizeBytes: number;
    location: 'LOCAL' | 'CDS_WITH_LOCAL_COPY' | 'CDS';
    playbackUrl: string | null;
    pbx: { id: string; cds: { region: string | null } | null } | null;
  } | null;
}

export type RangeRequest = { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range against an object of `size` bytes (RFC 9110 §14.2):
 * `a-b`, `a-` and the suffix `-n`; `end` past the last byte is clamped. What
 * the route may ignore it does (serving the whole object is always allowed):
 * other units, malformed ranges, and several ranges at once (no multipart).
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match || match[1].includes(',')) return { kind: 'whole' };
  const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(match[1]);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'whole' };
  const [first, last] = [spec[1] === '' ? null : Number(spec[1]), spec[2] === '' ? null : Number(spec[2])];
  if ((first !== null && !Number.isSafeInteger(first)) || (last !== null && !Number.isSafeInteger(last))) return { kind: 'whole' };
  if (first === null) {
    // Suffix: the last n bytes.
    if (last === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== null && last < first) return { kind: 'whole' };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start: first, end: Math.min(last ?? size - 1, size - 1) };
}

/** The Authorization a request's lookup runs with, or the refusal to send. */
type Credentials = { authorization: string } | { status: number; reason: string };

async function credentialsOf(
  deps: PlaybackDeps,
  mintKey: KeyObject | null,
  req: IncomingMessage,
  url: URL,
  recordingId: string,
): Promise<Credentials> {
  const bearer = req.headers.authorization?.trim();
  if (bearer) {
    try {
      await callerClaims(deps, bearer); // an early 401 when a verifier is configured
    } catch (error) {
      if (error instanceof DomainError) return { status: httpStatusOf(error.code), reason: error.message };
      throw error;
    }
    return { authorization: bearer };
  }
  if (!url.searchParams.has('sig')) {
    return { status: 401, reason: "Send Authorization: Bearer <JWT>, or use the recording's playbackUrl (a signed link)" };
  }
  if (!deps.signedLinks || !mintKey)
    return { status: 401, reason: 'Signed playback links are not enabled here; send Authorization: Bearer <JWT>' };
  const check = verifyPlaybackGrant(deps.signedLinks.linkSecret, recordingId, url.searchParams);
  if (!check.ok) return { status: 403, reason: check.reason };
  const token = jwt.sign({ sub: `playback-link:${recordingId}`, role: 'pbx', pbx: check.grant.pbxId }, mintKey, {
    algorithm: 'HS256',
    expiresIn: LINK_TOKEN_SECONDS,
  });
  return { authorization: `Bearer ${token}` };
}

/** How long a verified object is trusted before playback hashes it again (an <audio> element sends many range requests). */
const VERIFIED_FOR_MS = 5 * 60 * 1000;

/** Objects whose bytes were found to match their SHA-256 recently, so seeking does not re-hash the file every time. */
class RecentlyVerified {
  private readonly seen = new Map<string, number>();

  async check(store: ObjectStore, key: string, expected: StoredObject): Promise<boolean> {
    const id = `${store.location}\u0000${key}\u0000${expected.sha256}\u0000${expected.sizeBytes}`;
    const at = this.seen.get(id);
    if (at !== undefined && Date.now() - at < VERIFIED_FOR_MS) return true;
    const ok = await store.verify(key, expected);
    if (this.seen.size > 10_000) this.seen.clear();
    if (ok) this.seen.set(id, Date.now());
    else this.seen.delete(id);
    return ok;
  }
}

export function playbackRoute(deps: PlaybackDeps): Route {
  const verified = new RecentlyVerified();
  // A KeyObject made once: given a string, jsonwebtoken probes its type on every call.
  const mintKey = deps.signedLinks ? createSecretKey(Buffer.from(deps.signedLinks.jwtSecret, 'utf8')) : null;
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const path = PLAYBACK_PATH_PATTERN.exec(url.pathname);
    if (!path) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendRestError(res, 405, `${req.method} is not supported here; use GET`, { allow: 'GET, HEAD' });
      return true;
    }
    let recordingId: string;
    try {
      recordingId = decodeURIComponent(path[1]);
    } catch {
      sendRestError(res, 400, 'The recording id in the path is not valid');
      return true;
    }

    const credentials = await credentialsOf(deps, mintKey, req, url, recordingId);
    if ('status' in credentials) {
      sendRestError(res, credentials.status, credentials.reason);
      return true;
    }
    let lookup: GraphQLCallResult<PlaybackLookup>;
    try {
      lookup = await executeAsCaller<PlaybackLookup>(deps, credentials.authorization, PLAYBACK_QUERY, { id: recordingId });
    } catch (error) {
      log.error({ err: error }, 'lookup failed');
      sendRestError(res, 500, 'Internal server error');
      return true;
    }
    const refusal = lookup.errors?.[0];
    if (refusal) {
      const status = httpStatusOf(refusal.extensions?.code);
      sendRestError(res, status, status === 500 ? 'Internal server error' : refusal.message);
      return true;
    }
    const recording = lookup.data?.recording;
    if (!recording) {
      sendRestError(res, 404, `Recording '${recordingId}' does not exist`);
      return true;
    }
    if (recording.location === 'LOCAL' || !recording.objectKey) {
      sendRestError(
        res,
        409,
        `Recording '${recordingId}' is only on its PBX (LOCAL): the control plane serves recordings from CDS, ` +
          'so it plays here once its PBX migrated it. Until then play it on the PBX.',
      );
      return true;
    }
    const region = recording.pbx?.cds?.region;
    if (!region) {
      sendRestError(res, 409, `The PBX of recording '${recordingId}' has no CDS region, so its file cannot be read from CDS`);
      return true;
    }

    // Only an object of the recording's own PBX is ever served as its audio.
    if (!recording.pbx || !isKeyOfPbx(recording.objectKey, recording.pbx.id) || !recording.sha256) {
      log.error({ recordingId, objectKey: recording.objectKey }, "object key is not under its PBX's prefix; refused");
      sendRestError(
        res,
        409,
        `The CDS file of recording '${recordingId}' cannot be served: it is not an object of the recording's own PBX`,
      );
      return true;
    }

    let store: ObjectStore;
    let size: number;
    try {
      store = deps.stores.forRegion(region);
      const stat = await store.stat(recording.objectKey);
      if (!stat) {
        // Verified in CDS, yet not there: worth an operator's attention.
        log.error({ recordingId, objectKey: recording.objectKey, store: store.location }, 'CDS object is missing');
        sendRestError(res, 404, `The file of recording '${recordingId}' is missing from CDS`);
        return true;
      }
      size = stat.sizeBytes;
      // Never bytes other than the recorded ones: the object must still hash to the recording's SHA-256.
      if (
        size !== recording.sizeBytes ||
        !(await verified.check(store, recording.objectKey, { sizeBytes: recording.sizeBytes, sha256: recording.sha256 }))
      ) {
        log.error({ recordingId, objectKey: recording.objectKey }, 'CDS object no longer matches its SHA-256; refused');
        sendRestError(res, 409, `The CDS file of recording '${recordingId}' no longer matches its recorded SHA-256, so it is not served`);
        return true;
      }
    } catch (error) {
      if (error instanceof DomainError) {
        sendRestError(res, httpStatusOf(error.code), error.message);
        return true;
      }
      throw error;
    }

    const etag = recording.sha256 ? `"${recording.sha256}"` : null;
    const common: Record<string, string> = {
      'content-type': contentTypeOf(recording.objectKey),
      'accept-ranges': 'bytes',
      // The audio of a call is personal data: no shared cache keeps it.
      'cache-control': 'private, no-store',
      'content-disposition': `inline; filename="${posix.basename(recording.objectKey).replace(/["\\\r\n]/g, '_')}"`,
      ...(etag ? { etag } : {}),
    };
    // If-Range: a client resuming with an older validator gets the whole (current) file.
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? { kind: 'whole' as const } : parseRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      sendRestError(res, 416, `The range '${req.headers.range}' is outside the file (${size} bytes)`, {
        'content-range': `bytes */${size}`,
        'accept-ranges': 'bytes',
      });
      return true;
    }
    const part = range.kind === 'part' ? { start: range.start, end: range.end } : null;
    const length = part ? part.end - part.start + 1 : size;
    res.writeHead(part ? 206 : 200, {
      ...common,
      'content-length': String(length),
      ...(part ? { 'content-range': `bytes ${part.start}-${part.end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return true;
    }
    try {
      const body = await store.read(recording.objectKey, part ?? undefined);
      await pipeline(body, res);
    } catch (error) {
      // The listener closed the player mid-stream (normal), or the store failed after the headers went out.
      if ((error as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') log.error({ err: error }, 'stream failed');
      res.destroy();
    }
    return true;
  };
}
