import { isUtf8 } from 'node:buffer';
import path from 'node:path';

/**
 * File names are bytes on Linux, but a sourcePath is text (the server keeps
 * it as TEXT, GraphQL carries it as a String). This module alone maps one to
 * the other, so a name that is not valid UTF-8 (a Latin-1 `call-\xe9t\xe9.wav`
 * written by an old PBX) migrates instead of being decoded lossily into a
 * path that does not exist.
 *
 * The mapping, per name (one path component):
 * - a name that is valid UTF-8 and holds no U+FFFD and no backslash is its
 *   own text, so every path that worked before keeps its sourcePath (and its
 *   stored rows);
 * - otherwise each byte that is not part of a valid UTF-8 sequence becomes
 *   U+FFFD and two upper-case hex digits (`\xE9` -> `\uFFFDE9`), and a literal
 *   U+FFFD in the name becomes U+FFFD U+FFFD (quoting the quote character, as
 *   rclone does), while every other character is itself;
 * - a backslash is escaped like an invalid byte (`\uFFFD5C`): it is a plain
 *   character of a Linux name, but the server reads it as a path separator
 *   (subgraphs/storage/object-checks.ts, recordings' normalizeSourcePath), so
 *   `a\b.wav` would be stored as `a/b.wav`, never found again by its path, and
 *   never purged.
 * After a U+FFFD comes either a second U+FFFD or two hex digits, never both
 * readings, so decoding is unambiguous; and decoding refuses any text that
 * the encoding would not have produced (`\uFFFD41` for `A`, lower-case hex, an
 * escaped byte that is part of valid UTF-8 after all), so each name has
 * exactly one text. The text is valid Unicode: the server stores it as it is.
 * "Valid UTF-8" is the strict one (Unicode table 3-7): overlong forms,
 * surrogates (U+D800-DFFF) and code points above U+10FFFF are invalid bytes.
 */

const ESCAPE = '\uFFFD';
const ESCAPE_BYTES = Buffer.from(ESCAPE, 'utf8');
const BACKSLASH = 0x5c;
const HEX2 = /^[0-9A-F]{2}$/;
const SEP = Buffer.from(path.sep);

/** The text of one file name (no '/'): the sourcePath component the server keeps. */
export function nameToText(name: Buffer): string {
  // The common case, and the one that must stay exactly as before: valid UTF-8 without the escape character.
  if (isUtf8(name) && !name.includes(ESCAPE_BYTES) && !name.includes(BACKSLASH)) return name.toString('utf8');
  let text = '';
  for (let i = 0; i < name.length;) {
    const length = name[i] === BACKSLASH ? 0 : sequenceLength(name, i);
    if (!length) {
      text += ESCAPE + name[i].toString(16).toUpperCase().padStart(2, '0');
      i += 1;
      continue;
    }
    const char = name.toString('utf8', i, i + length);
    text += char === ESCAPE ? ESCAPE + ESCAPE : char;
    i += length;
  }
  return text;
}

/** The file name whose text this is; throws on text `nameToText` never produces. */
export function textToName(text: string): Buffer {
  const parts: Buffer[] = [];
  let plain = '';
  const flush = () => {
    if (plain) parts.push(Buffer.from(plain, 'utf8'));
    plain = '';
  };
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) {
      // A surrogate pair is one character; a lone surrogate is not Unicode (Buffer.from would replace it).
      const low = text.charCodeAt(i + 1);
      if (unit > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw badText(text, `a lone surrogate at ${i}`);
      plain += text.slice(i, i + 2);
      i += 1;
    } else if (text[i] !== ESCAPE) {
      plain += text[i];
    } else if (text[i + 1] === ESCAPE) {
      plain += ESCAPE;
      i += 1;
    } else {
      const hex = text.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) throw badText(text, `U+FFFD at ${i} is followed by neither U+FFFD nor two upper-case hex digits`);
      flush();
      parts.push(Buffer.from([parseInt(hex, 16)]));
      i += 2;
    }
  }
  flush();
  const name = Buffer.concat(parts);
  // Escaped bytes that form valid UTF-8 after all (or an escaped ASCII byte, or a bare backslash) would give a second text for one name.
  if (nameToText(name) !== text) throw badText(text, 'it escapes bytes that need no escape');
  return name;
}

/** `dir` and then `names`, one path separator between each, all bytes: nothing is decoded on the way. */
export function joinPath(dir: Buffer, ...names: Buffer[]): Buffer {
  const parts: Buffer[] = [dir];
  for (const name of names) {
    if (parts[parts.length - 1].length && !endsWithSep(parts[parts.length - 1])) parts.push(SEP);
    parts.push(name);
  }
  return Buffer.concat(parts);
}

/** The sourcePath of `abs`, a path joined under `root`: each name's text, '/'-separated, as the server and object keys expect. */
export function sourcePathOf(root: Buffer, abs: Buffer): string {
  const under =
    abs.subarray(0, root.length).equals(root) && (endsWithSep(root) || abs.length === root.length || abs[root.length] === SEP[0]);
  if (!under) throw new Error(`${nameToText(abs)} is not under ${nameToText(root)}`);
  return splitPath(abs.subarray(root.length))
    .map((name) => nameToText(name))
    .join('/');
}

/** A path's names, without the empty ones around and between separators. */
function splitPath(rel: Buffer): Buffer[] {
  const names: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === SEP[0]) {
      if (i > start) names.push(rel.subarray(start, i));
      start = i + 1;
    }
  }
  return names;
}

const endsWithSep = (p: Buffer) => p[p.length - 1] === SEP[0];

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none (Unicode table 3-7). */
function sequenceLength(b: Buffer, i: number): number {
  const lead = b[i];
  if (lead < 0x80) return 1;
  const cont = (at: number, lo = 0x80, hi = 0xbf) => at < b.length && b[at] >= lo && b[at] <= hi;
  if (lead >= 0xc2 && lead <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // E0: no overlong forms; ED: no surrogates.
    const [lo, hi] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    // F0: no overlong forms; F4: nothing above U+10FFFF.
    const [lo, hi] = lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

const badText = (text: string, why: string) => new Error(`'${text.slice(0, 200)}' is not the text of a file name: ${why}`);
