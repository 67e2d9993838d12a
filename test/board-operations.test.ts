import fs from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { Kind, parse, validate } from 'graphql';
import { boardOperations } from './support/board';
import { CONTRACT_DIR } from './support/operations';

/**
 * The board sends only these documents (board/src/operations, imported as
 * text by the app), one operation each; every one validates against the
 * gateway's public API schema, and each that shares a contract operation's
 * name asks for at least what the contract asks (the board shows the contract's data).
 */
const api = Supergraph.build(fs.readFileSync(path.join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'))
  .apiSchema()
  .toGraphQLJSSchema();
const operations = boardOperations();

function contractOperationNamed(name: string): string | null {
  for (const file of fs.readdirSync(CONTRACT_DIR).filter((f) => f.endsWith('.graphql'))) {
    const document = parse(fs.readFileSync(path.join(CONTRACT_DIR, file), 'utf8'));
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === name)
        return fs.readFileSync(path.join(CONTRACT_DIR, file), 'utf8');
    }
  }
  return null;
}

/** Every field path a document selects, e.g. `network.pbxs.staticIp.address` (variables and arguments aside). */
function fieldPaths(source: string, name: string): Set<string> {
  const paths = new Set<string>();
  const document = parse(source);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  const walk = (selections: readonly import('graphql').SelectionNode[], prefix: string) => {
    for (const selection of selections) {
      if (selection.kind !== Kind.FIELD) continue;
      const here = prefix ? `${prefix}.${selection.name.value}` : selection.name.value;
      paths.add(here);
      if (selection.selectionSet) walk(selection.selectionSet.selections, here);
    }
  };
  if (operation && operation.kind === Kind.OPERATION_DEFINITION) walk(operation.selectionSet.selections, '');
  return paths;
}

describe('the board’s operations', () => {
  it('finds them', () => expect(operations.length).toBeGreaterThan(10));

  it.each(operations.map((o) => [o.file, o.source]))('%s validates against the supergraph', (file, source) => {
    const document = parse(source);
    const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    expect(ops).toHaveLength(1);
    expect(`${(ops[0] as { name?: { value: string } }).name?.value}.graphql`).toBe(file);
    expect(validate(api, document).map((e) => e.message)).toEqual([]);
  });

  it.each(operations.map((o) => [o.file, o.source]))('%s asks for everything its contract namesake asks for', (file, source) => {
    const name = file.replace(/\.graphql$/, '');
    const contract = contractOperationNamed(name);
    if (!contract) return; // the board's own operation (Customers, RecordingsWithoutPersonalData)
    const ours = fieldPaths(source, name);
    expect([...fieldPaths(contract, name)].filter((p) => !ours.has(p))).toEqual([]);
  });
});
