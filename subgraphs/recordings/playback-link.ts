import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed playback links: what `Recording.playbackUrl` hands out and what the
 * gateway's playback route (gateway/playback.ts) accepts instead of an
 * Authorization header, so an `<audio src>` can play a recording.
 *
 * A link names one recording of one PBX and an expiry, signed with HMAC-SHA256
 * under a key derived from the shared secret (PLAYBACK_URL_SECRET, else
 * JWT_SECRET). Deriving the key keeps the two uses of one secret apart: no
 * link signature can ever pass for a JWT signature or the other way round.
 * The recordings subgraph signs only for callers its scope lets see the
 * recording (and who may hear it: not analysts), so a valid signature is a
 * capability for exactly that recording until `exp`, like a presigned URL.
 * This module is pure (no database): the subgraph and the gateway share it.
 */

/** How long a link plays; an <audio> element re-requests ranges while it plays, so minutes, not seconds. */
export const PLAYBACK_LINK_TTL_SECONDS = 15 * 60;

/** The path of a recording's audio at the gateway. */
export const playbackPath = (recordingId: string) => `/api/v1/pbx/recordings/${encodeURIComponent(recordingId)}/audio`;

/** Matches playbackPath; the capture is the (still encoded) recording id. */
export const PLAYBACK_PATH_PATTERN = /^\/api\/v1\/pbx\/recordings\/([^/]+)\/audio\/?$/;

export interface PlaybackGrant {
  recordingId: string;
  /** the serial of the recording's PBX */
  pbxId: string;
  /** Unix seconds */
  expiresAt: number;
}

const keyOf = (secret: string) => createHmac('sha256', secret).update('cds-graph/recording-playback-link/v1').digest();

function signature(secret: string, grant: PlaybackGrant): string {
  return createHmac('sha256', keyOf(secret)).update(`${grant.recordingId}\n${grant.pbxId}\n${grant.expiresAt}`).digest('base64url');
}

/** The query string of a signed link (without `?`). */
export function signPlaybackGrant(secret: string, grant: PlaybackGrant): string {
  const query = new URLSearchParams({ pbx: grant.pbxId, exp: String(grant.expiresAt), sig: signature(secret, grant) });
  return query.toString();
}

export type PlaybackGrantCheck = { ok: true; grant: PlaybackGrant } | { ok: false; reason: string };

/** Checks a link's `pbx`, `exp` and `sig` for one recording; `now` in Unix seconds. */
export function verifyPlaybackGrant(
  secret: string,
  recordingId: string,
  params: URLSearchParams,
  now = Math.floor(Date.now() / 1000),
): PlaybackGrantCheck {
  const pbxId = params.get('pbx') ?? '';
  const exp = params.get('exp') ?? '';
  const sig = params.get('sig') ?? '';
  if (!pbxId || !/^\d{1,12}$/.test(exp) || !sig) {
    return { ok: false, reason: 'The playback link is incomplete: it needs pbx, exp and sig (or send Authorization: Bearer <JWT>)' };
  }
  const grant: PlaybackGrant = { recordingId, pbxId, expiresAt: Number(exp) };
  const expected = Buffer.from(signature(secret, grant));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "The playback link's signature is not valid for this recording" };
  }
  if (grant.expiresAt <= now) {
    return {
      ok: false,
      reason: `The playback link expired at ${new Date(grant.expiresAt * 1000).toISOString()}; ask for the recording's playbackUrl again`,
    };
  }
  return { ok: true, grant };
}

/** The secret links are signed with, from settings; null when none is configured (then links need a bearer token). */
export function playbackSecretFrom(settings: Readonly<Record<string, string | undefined>>): string | null {
  return settings.PLAYBACK_URL_SECRET || settings.JWT_SECRET || null;
}
