import { TestObjectStore } from './support/objects';
import { contractDocument, contractOperation } from './support/operations';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

/**
 * DOMAIN.md rules 1-5 through the gateway, driving the migration API the way
 * the CDS agent does (the agent itself has its own tests).
 */
const REPORT = contractOperation('Lifecycle.graphql', 'ReportWmsVersion');
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const DETAILS = contractDocument('PbxDetails.graphql');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!, $resume: String) {
  beginMigrationRun(migrationId: $id, inventory: $inventory, resumeToken: $resume) { runToken migration { status itemsTotal itemsDone } } }`;
const REPORT_ITEMS = `mutation ($pbx: ID!, $id: ID!, $token: String!, $items: [VerifiedItemInput!]!, $recordings: [MigratedRecordingInput!]!) {
  registerRecordings(pbxId: $pbx, migrationId: $id, recordings: $recordings) { registered }
  reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone itemsTotal bytesDone percent } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status finishedAt } }`;
const FAIL = `mutation ($id: ID!, $token: String, $error: String!) { failMigration(migrationId: $id, runToken: $token, error: $error) { status error } }`;

const objects = new TestObjectStore();
/** Stores an item's object where the stack's store keeps it, under the key CDS gives it; answers the reported item. */
const stored = (pbxId: string, category: string, sourcePath: string, size: number) =>
  objects.put(pbxId, 'eu-central-1', category, sourcePath, size);
const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

describe('CDS lifecycle', () => {
  let stack: TestStack;
  const cloud = serial(1, 'c0');
  const cloudNew = serial(2, 'c0');
  const vm = serial(3, 'c0');
  const hwOld = serial(4, 'c0');
  const vmNoStore = serial(5, 'c0');

  beforeAll(async () => {
    process.env.CDS_STORES = objects.settingFor(['eu-central-1', 'us-east-1']);
    stack = await startTestStack();
    delete process.env.CDS_STORES;
    await createCustomer(stack, 'life');
    await createNetwork(stack, 'life', 'life-net');
    await registerPbx(stack, {
      id: cloud,
      customerId: 'life',
      networkId: 'life-net',
      kind: 'CLOUD' as never,
      wmsVersion: '6.04.20230901.1',
    });
    await registerPbx(stack, { id: cloudNew, customerId: 'life', kind: 'CLOUD' as never, wmsVersion: '6.05.20231120.1' });
    await registerPbx(stack, {
      id: vm,
      customerId: 'life',
      networkId: 'life-net',
      kind: 'VIRTUAL' as never,
      wmsVersion: '6.05.20231120.1',
    });
    await registerPbx(stack, { id: hwOld, customerId: 'life', kind: 'HARDWARE' as never, wmsVersion: '6.04.99' });
    await registerPbx(stack, { id: vmNoStore, customerId: 'life', kind: 'VIRTUAL' as never, wmsVersion: '6.10', region: 'ap-south-1' });
    await stack.settle();
  });
  afterAll(async () => {
    await stack?.stop();
    objects.remove();
  });

  it('starts the migration of a cloud PBX once, when it reports 6.05 or later (rule 1)', async () => {
    const before = await stack.ok<{ reportWmsVersion: { pbx: { cds: { state: string }; currentMigration: unknown } } }>(
      REPORT,
      { pbxId: cloud, version: '6.04.99' },
      tokens.pbx(cloud),
    );
    expect(before.reportWmsVersion.pbx).toMatchObject({ cds: { state: 'NOT_ACTIVATED' }, currentMigration: null });
    const upgraded = await stack.ok<{
      reportWmsVersion: {
        pbx: { wmsVersion: string; cds: { state: string }; currentMigration: { id: string; status: string; trigger: string } };
      };
    }>(REPORT, { pbxId: cloud, version: '6.05.20231120.1' }, tokens.pbx(cloud));
    // Read-your-writes: the response already shows what the version report caused in the storage subgraph.
    expect(upgraded.reportWmsVersion.pbx).toMatchObject({
      wmsVersion: '6.05.20231120.1',
      cds: { state: 'MIGRATING' },
      currentMigration: { status: 'QUEUED', trigger: 'WMS_UPGRADE' },
    });
    const first = upgraded.reportWmsVersion.pbx.currentMigration.id;
    for (const version of ['6.05.20231120.1', '6.10']) {
      const again = await stack.ok<{ reportWmsVersion: { pbx: { currentMigration: { id: string } } } }>(
        REPORT,
        { pbxId: cloud, version },
        tokens.pbx(cloud),
      );
      expect(again.reportWmsVersion.pbx.currentMigration.id).toBe(first);
    }
    await stack.settle();
    const details = await stack.ok<{ pbx: { migrations: { id: string }[] } }>(DETAILS, { pbxId: cloud });
    expect(details.pbx.migrations.map((m) => m.id)).toEqual([first]);
  });

  it('counts registering a cloud PBX already on 6.05 as its first report', async () => {
    const details = await stack.ok<{
      pbx: {
        cds: { state: string; region: string };
        migrations: { trigger: string; status: string; categories: { category: string; state: string }[] }[];
      };
    }>(DETAILS, { pbxId: cloudNew });
    expect(details.pbx.cds).toMatchObject({ state: 'MIGRATING', region: 'eu-central-1' });
    expect(details.pbx.migrations).toHaveLength(1);
    expect(details.pbx.migrations[0]).toMatchObject({ trigger: 'WMS_UPGRADE', status: 'QUEUED' });
    expect(details.pbx.migrations[0].categories).toEqual([
      expect.objectContaining({ category: 'CALL_RECORDINGS', state: 'PENDING' }),
      expect.objectContaining({ category: 'BACKUPS', state: 'PENDING' }),
      expect.objectContaining({ category: 'VOICEMAILS', state: 'NOT_SUPPORTED_YET' }),
      expect.objectContaining({ category: 'FAXES', state: 'NOT_SUPPORTED_YET' }),
    ]);
  });

  it.each([
    ['a PBX below 6.05', () => hwOld, /6\.04\.99.*6\.05 or later/],
    ['a NOT_ACTIVATED cloud PBX', () => serial(9, 'c0'), /activates by itself/],
    ['a PBX already MIGRATING', () => cloud, /already under way/],
    ['a region without a CDS store', () => vmNoStore, /No CDS store is configured for region ap-south-1/],
  ])('refuses to activate %s with a CONFLICT that says why, changing nothing', async (_what, id, message) => {
    if (id() === serial(9, 'c0')) {
      await registerPbx(stack, { id: id(), customerId: 'life', kind: 'CLOUD' as never, wmsVersion: '6.04' });
    }
    const result = await stack.gql(ACTIVATE, { pbxId: id() }, tokens.admin());
    expect(code(result)).toBe('CONFLICT');
    expect(result.errors?.[0].message).toMatch(message);
    const after = await stack.ok<{ pbx: { migrations: unknown[] } }>(DETAILS, { pbxId: id() });
    expect(after.pbx.migrations.length).toBeLessThanOrEqual(1);
  });

  it("refuses analysts and other customers' partners", async () => {
    expect(code(await stack.gql(ACTIVATE, { pbxId: vm }, tokens.analyst()))).toBe('FORBIDDEN');
    expect(code(await stack.gql(ACTIVATE, { pbxId: vm }, tokens.partner(['someone-else'])))).toBe('FORBIDDEN');
    expect(code(await stack.gql(ACTIVATE, { pbxId: vm }, tokens.pbx(cloud)))).toBe('FORBIDDEN');
  });

  it('runs a VIRTUAL PBX from activation to ACTIVE, counting only verified items (rules 2-5)', async () => {
    const activated = await stack.ok<{
      activateCompanyDataStorage: {
        migration: { id: string; status: string; trigger: string; pbx: { id: string; cds: { state: string; region: string } } };
      };
    }>(ACTIVATE, { pbxId: vm }, tokens.pbx(vm));
    const migration = activated.activateCompanyDataStorage.migration;
    expect(migration).toMatchObject({
      status: 'QUEUED',
      trigger: 'ADMIN_SCRIPT',
      pbx: { id: vm, cds: { state: 'MIGRATING', region: 'eu-central-1' } },
    });

    const inventory = [
      { category: 'CALL_RECORDINGS', itemsTotal: 2, bytesTotal: 300 },
      { category: 'BACKUPS', itemsTotal: 1, bytesTotal: 1000 },
      { category: 'VOICEMAILS', itemsTotal: 4, bytesTotal: 40 },
      { category: 'FAXES', itemsTotal: 1, bytesTotal: 10 },
    ];
    const run = await stack.ok<{ beginMigrationRun: { runToken: string; migration: { status: string; itemsTotal: number } } }>(
      BEGIN,
      { id: migration.id, inventory },
      tokens.pbx(vm),
    );
    expect(run.beginMigrationRun.migration).toMatchObject({ status: 'RUNNING', itemsTotal: 3 });
    const token = run.beginMigrationRun.runToken;
    // A second agent is refused while the first holds the migration.
    const rival = await stack.gql(BEGIN, { id: migration.id, inventory }, tokens.pbx(vm));
    expect(code(rival)).toBe('CONFLICT');
    expect(rival.errors?.[0].message).toMatch(/Another agent is migrating/);

    const item = (category: string, path: string, size: number) => stored(vm, category, path, size);
    const recording = (path: string, size: number) => {
      const { objectKey, sha256 } = stored(vm, 'CALL_RECORDINGS', path, size);
      return {
        sourcePath: path,
        callId: path,
        startedAt: '2024-05-01T10:00:00Z',
        durationSeconds: 30,
        sizeBytes: size,
        caller: '+100',
        callee: '+200',
        sha256,
        objectKey,
      };
    };
    const first = await stack.ok<{ reportMigrationProgress: { itemsDone: number; percent: number } }>(
      REPORT_ITEMS,
      {
        pbx: vm,
        id: migration.id,
        token,
        items: [item('CALL_RECORDINGS', 'recordings/a.wav', 100)],
        recordings: [recording('recordings/a.wav', 100)],
      },
      tokens.pbx(vm),
    );
    expect(first.reportMigrationProgress.itemsDone).toBe(1);
    // Reported twice, counted once.
    const twice = await stack.ok<{ reportMigrationProgress: { itemsDone: number } }>(
      REPORT_ITEMS,
      {
        pbx: vm,
        id: migration.id,
        token,
        items: [item('CALL_RECORDINGS', 'recordings/a.wav', 100)],
        recordings: [recording('recordings/a.wav', 100)],
      },
      tokens.pbx(vm),
    );
    expect(twice.reportMigrationProgress.itemsDone).toBe(1);
    // Not all verified: completing is refused.
    const early = await stack.gql(COMPLETE, { id: migration.id, token }, tokens.pbx(vm));
    expect(code(early)).toBe('CONFLICT');
    expect(early.errors?.[0].message).toMatch(/1 of 2 CALL_RECORDINGS and 1 of 1 BACKUPS are not yet verified/);
    // Voicemails are not moved (rule 4).
    expect(
      code(
        await stack.gql(
          REPORT_ITEMS,
          { pbx: vm, id: migration.id, token, items: [item('VOICEMAILS', 'voicemails/v.wav', 10)], recordings: [] },
          tokens.pbx(vm),
        ),
      ),
    ).toBe('BAD_USER_INPUT');
    // A bad checksum is refused and changes nothing.
    expect(
      code(
        await stack.gql(
          REPORT_ITEMS,
          { pbx: vm, id: migration.id, token, items: [{ ...item('BACKUPS', 'backups/b.tar', 1000), sha256: 'nope' }], recordings: [] },
          tokens.pbx(vm),
        ),
      ),
    ).toBe('BAD_USER_INPUT');

    await stack.ok(
      REPORT_ITEMS,
      {
        pbx: vm,
        id: migration.id,
        token,
        items: [item('CALL_RECORDINGS', 'recordings/b.wav', 200), item('BACKUPS', 'backups/b.tar', 1000)],
        recordings: [recording('recordings/b.wav', 200)],
      },
      tokens.pbx(vm),
    );
    const done = await stack.ok<{ completeMigration: { status: string } }>(COMPLETE, { id: migration.id, token }, tokens.pbx(vm));
    expect(done.completeMigration.status).toBe('COMPLETED');
    await stack.settle();

    const details = await stack.ok<{
      pbx: Record<string, unknown> & { migrations: Record<string, unknown>[]; cds: { usageByCategory: unknown[] } };
    }>(DETAILS, { pbxId: vm });
    expect(details.pbx.cds).toMatchObject({ state: 'ACTIVE', region: 'eu-central-1', usedBytes: 1300 });
    expect(details.pbx.cds.usageByCategory).toEqual([
      { category: 'CALL_RECORDINGS', usedBytes: 300, itemCount: 2 },
      { category: 'BACKUPS', usedBytes: 1000, itemCount: 1 },
      { category: 'VOICEMAILS', usedBytes: 0, itemCount: 0 },
      { category: 'FAXES', usedBytes: 0, itemCount: 0 },
    ]);
    expect(details.pbx.migrations[0]).toMatchObject({
      status: 'COMPLETED',
      percent: 100,
      itemsTotal: 3,
      itemsDone: 3,
      bytesTotal: 1300,
      bytesDone: 1300,
      error: null,
    });
    expect(details.pbx.migrations[0].categories).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ category: 'VOICEMAILS', state: 'NOT_SUPPORTED_YET', itemsTotal: 4, itemsDone: 0 }),
        expect.objectContaining({ category: 'CALL_RECORDINGS', state: 'COMPLETED', itemsTotal: 2, itemsDone: 2 }),
      ]),
    );
    const recordings = await stack.ok<{ pbx: { recordings: { edges: { node: { location: string; localCopyExpiresAt: string } }[] } } }>(
      contractDocument('Recordings.graphql'),
      { pbxId: vm },
      tokens.pbx(vm),
    );
    const finishedAt = Date.parse(done.completeMigration.status && (details.pbx.migrations[0].finishedAt as string));
    for (const { node } of recordings.pbx.recordings.edges) {
      expect(node.location).toBe('CDS_WITH_LOCAL_COPY');
      expect(Date.parse(node.localCopyExpiresAt) - finishedAt).toBe(7 * 24 * 3600 * 1000);
    }
    // Usage reached the holder's storage in licensing (event from storage).
    const network = await stack.ok<{ network: { storage: { usedBytes: number } } }>(
      `{ network(id: "life-net") { storage { usedBytes } } }`,
    );
    expect(network.network.storage.usedBytes).toBe(1300);
    // Activating again is refused: CDS is ACTIVE.
    expect((await stack.gql(ACTIVATE, { pbxId: vm }, tokens.admin())).errors?.[0].message).toMatch(/already ACTIVE/);
  });

  it('fails a migration leaving it resumable: a new activation skips verified items (rule 3)', async () => {
    const pbx = serial(6, 'c0');
    await registerPbx(stack, { id: pbx, customerId: 'life', kind: 'HARDWARE' as never, wmsVersion: '6.05' });
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx }, tokens.admin());
    const inventory = [{ category: 'BACKUPS', itemsTotal: 2, bytesTotal: 20 }];
    const {
      beginMigrationRun: { runToken },
    } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(BEGIN, { id: migration.id, inventory }, tokens.pbx(pbx));
    const item = (path: string) => stored(pbx, 'BACKUPS', path, 10);
    await stack.ok(REPORT_ITEMS, { pbx, id: migration.id, token: runToken, items: [item('backups/1')], recordings: [] }, tokens.pbx(pbx));
    const failed = await stack.ok<{ failMigration: { status: string; error: string } }>(
      FAIL,
      { id: migration.id, token: runToken, error: 'backups/2 could not be read: EACCES' },
      tokens.pbx(pbx),
    );
    expect(failed.failMigration).toEqual({ status: 'FAILED', error: 'backups/2 could not be read: EACCES' });
    const state = await stack.ok<{ pbx: { cds: { state: string } } }>(DETAILS, { pbxId: pbx });
    expect(state.pbx.cds.state).toBe('MIGRATION_FAILED');

    const again = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx }, tokens.pbx(pbx));
    expect(again.activateCompanyDataStorage.migration.id).not.toBe(migration.id);
    const newId = again.activateCompanyDataStorage.migration.id;
    const resumed = await stack.ok<{ beginMigrationRun: { runToken: string; migration: { itemsDone: number } } }>(
      BEGIN,
      { id: newId, inventory },
      tokens.pbx(pbx),
    );
    // What the failed run verified is known (the agent skips copying it) but counts for the new
    // migration only once reported again, i.e. once its local file is known to be still there.
    expect(resumed.beginMigrationRun.migration.itemsDone).toBe(0);
    const objects = await stack.ok<{ cdsObjects: { sourcePath: string }[] }>(
      `query ($p: ID!) { cdsObjects(pbxId: $p) { sourcePath } }`,
      { p: pbx },
      tokens.pbx(pbx),
    );
    expect(objects.cdsObjects.map((o) => o.sourcePath)).toEqual(['backups/1']);
    const token = resumed.beginMigrationRun.runToken;
    const confirmed = await stack.ok<{ reportMigrationProgress: { itemsDone: number } }>(
      REPORT_ITEMS,
      { pbx, id: newId, token, items: [item('backups/1')], recordings: [] },
      tokens.pbx(pbx),
    );
    expect(confirmed.reportMigrationProgress.itemsDone).toBe(1);
    // backups/2 is still missing: a deleted or unreported file cannot be stood in for.
    expect((await stack.gql(COMPLETE, { id: newId, token }, tokens.pbx(pbx))).errors?.[0].message).toMatch(
      /1 of 2 BACKUPS are not yet verified/,
    );
    await stack.ok(REPORT_ITEMS, { pbx, id: newId, token, items: [item('backups/2')], recordings: [] }, tokens.pbx(pbx));
    expect(
      (await stack.ok<{ completeMigration: { status: string } }>(COMPLETE, { id: newId, token }, tokens.pbx(pbx))).completeMigration.status,
    ).toBe('COMPLETED');
    const after = await stack.ok<{ cdsObjects: { sourcePath: string }[] }>(
      `query ($p: ID!) { cdsObjects(pbxId: $p) { sourcePath } }`,
      { p: pbx },
      tokens.pbx(pbx),
    );
    expect(after.cdsObjects.map((o) => o.sourcePath).sort()).toEqual(['backups/1', 'backups/2']);
  });
});
