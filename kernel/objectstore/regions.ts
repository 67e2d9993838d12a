import path from 'node:path';
import { conflict } from '../errors';
import { DirectoryStore } from './directory-store';
import { S3Store, S3StoreOptions } from './s3-store';
import { ObjectStore } from './store';

/**
 * CDS lives in the PBX's own region: every region maps to its own store, and
 * a PBX's objects go only to the store of its CDS region. A region without a
 * store refuses the migration (CONFLICT) instead of writing anywhere else.
 *
 * Configuration (env `CDS_STORES`): comma-separated `region=url` entries.
 *
 *   region   an AWS-style region name (`eu-central-1`), or `*` for every
 *            region without an entry of its own
 *   url      `file:<dir>`   a directory; relative to baseDir (default: the
 *                           working directory); `file:///abs` works too
 *            `s3://<bucket>[/<prefix>][?<params>]`   an S3 or S3-compatible bucket;
 *                           params: endpoint=<http(s) url>, region=<signing region,
 *                           default: the CDS region>, forcePathStyle=true|false,
 *                           accessKeyId=..&secretAccessKey=..[&sessionToken=..]
 *                           (for tests; otherwise the standard AWS provider chain)
 *   {region} anywhere in the url is replaced by the region, so one `*` entry
 *            gives every region its own directory or bucket; a `*` entry must
 *            contain it.
 *
 * Examples:
 *   *=file:.data/cds/{region}                          (the default)
 *   eu-central-1=s3://cds-eu-central-1,us-east-1=s3://cds-us-east-1
 *   *=s3://cds-{region}/objects
 *   eu-central-1=s3://cds?endpoint=http://127.0.0.1:9000&forcePathStyle=true&accessKeyId=k&secretAccessKey=s
 *
 * No two regions may share a store (the same directory, nested directories,
 * or the same bucket at the same endpoint): objects would then cross regions.
 */
export const DEFAULT_CDS_STORES = '*=file:.data/cds/{region}';

const WILDCARD = '*';
const REGION_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const S3_PARAMS = new Set(['endpoint', 'region', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'sessionToken']);

export interface RegionStoresOptions {
  /** Where relative `file:` directories start; default: the working directory. */
  baseDir?: string;
}

/** A parsed store url: what it is (to keep regions apart) and how to open it. */
interface StoreSpec {
  /** Two specs with overlapping places would let objects cross regions. */
  place: { kind: 'dir'; dir: string } | { kind: 'bucket'; endpoint: string; bucket: string };
  open(): ObjectStore;
}

export class RegionStores {
  private readonly stores = new Map<string, ObjectStore>();
  private readonly places = new Map<string, StoreSpec['place']>();
  /** Regions with an entry of their own, as opposed to those the '*' entry gave a store on demand. */
  private readonly configured: string[];

  private constructor(
    private readonly explicit: Map<string, StoreSpec>,
    private readonly wildcard: ((region: string) => StoreSpec) | null,
  ) {
    this.configured = [...explicit.keys()].sort();
    for (const [region, spec] of explicit) this.adopt(region, spec, (message) => new Error(`CDS_STORES: ${message}`));
  }

  /** Parses a `CDS_STORES` value (format above); throws on a malformed one, naming the entry. */
  static fromConfig(spec: string, options: RegionStoresOptions = {}): RegionStores {
    const baseDir = path.resolve(options.baseDir ?? process.cwd());
    const explicit = new Map<string, StoreSpec>();
    let wildcard: string | null = null;
    for (const raw of spec.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new Error(`CDS_STORES: entry '${redact(entry)}' must look like region=url`);
      const region = entry.slice(0, eq).trim();
      const url = entry.slice(eq + 1).trim();
      if (region === WILDCARD) {
        if (wildcard !== null) throw new Error(`CDS_STORES: '*' appears twice`);
        if (!url.includes('{region}')) {
          throw new Error(`CDS_STORES: the '*' entry must contain {region} so that each region gets its own store (got '${redact(url)}')`);
        }
        parseStoreUrl(url, 'any-region', baseDir); // a malformed url fails at startup, not at the first migration
        wildcard = url;
        continue;
      }
      if (!REGION_NAME.test(region)) throw new Error(`CDS_STORES: '${region}' is not a region name (like eu-central-1)`);
      if (explicit.has(region)) throw new Error(`CDS_STORES: region ${region} appears twice`);
      explicit.set(region, parseStoreUrl(url, region, baseDir));
    }
    const template = wildcard;
    return new RegionStores(explicit, template === null ? null : (region) => parseStoreUrl(template, region, baseDir));
  }

  /** From env `CDS_STORES`, or DEFAULT_CDS_STORES when it is unset (set it empty for no store at all). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: RegionStoresOptions = {}): RegionStores {
    return RegionStores.fromConfig(env.CDS_STORES ?? DEFAULT_CDS_STORES, options);
  }

  /** The store of a CDS region; CONFLICT when the region has none, so the migration cannot start. */
  forRegion(region: string): ObjectStore {
    if (typeof region !== 'string' || !REGION_NAME.test(region)) {
      throw conflict(`The PBX has no valid CDS region ('${String(region ?? '')}'); the migration cannot start`);
    }
    const store = this.stores.get(region);
    if (store) return store;
    const own = this.explicit.get(region);
    if (own) return this.adopt(region, own, (message) => conflict(`CDS_STORES: ${message}`));
    if (!this.wildcard) {
      throw conflict(
        `No CDS store is configured for region ${region}; the migration cannot start ` +
          `(configured: ${this.configured.length ? this.configured.join(', ') : 'none'})`,
      );
    }
    return this.adopt(region, this.wildcard(region), (message) =>
      conflict(`The CDS store for region ${region} is misconfigured: ${message}; the migration cannot start`),
    );
  }

