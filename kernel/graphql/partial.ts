/**
 * Partial answers (docs/partial-answers.md): a field a subgraph adds to an
 * entity another subgraph owns is nullable, so that when its subgraph is down,
 * slow or failing the gateway answers everything else, with that field null
 * and an error naming the subgraph. Every such field is declared with these.
 */
export const PARTIAL = true;

/** The description suffix saying when the field is null. */
export const unlessDown = (subgraph: string): string => `; null only when the ${subgraph} subgraph cannot answer`;
