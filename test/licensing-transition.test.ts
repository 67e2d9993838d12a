import { BundleHolding } from '../subgraphs/licensing/entities/bundle-holding';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { contractDocument, contractOperation, provisioning } from './support/operations';
import { GraphQLResult, startTestStack, TestStack, tokens } from './support/harness';

interface Decision {
  customerId: string;
  networkId: string | null;
  pbxId: string | null;
  pbxCount: number;
  legacyLicenses: number;
  code: string;
  rule: string;
  applied: boolean;
}
interface Report {
  runLegacyLicenseTransition: { dryRun: boolean; changed: number; decisions: Decision[] };
}

const AS_OF = '2024-02-01T00:00:00.000Z';

/**
 * The round-up transition of legacy storage licences (DOMAIN.md rule 9),
 * every boundary of the rule: networks of 1, 5 and 6 PBXs; standalone PBXs
 * with 1, 4 and 5 licences; 0 licences; holders that ordered a bundle; a dry
 * run; a second run.
 */
describe('runLegacyLicenseTransition', () => {
  let stack: TestStack;
  const pbx = (n: number, prefix: string) => serial(n, prefix);
  // Networks: licences on some of their PBXs.
  const networks = { one: 'lt-net-1', five: 'lt-net-5', six: 'lt-net-6', unlicensed: 'lt-net-none', ordered: 'lt-net-ordered' };
  // Standalone PBXs by their licences.
  const sa = { one: pbx(1, 'c7'), four: pbx(2, 'c7'), five: pbx(3, 'c7'), zero: pbx(4, 'c7'), none: pbx(5, 'c7'), ordered: pbx(6, 'c7') };

  const run = (asOf: string, dryRun: boolean, token = tokens.admin()) =>
    stack.gql<Report>(contractOperation('Licensing.graphql', 'RunLegacyTransition'), { asOf, dryRun }, token);
  const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
  const holdings = () =>
    stack.subgraphs.licensing.runtime.db.getRepository(BundleHolding).find({ order: { holderType: 'ASC', holderId: 'ASC' } });
  const licences = (pbxId: string, count: number) => stack.ok(provisioning.setLegacyLicenses(), { pbxId, count });
  const byHolder = (decisions: Decision[]) => new Map(decisions.map((d) => [d.networkId ?? d.pbxId, d]));
  const bundleOf = async (pbxId: string) =>
    (
      await stack.ok<{ pbx: { bundle: { tier: { code: string }; source: string; effectiveFrom: string | null } } }>(
        contractDocument('PbxDetails.graphql'),
        { pbxId },
      )
    ).pbx.bundle;

  beforeAll(async () => {
    stack = await startTestStack();
    await createCustomer(stack, 'lt-co');
    const sizes: [string, number, string][] = [
      [networks.one, 1, 'c1'],
      [networks.five, 5, 'c2'],
      [networks.six, 6, 'c3'],
      [networks.unlicensed, 2, 'c4'],
      [networks.ordered, 2, 'c5'],
    ];
    for (const [id, size, prefix] of sizes) {
      await createNetwork(stack, 'lt-co', id);
      for (let i = 1; i <= size; i++) await registerPbx(stack, { id: pbx(i, prefix), customerId: 'lt-co', networkId: id });
    }
    for (const id of Object.values(sa)) await registerPbx(stack, { id, customerId: 'lt-co' });
    await stack.settle();
    await licences(pbx(1, 'c1'), 2);
    await licences(pbx(3, 'c2'), 1);
    await licences(pbx(1, 'c3'), 1);
    await licences(pbx(4, 'c3'), 3);
    await licences(pbx(2, 'c5'), 3);
    await licences(sa.one, 1);
    await licences(sa.four, 4);
    await licences(sa.five, 5);
    await licences(sa.zero, 0);
    await licences(sa.ordered, 7);
    await stack.ok(contractOperation('Licensing.graphql', 'OrderBundle'), { networkId: networks.ordered, code: 'CDS-500' });
    await stack.ok(contractOperation('Licensing.graphql', 'OrderBundle'), { pbxId: sa.ordered, code: 'CDS-10' });
  }, 120_000);
  afterAll(() => stack?.stop());

  const expected = (applied: boolean): Record<string, Partial<Decision>> => ({
    [networks.one]: {
      customerId: 'lt-co',
      pbxId: null,
      pbxCount: 1,
      legacyLicenses: 2,
      code: 'CDS-50',
      rule: 'network of 1 PBX with licences (1-5 PBXs) -> CDS-50',
      applied,
    },
    [networks.five]: {
      pbxCount: 5,
      legacyLicenses: 1,
      code: 'CDS-50',
      rule: 'network of 5 PBXs with licences (1-5 PBXs) -> CDS-50',
      applied,
    },
    [networks.six]: {
      pbxCount: 6,
      legacyLicenses: 4,
      code: 'CDS-500',
      rule: 'network of 6 PBXs with licences (6 or more PBXs) -> CDS-500',
      applied,
    },
    [sa.one]: {
      networkId: null,
      pbxCount: 1,
      legacyLicenses: 1,
      code: 'CDS-50',
      rule: 'standalone PBX with 1 licence (1-4 licences) -> CDS-50',
      applied,
    },
    [sa.four]: { legacyLicenses: 4, code: 'CDS-50', rule: 'standalone PBX with 4 licences (1-4 licences) -> CDS-50', applied },
    [sa.five]: { legacyLicenses: 5, code: 'CDS-500', rule: 'standalone PBX with 5 licences (5 or more licences) -> CDS-500', applied },
  });

  test('only admins run it, from 2024-02-01 on', async () => {
    for (const token of [tokens.partner(['lt-co']), tokens.analyst(), tokens.pbx(sa.one)]) {
      expect(codeOf(await run(AS_OF, true, token))).toBe('FORBIDDEN');
    }
    const early = await run('2024-01-31T23:59:59.000Z', false);
    expect(codeOf(early)).toBe('BAD_USER_INPUT');
    expect(early.errors?.[0].message).toMatch(/takes effect on 2024-02-01/);
    expect(await holdings()).toHaveLength(2);
  });

  test('a dry run reports every decision with its rule and changes nothing', async () => {
    const before = await holdings();
    const result = await run(AS_OF, true);
    expect(result.errors).toBeUndefined();
    const report = result.data!.runLegacyLicenseTransition;
    expect(report).toMatchObject({ dryRun: true, changed: 0 });
    const decisions = byHolder(report.decisions);
    for (const [holder, decision] of Object.entries(expected(true))) expect(decisions.get(holder)).toMatchObject(decision);
    expect(decisions.get(sa.zero)).toMatchObject({
      legacyLicenses: 0,
      code: 'DEFAULT',
      applied: false,
      rule: expect.stringMatching(/^no legacy storage licences -> DEFAULT 5 GB/),
    });
    expect(decisions.get(networks.ordered)).toMatchObject({
      pbxCount: 2,
      legacyLicenses: 3,
      code: 'CDS-50',
      applied: false,
      rule: expect.stringMatching(
        /-> CDS-50; not applied: it ordered CDS-500 on \d{4}-\d\d-\d\d, and a holder that ordered a bundle keeps it$/,
      ),
    });
    expect(decisions.get(sa.ordered)).toMatchObject({
      legacyLicenses: 7,
      code: 'CDS-500',
      applied: false,
      rule: expect.stringMatching(/it ordered CDS-10/),
    });
    // Holders without any licence row are not transitioned, so not reported.
    expect(decisions.has(networks.unlicensed)).toBe(false);
    expect(decisions.has(sa.none)).toBe(false);
    expect(report.decisions).toHaveLength(9);
    expect(await holdings()).toEqual(before);
    expect(await bundleOf(pbx(1, 'c2'))).toMatchObject({ tier: { code: 'DEFAULT' }, source: 'DEFAULT' });
  });

  test('a real run applies every decision in one go, from asOf; ordered holders keep their bundles', async () => {
    const result = await run(AS_OF, false);
    expect(result.errors).toBeUndefined();
    const report = result.data!.runLegacyLicenseTransition;
    expect(report).toMatchObject({ dryRun: false, changed: 6 });
    const decisions = byHolder(report.decisions);
    for (const [holder, decision] of Object.entries(expected(true))) expect(decisions.get(holder)).toMatchObject(decision);

    expect(await bundleOf(pbx(5, 'c2'))).toEqual({
      tier: { code: 'CDS-50', storageBytes: 50e9 },
      source: 'ROUND_UP_TRANSITION',
      effectiveFrom: AS_OF,
      needsUpgrade: false,
    });
    expect(await bundleOf(pbx(2, 'c3'))).toMatchObject({ tier: { code: 'CDS-500' }, source: 'ROUND_UP_TRANSITION' });
    expect(await bundleOf(sa.five)).toMatchObject({ tier: { code: 'CDS-500' }, source: 'ROUND_UP_TRANSITION', effectiveFrom: AS_OF });
    expect(await bundleOf(sa.four)).toMatchObject({ tier: { code: 'CDS-50' }, source: 'ROUND_UP_TRANSITION' });
    expect(await bundleOf(sa.zero)).toMatchObject({ tier: { code: 'DEFAULT' }, source: 'DEFAULT', effectiveFrom: null });
    expect(await bundleOf(sa.none)).toMatchObject({ tier: { code: 'DEFAULT' }, source: 'DEFAULT' });
    expect(await bundleOf(pbx(1, 'c4'))).toMatchObject({ tier: { code: 'DEFAULT' }, source: 'DEFAULT' });
    expect(await bundleOf(pbx(1, 'c5'))).toMatchObject({ tier: { code: 'CDS-500' }, source: 'ORDERED' });
    expect(await bundleOf(sa.ordered)).toMatchObject({ tier: { code: 'CDS-10' }, source: 'ORDERED' });
    expect(await holdings()).toHaveLength(8);
  });

  test('running it again changes nothing', async () => {
    const before = await holdings();
    for (const dryRun of [false, true]) {
      const report = (await run(AS_OF, dryRun)).data!.runLegacyLicenseTransition;
      expect(report.changed).toBe(0);
      expect(report.decisions.filter((d) => d.applied)).toEqual([]);
      expect(byHolder(report.decisions).get(networks.five)?.rule).toBe(
        'network of 5 PBXs with licences (1-5 PBXs) -> CDS-50; not applied: it already holds CDS-50 by the transition since 2024-02-01',
      );
    }
    expect(await holdings()).toEqual(before);
  });

  test('a network that grew past 5 PBXs since is rounded up again on the next run', async () => {
    await registerPbx(stack, { id: pbx(6, 'c2'), customerId: 'lt-co', networkId: networks.five });
    await stack.settle();
    const report = (await run('2024-03-01T00:00:00.000Z', false)).data!.runLegacyLicenseTransition;
    expect(report.changed).toBe(1);
    expect(byHolder(report.decisions).get(networks.five)).toMatchObject({ pbxCount: 6, code: 'CDS-500', applied: true });
    expect(await bundleOf(pbx(1, 'c2'))).toMatchObject({
      tier: { code: 'CDS-500' },
      source: 'ROUND_UP_TRANSITION',
      effectiveFrom: '2024-03-01T00:00:00.000Z',
    });
  });
});
