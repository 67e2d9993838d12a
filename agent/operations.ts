import { GraphQLClient, GraphQLRequestError } from './api';

/** The data categories as the contract names them (README "Enums"). */
export type Category = 'CALL_RECORDINGS' | 'BACKUPS' | 'VOICEMAILS' | 'FAXES';
/** Every category the agent counts; which of them move (rule 4) the server says, per migration (`categories { state }`). */
export const ALL_CATEGORIES: readonly Category[] = ['CALL_RECORDINGS', 'BACKUPS', 'VOICEMAILS', 'FAXES'];

export type MigrationStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
export type CdsState = 'NOT_ACTIVATED' | 'MIGRATING' | 'ACTIVE' | 'MIGRATION_FAILED';

export interface MigrationRef {
  id: string;
  status: MigrationStatus;
  trigger?: string;
  region: string;
}

export interface MigrationProgress extends MigrationRef {
  /** present where asked for (beginning a run): a category NOT_SUPPORTED_YET stays on the PBX */
  categories?: { category: Category; state: string }[];
  /** present where asked for (completion): until when recordings keep their local copy */
  localCopyExpiresAt?: string | null;
  itemsDone: number;
  itemsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
  error: string | null;
}

export interface PbxFacts {
  id: string;
  kind: 'CLOUD' | 'VIRTUAL' | 'HARDWARE';
  wmsVersion: string;
  region: string;
  cds: { state: CdsState; region: string | null };
  currentMigration: MigrationRef | null;
  migrations: { id: string; status: MigrationStatus }[];
}

export interface CategoryInventory {
  category: Category;
  itemsTotal: number;
  bytesTotal: number;
}

/** A file whose CDS copy is written and verified: what a progress report carries. */
export interface VerifiedItem {
  category: Category;
  sourcePath: string;
  objectKey: string;
  sizeBytes: number;
  sha256: string;
  /** The upload endpoint's receipt for the object it stored: CDS verifies by it instead of reading the object back. */
  receipt?: string | null;
}

/** A file the agent hashed and is about to upload: what it declares for a grant. */
export interface DeclaredItem {
  category: Category;
  sourcePath: string;
  sizeBytes: number;
  sha256: string;
}

export type UploadTransport = 'CDS_GATEWAY' | 'S3_PUT' | 'S3_MULTIPART';

export interface UploadGrant extends DeclaredItem {
  objectKey: string;
  transport: UploadTransport;
  token: string;
  url: string | null;
  headers: { name: string; value: string }[];
  parts: { partNumber: number; offset: number; sizeBytes: number; url: string; headers: { name: string; value: string }[] }[];
  expiresAt: string;
}

export interface CopyCheck {
  sourcePath: string;
  objectKey: string | null;
  sizeBytes: number;
  sha256: string | null;
  verified: boolean;
  reason: string | null;
}

export interface SkippedEntry {
  sourcePath: string;
  reason: string;
}

/** A verified CDS object as the server lists it (for resuming). */
export interface CdsObjectRow extends VerifiedItem {
  seq: number;
}

/** A recording as registered with the recordings subgraph: the sidecar's metadata plus the verified copy. */
export interface RecordingRegistration {
  sourcePath: string;
  callId: string | null;
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  caller: string | null;
  callee: string | null;
  sha256: string;
  objectKey: string;
}

export interface RecordingRow {
  id: string;
  sourcePath: string | null;
  objectKey: string | null;
  sha256: string | null;
  sizeBytes: number;
  location: 'LOCAL' | 'CDS_WITH_LOCAL_COPY' | 'CDS';
  localCopyExpiresAt: string | null;
}

/** The server's limits on one report (storage lifecycle and recordings registration both take 1000). */
export const MAX_ITEMS_PER_CALL = 1000;
/** `cdsObjects` pages hold at most this many. */
const CDS_OBJECTS_PAGE = 5000;
/** `recordings` pages hold at most this many. */
const RECORDINGS_PAGE = 500;

const MIGRATION_FIELDS = 'id status trigger region itemsDone itemsTotal bytesDone bytesTotal percent error';

const PBX_QUERY = /* GraphQL */ `
  query AgentPbx($pbxId: ID!) {
    pbx(id: $pbxId) {
      id
      kind
      wmsVersion
      region
      cds {
        state
        region
      }
      currentMigration {
        id
        status
        trigger
        region
      }
      migrations {
        id
        status
      }
    }
  }
`;

const ACTIVATE = /* GraphQL */ `
  mutation AgentActivate($pbxId: ID!, $region: String) {
    activateCompanyDataStorage(pbxId: $pbxId, region: $region) {
      migration {
        id
        status
        trigger
        region
      }
    }
  }
`;

