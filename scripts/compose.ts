import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { composeFromCode } from '../gateway/compose';

/** `npm run compose` (from the project root): writes each subgraph's SDL and the composed supergraph into schema/. */
async function main(): Promise<void> {
  const schemaDir = path.join(process.cwd(), 'schema');
  fs.mkdirSync(schemaDir, { recursive: true });
  const { subgraphs, supergraph } = await composeFromCode();
  for (const [name, sdl] of Object.entries(subgraphs)) fs.writeFileSync(path.join(schemaDir, `${name}.graphql`), sdl.trimEnd() + '\n');
  fs.writeFileSync(path.join(schemaDir, 'supergraph.graphql'), supergraph.trimEnd() + '\n');
  console.log(`wrote ${Object.keys(subgraphs).length} subgraph schemas and supergraph.graphql to ${schemaDir}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