  has(region: string): boolean {
    return this.explicit.has(region) || (this.wildcard !== null && REGION_NAME.test(region));
  }

  /** The regions with an entry of their own, sorted, then '*' when every other region gets a store too. */
  regions(): string[] {
    return this.wildcard ? [...this.configured, WILDCARD] : [...this.configured];
  }

  /** Closes every store handed out; forRegion opens new ones afterwards. */
  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    this.places.clear();
    await Promise.all(stores.map((s) => s.close?.()));
  }

  /** Keeps regions apart: a store whose place overlaps another region's is refused. */
  private adopt(region: string, spec: StoreSpec, fail: (message: string) => Error): ObjectStore {
    const others = new Map([...[...this.explicit].map(([r, s]) => [r, s.place] as const), ...this.places]);
    others.delete(region);
    for (const [other, place] of others) {
      if (overlaps(place, spec.place)) {
        throw fail(`regions ${other} and ${region} would share ${describe(spec.place)}, so objects would cross regions`);
      }
    }
    const store = spec.open();
    this.places.set(region, spec.place);
    this.stores.set(region, store);
    return store;
  }
}

function parseStoreUrl(template: string, region: string, baseDir: string): StoreSpec {
  const url = template.split('{region}').join(region);
  if (url.startsWith('file:')) {
    let dir = url.slice('file:'.length);
    if (dir.startsWith('//')) {
      dir = dir.slice(2);
      if (!dir.startsWith('/')) throw new Error(`CDS_STORES: '${url}' names a host; use file:/dir or file:///dir`);
    }
    if (!dir) throw new Error(`CDS_STORES: '${url}' names no directory`);
    const root = path.resolve(baseDir, decodeURIComponent(dir));
    return { place: { kind: 'dir', dir: root }, open: () => new DirectoryStore(root) };
  }
  if (url.startsWith('s3://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`CDS_STORES: '${redact(url)}' is not a valid s3:// url`);
    }
    const bucket = parsed.hostname;
    if (!bucket) throw new Error(`CDS_STORES: '${redact(url)}' names no bucket`);
    const params = parsed.searchParams;
    for (const name of params.keys()) {
      if (!S3_PARAMS.has(name)) {
        throw new Error(`CDS_STORES: unknown parameter '${name}' in '${redact(url)}' (known: ${[...S3_PARAMS].join(', ')})`);
      }
    }
    const forcePathStyle = params.get('forcePathStyle');
    if (forcePathStyle !== null && forcePathStyle !== 'true' && forcePathStyle !== 'false') {
      throw new Error(`CDS_STORES: forcePathStyle must be true or false in '${redact(url)}'`);
    }
    const accessKeyId = params.get('accessKeyId');
    const secretAccessKey = params.get('secretAccessKey');
    if (!accessKeyId !== !secretAccessKey) {
      throw new Error(`CDS_STORES: accessKeyId and secretAccessKey come together in '${redact(url)}'`);
    }
    const endpoint = params.get('endpoint') ?? undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
      throw new Error(`CDS_STORES: endpoint must be an http(s) url in '${redact(url)}'`);
    }
    const options: S3StoreOptions = {
      bucket,
      prefix: decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '') || undefined,
      endpoint,
      region: params.get('region') ?? region,
      forcePathStyle: forcePathStyle === null ? undefined : forcePathStyle === 'true',
      credentials:
        accessKeyId && secretAccessKey
          ? { accessKeyId, secretAccessKey, sessionToken: params.get('sessionToken') ?? undefined }
          : undefined,
    };
    return {
      place: { kind: 'bucket', endpoint: endpoint ?? `aws:${options.region}`, bucket },
      open: () => new S3Store(options),
    };
  }
  throw new Error(`CDS_STORES: '${redact(url)}' must start with file: or s3://`);
}

function overlaps(a: StoreSpec['place'], b: StoreSpec['place']): boolean {
  if (a.kind === 'dir' && b.kind === 'dir') {
    const inside = (x: string, y: string) => x === y || x.startsWith(y.endsWith(path.sep) ? y : y + path.sep);
    return inside(a.dir, b.dir) || inside(b.dir, a.dir);
  }
  if (a.kind === 'bucket' && b.kind === 'bucket')
    return a.bucket === b.bucket && (a.endpoint === b.endpoint || (a.endpoint.startsWith('aws:') && b.endpoint.startsWith('aws:')));
  return false;
}

function describe(place: StoreSpec['place']): string {
  return place.kind === 'dir' ? `directory ${place.dir}` : `bucket ${place.bucket}`;
}

/** Secrets never reach a message or a log. */
function redact(url: string): string {
  return url.replace(/(secretAccessKey|sessionToken)=[^&]*/g, '$1=***');
}
