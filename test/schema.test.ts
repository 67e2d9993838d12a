import fs from 'node:fs';
import path from 'node:path';
import { composeFromCode } from '../gateway/compose';

/** The checked-in schema/ must be what the code composes to; `npm run compose` regenerates it. */
describe('schema/', () => {
  it('matches the subgraphs and the supergraph composed from the code', async () => {
    const { subgraphs, supergraph } = await composeFromCode();
    const dir = path.join(__dirname, '..', 'schema');
    const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
    for (const [name, sdl] of Object.entries(subgraphs)) {
      expect({ file: `${name}.graphql`, sdl: read(`${name}.graphql`) }).toEqual({ file: `${name}.graphql`, sdl: sdl.trimEnd() + '\n' });
    }
    expect(read('supergraph.graphql')).toBe(supergraph.trimEnd() + '\n');
  });
});
