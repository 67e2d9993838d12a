/**
 * "Name contains" filters as SQL, the same on MySQL/MariaDB and SQLite:
 * case-insensitive, and literal (a `%` or `_` in the text means itself).
 * The escape character is `!`, not a backslash: MySQL reads a backslash in a
 * string literal as an escape of its own, so `ESCAPE '\'` is a syntax error there.
 */
export function likeContains(column: string, param: string, text: string): [condition: string, parameters: Record<string, string>] {
  const pattern = `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return [`LOWER(${column}) LIKE :${param} ESCAPE '!'`, { [param]: pattern }];
}