const BEGIN_RUN = /* GraphQL */ `
  mutation AgentBeginRun($migrationId: ID!, $inventory: [CategoryInventoryInput!]!, $resumeToken: String, $skipped: [SkippedEntryInput!]) {
    beginMigrationRun(migrationId: $migrationId, inventory: $inventory, resumeToken: $resumeToken, skipped: $skipped) {
      runToken migration { ${MIGRATION_FIELDS} categories { category state } }
    }
  }`;

const GRANTS = /* GraphQL */ `
  mutation AgentGrants($migrationId: ID!, $runToken: String!, $items: [UploadRequestInput!]!) {
    requestUploadGrants(migrationId: $migrationId, runToken: $runToken, items: $items) {
      category
      sourcePath
      objectKey
      sizeBytes
      sha256
      transport
      token
      url
      headers {
        name
        value
      }
      parts {
        partNumber
        offset
        sizeBytes
        url
        headers {
          name
          value
        }
      }
      expiresAt
    }
  }
`;

const COMPLETE_MULTIPART = /* GraphQL */ `
  mutation AgentCompleteMultipart($migrationId: ID!, $runToken: String!, $token: String!, $parts: [CompletedPartInput!]!) {
    completeMultipartUpload(migrationId: $migrationId, runToken: $runToken, token: $token, parts: $parts)
  }
`;

const COPY_CHECKS = /* GraphQL */ `
  query AgentCopyChecks($pbxId: ID!, $category: DataCategory!, $sourcePaths: [String!]!) {
    cdsCopyChecks(pbxId: $pbxId, category: $category, sourcePaths: $sourcePaths) {
      sourcePath
      objectKey
      sizeBytes
      sha256
      verified
      reason
    }
  }
`;

// A literal `first` lets the gateway's cost estimate see the real page size.
const CDS_OBJECTS = /* GraphQL */ `
  query AgentCdsObjects($pbxId: ID!, $category: DataCategory, $afterSeq: Int) {
    cdsObjects(pbxId: $pbxId, category: $category, afterSeq: $afterSeq, first: ${CDS_OBJECTS_PAGE}) {
      seq category sourcePath objectKey sizeBytes sha256
    }
  }`;

/**
 * Recordings are registered in a request of their own, before the items are
 * counted: the gateway runs every root field of a mutation document even
 * when an earlier one failed, so one document could count an item whose
 * recording was refused. Two requests keep "counted implies registered".
 */
const REGISTER_RECORDINGS = /* GraphQL */ `
  mutation AgentRegisterRecordings($pbxId: ID!, $migrationId: ID!, $recordings: [MigratedRecordingInput!]!) {
    registerRecordings(pbxId: $pbxId, migrationId: $migrationId, recordings: $recordings) {
      registered
    }
  }
`;

const REPORT = /* GraphQL */ `
  mutation AgentReport($migrationId: ID!, $runToken: String!, $items: [VerifiedItemInput!]!) {
    reportMigrationProgress(migrationId: $migrationId, runToken: $runToken, items: $items) { ${MIGRATION_FIELDS} }
  }`;

const COMPLETE = /* GraphQL */ `
  mutation AgentComplete($migrationId: ID!, $runToken: String!) {
    completeMigration(migrationId: $migrationId, runToken: $runToken) { ${MIGRATION_FIELDS} localCopyExpiresAt }
  }`;

const FAIL = /* GraphQL */ `
  mutation AgentFail($migrationId: ID!, $error: String!, $runToken: String) {
    failMigration(migrationId: $migrationId, error: $error, runToken: $runToken) { ${MIGRATION_FIELDS} }
  }`;

const MIGRATION = /* GraphQL */ `
  query AgentMigration($id: ID!) { migration(id: $id) { ${MIGRATION_FIELDS} localCopyExpiresAt } }`;

const RECORDINGS = /* GraphQL */ `
  query AgentRecordings($pbxId: ID!, $after: String) {
    pbx(id: $pbxId) {
      recordings(first: ${RECORDINGS_PAGE}, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id sourcePath objectKey sha256 sizeBytes location localCopyExpiresAt } }
      }
    }
  }`;

/** The CDS lifecycle as the agent sees it through the gateway (storage and recordings subgraphs). */
export class CdsApi {
  constructor(readonly client: GraphQLClient) {}

  async pbx(pbxId: string): Promise<PbxFacts> {
    const data = await this.client.request<{ pbx: PbxFacts | null }>(PBX_QUERY, { pbxId });
    if (!data.pbx) throw new GraphQLRequestError(`PBX ${pbxId} is not known to CDS`, 'NOT_FOUND');
    return data.pbx;
  }

