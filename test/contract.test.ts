import fs from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { GraphQLSchema, Kind, parse, validate } from 'graphql';
import { CONTRACT_DIR } from './support/operations';

/**
 * Every document of the client contract validates against the gateway's public
 * API schema. Documents whose issue has not landed yet are listed as pending,
 * by name; each leaves this list when its issue lands (and the test fails if a
 * pending one starts to validate, so the list never goes stale).
 */
const PENDING = new Set<string>([]);

const api = Supergraph.build(fs.readFileSync(path.join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'))
  .apiSchema()
  .toGraphQLJSSchema();
/** graphql 16's validate() accepts an operation whose root type (e.g. Subscription) the schema lacks; we do not. */
function problems(schema: GraphQLSchema, source: string): string[] {
  const document = parse(source);
  const missingRoots = document.definitions.flatMap((d) =>
    d.kind === Kind.OPERATION_DEFINITION && !schema.getRootType(d.operation) ? [`the schema has no ${d.operation} type`] : [],
  );
  return [...missingRoots, ...validate(schema, document).map((e) => e.message)];
}

const files = fs
  .readdirSync(CONTRACT_DIR)
  .filter((f) => f.endsWith('.graphql'))
  .sort();

describe('client contract operations', () => {
  it('finds the contract', () => expect(files.length).toBeGreaterThan(5));

  it.each(files)('%s', (file) => {
    const errors = problems(api, fs.readFileSync(path.join(CONTRACT_DIR, file), 'utf8'));
    if (PENDING.has(file)) expect(errors.length).toBeGreaterThan(0);
    else expect(errors).toEqual([]);
  });
});
