import { RecordingLocation } from '../../kernel/domain/enums';
export { localCopyExpiry } from '../../kernel/domain/what-moves';
import { badInput, forbidden } from '../../kernel/errors';
import { Identity, Role } from '../../kernel/identity';

/**
 * The recording rules, each in one function so GraphQL and the REST
 * endpoint (GET /api/v1/pbx/recordings) apply the same ones.
 */

/** README "Identity": analysts read everything except a recording's caller and callee. */
const PERSONAL_DATA_ROLES: readonly Role[] = ['admin', 'partner', 'pbx'];

export function mayReadPersonalData(identity: Pick<Identity, 'role'>): boolean {
  return PERSONAL_DATA_ROLES.includes(identity.role);
}

/** Throws FORBIDDEN when the caller may not read a recording's caller/callee. */
export function assertMayReadPersonalData(identity: Identity): void {
  if (!mayReadPersonalData(identity)) {
    throw forbidden(`Your role (${identity.role}) may not read personal data of recordings (caller, callee)`);
  }
}

/**
 * Decision: hearing a recording is personal data too (the call itself, not
 * only who made it), so playback follows the caller/callee rule: analysts
 * read a recording's metadata but get no playback link and no audio.
 */
export function assertMayHearRecording(identity: Identity): void {
  if (!mayReadPersonalData(identity)) {
    throw forbidden(`Your role (${identity.role}) may not play recordings: a call's audio is personal data`);
  }
}

/**
 * DOMAIN.md rule 5, at read time: a local copy whose 7-day window has passed
 * is gone (or about to be purged), so the recording reads as CDS even before
 * anything rewrote its row.
 */
export function effectiveLocation(
  recording: { location: RecordingLocation; localCopyExpiresAt: Date | null },
  now: Date = new Date(),
): RecordingLocation {
  if (
    recording.location === RecordingLocation.CDS_WITH_LOCAL_COPY &&
    recording.localCopyExpiresAt &&
    recording.localCopyExpiresAt.getTime() <= now.getTime()
  ) {
    return RecordingLocation.CDS;
  }
  return recording.location;
}

/** A time window on the call start: `from` inclusive, `to` exclusive; either may be open. */
export interface RecordingWindow {
  from: Date | null;
  to: Date | null;
}

/** Checks a window; `from` after `to` is refused rather than answered with nothing. */
export function recordingWindow(from: Date | null | undefined, to: Date | null | undefined): RecordingWindow {
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (value && Number.isNaN(value.getTime())) throw badInput(`'${name}' is not a valid instant`, name);
  }
  if (from && to && from.getTime() > to.getTime()) {
    throw badInput(`'from' (${from.toISOString()}) is after 'to' (${to.toISOString()})`, 'from');
  }
  return { from: from ?? null, to: to ?? null };
}