  async activate(pbxId: string, region: string | null): Promise<MigrationRef> {
    const data = await this.client.request<{ activateCompanyDataStorage: { migration: MigrationRef } }>(ACTIVATE, { pbxId, region });
    return data.activateCompanyDataStorage.migration;
  }

  async beginRun(
    migrationId: string,
    inventory: CategoryInventory[],
    resumeToken: string | null,
    skipped: SkippedEntry[] = [],
  ): Promise<{ runToken: string; migration: MigrationProgress }> {
    const data = await this.client.request<{ beginMigrationRun: { runToken: string; migration: MigrationProgress } }>(BEGIN_RUN, {
      migrationId,
      inventory,
      resumeToken,
      skipped: skipped.slice(0, 200),
    });
    return data.beginMigrationRun;
  }

  /** Upload grants for up to MAX_ITEMS_PER_CALL hashed files: CDS answers each file's key and how to send its bytes. */
  async grants(migrationId: string, runToken: string, items: DeclaredItem[]): Promise<UploadGrant[]> {
    const data = await this.client.request<{ requestUploadGrants: UploadGrant[] }>(GRANTS, { migrationId, runToken, items });
    return data.requestUploadGrants;
  }

  async completeMultipart(
    migrationId: string,
    runToken: string,
    token: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    await this.client.request(COMPLETE_MULTIPART, { migrationId, runToken, token, parts });
  }

  /** CDS re-verifies the copies of these files (for --purge). */
  async copyChecks(pbxId: string, category: Category, sourcePaths: string[]): Promise<CopyCheck[]> {
    const data = await this.client.request<{ cdsCopyChecks: CopyCheck[] }>(COPY_CHECKS, { pbxId, category, sourcePaths });
    return data.cdsCopyChecks;
  }

  /** Every object of the PBX already verified in CDS, by source path (rule 3: a new run skips them). */
  async verifiedObjects(pbxId: string, category: Category): Promise<Map<string, CdsObjectRow>> {
    const found = new Map<string, CdsObjectRow>();
    let afterSeq = 0;
    for (;;) {
      const data = await this.client.request<{ cdsObjects: CdsObjectRow[] }>(CDS_OBJECTS, { pbxId, category, afterSeq });
      for (const row of data.cdsObjects) found.set(row.sourcePath, row);
      if (data.cdsObjects.length < CDS_OBJECTS_PAGE) return found;
      afterSeq = data.cdsObjects[data.cdsObjects.length - 1].seq;
    }
  }

  /** Registers the batch's recordings (when any), and only once that succeeded counts its items. */
  async report(
    pbxId: string,
    migrationId: string,
    runToken: string,
    items: VerifiedItem[],
    recordings: RecordingRegistration[],
  ): Promise<MigrationProgress> {
    if (items.length > MAX_ITEMS_PER_CALL || recordings.length > MAX_ITEMS_PER_CALL) {
      throw new Error(`a report holds at most ${MAX_ITEMS_PER_CALL} items`);
    }
    if (recordings.length) {
      const data = await this.client.request<{ registerRecordings: { registered: number } }>(REGISTER_RECORDINGS, {
        pbxId,
        migrationId,
        recordings,
      });
      if (data.registerRecordings.registered !== recordings.length) {
        throw new Error(`the recordings subgraph registered ${data.registerRecordings.registered} of ${recordings.length} recordings`);
      }
    }
    const data = await this.client.request<{ reportMigrationProgress: MigrationProgress }>(REPORT, { migrationId, runToken, items });
    return data.reportMigrationProgress;
  }

  async complete(migrationId: string, runToken: string): Promise<MigrationProgress> {
    const data = await this.client.request<{ completeMigration: MigrationProgress }>(COMPLETE, { migrationId, runToken });
    return data.completeMigration;
  }

  async fail(migrationId: string, runToken: string, error: string): Promise<MigrationProgress> {
    const data = await this.client.request<{ failMigration: MigrationProgress }>(FAIL, { migrationId, runToken, error });
    return data.failMigration;
  }

  async migration(id: string): Promise<MigrationProgress | null> {
    const data = await this.client.request<{ migration: MigrationProgress | null }>(MIGRATION, { id });
    return data.migration;
  }

  /** Every recording of the PBX, page by page (for --purge). */
  async *recordings(pbxId: string): AsyncGenerator<RecordingRow[]> {
    let after: string | null = null;
    for (;;) {
      const data: {
        pbx: { recordings: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: RecordingRow }[] } } | null;
      } = await this.client.request(RECORDINGS, { pbxId, after });
      if (!data.pbx) throw new GraphQLRequestError(`PBX ${pbxId} is not known to CDS`, 'NOT_FOUND');
      const page = data.pbx.recordings;
      yield page.edges.map((e) => e.node);
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
      after = page.pageInfo.endCursor;
    }
  }
}
