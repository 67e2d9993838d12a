import { badInput } from '../errors';

/**
 * Domain rules that several subgraphs apply, each kept here once
 * (DOMAIN.md: decisions live in one place and are easy to change).
 */

/** Rule 1: CDS starts with this WMS version. */
export const CDS_MIN_WMS_VERSION = '6.05';
/** Rule 5 (the 7-day window) and rule 4 (what moves) live in what-moves.ts. */
export { LOCAL_COPY_DAYS } from './what-moves';
/** Rule 10: the share of capacity at which the usage alert is raised. */
export const USAGE_ALERT_RATIO = 0.95;

const VERSION = /^\d{1,9}(\.\d{1,9}){1,5}$/;

/** `6.05.20231120.1` -> [6, 5, 20231120, 1]; throws BAD_USER_INPUT when malformed. */
export function parseWmsVersion(version: string): number[] {
  const trimmed = version.trim();
  if (!VERSION.test(trimmed)) {
    throw badInput(`'${version}' is not a WMS version: expected numbers separated by dots, like 6.05.20231120.1`, 'wmsVersion');
  }
  return trimmed.split('.').map(Number);
}

/** Compares part by part as integers; missing parts count as 0 (6.05 == 6.05.0). */
export function compareWmsVersions(a: string, b: string): number {
  const pa = parseWmsVersion(a);
  const pb = parseWmsVersion(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

export const supportsCds = (version: string) => compareWmsVersions(version, CDS_MIN_WMS_VERSION) >= 0;

/** A PBX serial: 12 hexadecimal characters, e.g. 22110001d072; kept lower-case. */
export function normalizeSerial(serial: string): string {
  const s = serial.trim().toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(s))
    throw badInput(`'${serial}' is not a PBX serial: expected 12 hexadecimal characters, like 22110001d072`, 'id');
  return s;
}

/** An AWS region name such as eu-central-1 or us-gov-west-1. */
export function normalizeRegion(region: string, field = 'region'): string {
  const r = region.trim().toLowerCase();
  if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/.test(r)) {
    throw badInput(`'${region}' is not a region: expected an AWS region name like eu-central-1`, field);
  }
  return r;
}

/** A PBX's DNS name, e.g. acme.wildixin.com (one or more labels). */
export function normalizePbxName(name: string): string {
  const n = name.trim().toLowerCase();
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (!n || n.length > 253 || !n.split('.').every((l) => label.test(l))) {
    throw badInput(`'${name}' is not a PBX name: use letters, digits and hyphens, like acme or acme.wildixin.com`, 'name');
  }
  return n;
}

/** A dotted-quad IPv4 address, normalised (no leading zeros). */
export function normalizeIpv4(address: string): string {
  const parts = address.trim().split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw badInput(`'${address}' is not an IPv4 address`, 'addresses');
  }
  return parts.map(Number).join('.');
}

/** Free-text names of customers and networks. */
export function normalizeDisplayName(name: string, what: string): string {
  const n = name.trim();
  if (!n || n.length > 200) throw badInput(`The ${what} name must be 1 to 200 characters`, 'name');
  return n;
}

/** Ids chosen by clients for customers and networks. */
export function normalizeClientId(id: string, what: string): string {
  const v = id.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(v)) {
    throw badInput(`'${id}' is not a valid ${what} id: 1 to 64 letters, digits, '.', '_', ':' or '-'`, 'id');
  }
  return v;
}
