/**
 * The signed-in token lives only in this tab's sessionStorage: closing the tab
 * forgets it, and nothing is written to localStorage or cookies.
 */
const KEY = 'cds-board:token';

export type Role = 'admin' | 'partner' | 'analyst' | 'pbx';

export interface Session {
  token: string;
  role: Role;
  subject: string;
  customers: string[];
  /** for a `pbx` token: its own serial */
  pbx: string | null;
  /** seconds since the epoch; null when the token has no exp */
  expiresAt: number | null;
}

const ROLES: readonly Role[] = ['admin', 'partner', 'analyst', 'pbx'];

/**
 * Reads the token's claims to choose what to show. The server verifies the
 * signature on every request; this decoding grants nothing by itself.
 */
export function sessionFromToken(raw: string): Session | string {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  const parts = token.split('.');
  if (parts.length !== 3) return 'That is not a token: a token is three parts separated by dots (header.payload.signature).';
  let claims: Record<string, unknown>;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '='));
    claims = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return 'The token cannot be read: its payload is not valid JSON.';
  }
  const role = claims.role;
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) return 'The token carries no role the board knows (admin, partner, analyst or pbx).';
  const exp = typeof claims.exp === 'number' ? claims.exp : null;
  if (exp !== null && exp * 1000 <= Date.now()) return 'The token has expired; ask for a new one.';
  return {
    token,
    role: role as Role,
    subject: typeof claims.sub === 'string' ? claims.sub : '(unnamed)',
    customers: Array.isArray(claims.customers) ? claims.customers.filter((c): c is string => typeof c === 'string') : [],
    pbx: typeof claims.pbx === 'string' ? claims.pbx : null,
    expiresAt: exp,
  };
}

export function loadSession(): Session | null {
  let stored: string | null;
  try {
    stored = window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
  if (!stored) return null;
  const session = sessionFromToken(stored);
  if (typeof session === 'string') {
    clearSession();
    return null;
  }
  return session;
}

export function saveSession(session: Session): void {
  window.sessionStorage.setItem(KEY, session.token);
}

export function clearSession(): void {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    // storage unavailable: nothing was kept
  }
}

/** `#token=<jwt>` (the development start message's link): taken into the session and removed from the address bar. */
export function takeTokenFromFragment(): string | null {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return decodeURIComponent(match[1]);
}
