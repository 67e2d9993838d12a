import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SUBGRAPH_NAMES, SubgraphName, DEFAULT_PORTS } from '../kernel/config';
import { printSubgraphSdl } from '../kernel/subgraph';
import { SUBGRAPHS } from '../subgraphs';

/** Where each subgraph lives in the checked-in supergraph (the docker-compose service names); the gateway overrides them by configuration. */
export const SUPERGRAPH_URLS: Record<SubgraphName, string> = Object.fromEntries(
  SUBGRAPH_NAMES.map((name) => [name, `http://${name}:${DEFAULT_PORTS[name]}/graphql`]),
) as Record<SubgraphName, string>;

export interface Composition {
  subgraphs: Record<SubgraphName, string>;
  supergraph: string;
}

/** Composes the supergraph from the subgraphs' code, as `npm run compose` writes it into schema/. */
export async function composeFromCode(): Promise<Composition> {
  const subgraphs = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) subgraphs[name] = await printSubgraphSdl(SUBGRAPHS[name]);
  const result = composeServices(SUBGRAPH_NAMES.map((name) => ({ name, url: SUPERGRAPH_URLS[name], typeDefs: parse(subgraphs[name]) })));
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return { subgraphs, supergraph: result.supergraphSdl };
}
