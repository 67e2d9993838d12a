import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import jwt from 'jsonwebtoken';
import type { Config } from './config';
import { DomainError, forbidden, unauthenticated } from './errors';

/** The roles of the client contract. */
export type Role = 'admin' | 'partner' | 'analyst' | 'pbx';
const ROLES: readonly Role[] = ['admin', 'partner', 'analyst', 'pbx'];

/** Who is calling, as the verified token says. */
export interface Identity {
  readonly sub: string;
  readonly role: Role;
  /** partner: the customers it may see and act on; empty for other roles */
  readonly customers: readonly string[];
  /** pbx: its own serial */
  readonly pbx: string | null;
  /** seconds since the epoch, when the token stops being valid */
  readonly expiresAt: number | null;
  /** the raw header value, forwarded by the gateway to subgraphs */
  readonly authorization: string;
}

export interface TokenVerifierOptions {
  /** HS256 shared secret (development, tests) */
  secret?: string;
  /** PEM public key for RS256/ES256/PS256 tokens (production) */
  publicKey?: string;
  /** a JWKS endpoint (production): keys fetched, cached and rotated by jose */
  jwksUrl?: string;
  /** when set, the token's `iss` must be this */
  issuer?: string | null;
  /** when set, the token's `aud` must include this */
  audience?: string | null;
}

export interface TokenVerifier {
  /** The caller's identity, or an UNAUTHENTICATED DomainError. */
  verify(authorization: string | undefined | null): Promise<Identity>;
}

/** The verifier options a configuration names (JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL; JWT_ISSUER, JWT_AUDIENCE). */
export function verifierOptions(config: Pick<Config, 'jwt'>): TokenVerifierOptions {
  const { keys, issuer, audience } = config.jwt;
  const base = { issuer, audience };
  switch (keys.kind) {
    case 'secret':
      return { ...base, secret: keys.secret };
    case 'publicKey':
      return { ...base, publicKey: keys.pem };
    case 'jwks':
      return { ...base, jwksUrl: keys.url };
  }
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Builds the verifier used at the gateway and again in every subgraph (jose).
 * Every token must carry `exp`, `sub` and `role`; `iss`/`aud` when configured.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!options.publicKey && !options.secret && !options.jwksUrl) throw new Error('Identity: set JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL');
  // A KeyObject made once, not a string parsed per call.
  const key: KeyObject | JWTVerifyGetKey = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
    : options.publicKey
      ? createPublicKey(options.publicKey)
      : secretKey(options.secret!);
  const algorithms = options.secret && !options.jwksUrl && !options.publicKey ? ['HS256'] : ASYMMETRIC;
  const verifyOptions = {
    algorithms,
    requiredClaims: ['exp', 'sub'],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
    clockTolerance: 5,
  };
  return {
    async verify(authorization) {
      if (!authorization) throw unauthenticated('Missing Authorization header: send "Bearer <JWT>"');
      const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match) throw unauthenticated('The Authorization header must be "Bearer <JWT>"');
      // A signature must be canonical base64url: jose decodes leniently, so one whose unused trailing
      // bits were changed would otherwise verify as the same bytes (a different token string, the same token).
      const signature = match[1].slice(match[1].lastIndexOf('.') + 1);
      if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) throw unauthenticated('The token is not valid');
      let claims: JWTPayload;
      try {
        // Overloads of jwtVerify differ only in the key's type.
        claims = (typeof key === 'function' ? await jwtVerify(match[1], key, verifyOptions) : await jwtVerify(match[1], key, verifyOptions))
          .payload;
      } catch (error) {
        throw unauthenticated(refusalOf(error));
      }
      return identityFromClaims(claims, authorization.trim());
    },
  };
}

/** Why a token was refused, in words the caller can act on (never the key or the library's internals). */
function refusalOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return 'The token has no expiry (exp); tokens must expire';
    if (error.claim === 'iss') return 'The token was not issued by the configured issuer (iss)';
    if (error.claim === 'aud') return 'The token is not meant for this service (aud)';
    if (error.claim === 'sub') return 'The token has no subject (sub)';
  }
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
    return 'The token cannot be checked right now (key set unavailable)';
  return 'The token is not valid';
}

function identityFromClaims(claims: JWTPayload, authorization: string): Identity {
  const role = claims.role as Role;
  if (!ROLES.includes(role)) throw unauthenticated(`The token's role must be one of ${ROLES.join(', ')}`);
  if (typeof claims.sub !== 'string' || !claims.sub) throw unauthenticated('The token has no subject (sub)');
  const customers = Array.isArray(claims.customers) ? claims.customers.map(String) : [];
  if (role === 'partner' && !Array.isArray(claims.customers)) {
    throw unauthenticated('A partner token must list its customers');
  }
  const pbx = typeof claims.pbx === 'string' ? claims.pbx.toLowerCase() : null;
  if (role === 'pbx' && !pbx) throw unauthenticated('A pbx token must name its PBX serial (pbx claim)');
  return {
    sub: claims.sub,
    role,
    customers: role === 'partner' ? customers : [],
    pbx: role === 'pbx' ? pbx : null,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : null,
    authorization,
  };
}

/** Signs a development/test token (HS256). Never used in production paths. */
export function signToken(
  secret: string,
  claims: { sub: string; role: Role; customers?: string[]; pbx?: string },
  expiresInSeconds = 12 * 3600,
): string {
  return jwt.sign(claims, secretKey(secret), { algorithm: 'HS256', expiresIn: expiresInSeconds });
}

const secretKeys = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    secretKeys.set(secret, key);
  }
  return key;
}

/** Where a thing belongs, which is all that visibility depends on. */
export interface Ownership {
  customerId: string;
  networkId: string | null;
  /** set when the thing is a PBX (or belongs to exactly one) */
  pbxId: string | null;
}

/**
 * The one place that decides who sees what (README, "Identity"):
 * admin and analyst everything; a partner its customers; a PBX itself and
 * the network and customer it belongs to (but not its siblings).
 * `own` is the calling PBX's ownership, needed only for the pbx role.
 */
export function canSee(identity: Identity, thing: Ownership, own: Ownership | null): boolean {
  switch (identity.role) {
    case 'admin':
    case 'analyst':
      return true;
    case 'partner':
      return identity.customers.includes(thing.customerId);
    case 'pbx':
      if (thing.pbxId) return thing.pbxId === identity.pbx;
      if (!own) return false;
      return thing.networkId ? thing.networkId === own.networkId : thing.customerId === own.customerId;
  }
}

/** May this caller change things that belong to `thing`? Analysts never mutate. */
export function canAct(identity: Identity, thing: Ownership, own: Ownership | null): boolean {
  if (identity.role === 'analyst') return false;
  if (identity.role === 'pbx') return thing.pbxId !== null && thing.pbxId === identity.pbx;
  return canSee(identity, thing, own);
}

export function requireRole(identity: Identity, roles: readonly Role[], action: string): void {
  if (!roles.includes(identity.role)) {
    throw forbidden(`Your role (${identity.role}) may not ${action}; it needs ${roles.join(' or ')}`);
  }
}

export function describeScopeRefusal(kind: string, id: string): DomainError {
  return forbidden(`${kind} '${id}' is outside what your token may see or change`);
}
