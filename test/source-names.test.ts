import { randomBytes } from 'node:crypto';
import { insideSource } from '../agent/migrate';
import { nameToText, joinPath, sourcePathOf, textToName } from '../agent/source-names';

/**
 * The mapping between a file name's bytes and its sourcePath text
 * (agent/source-names.ts): valid UTF-8 is itself, anything else is escaped
 * with U+FFFD, and each name has exactly one text.
 */

const bytes = (...b: number[]) => Buffer.from(b);
const E = '\uFFFD';

/** A random name as Linux allows it: 1-40 bytes, anything but '/' and NUL. */
function randomName(pick: () => number): Buffer {
  const name = Buffer.alloc(1 + (pick() % 40));
  for (let i = 0; i < name.length; i++) {
    let b = 0;
    while (b === 0 || b === 0x2f) b = pick();
    name[i] = b;
  }
  return name;
}

describe('nameToText', () => {
  it('leaves valid UTF-8 without U+FFFD or a backslash as it is', () => {
    for (const name of ['call-1.wav', 'ütf8 näme.bak', '日本語.wav', 'emoji 🎙️.mp3', ' ', '\u0001x', '\uFFFE\uFFFF', '\u{10FFFF}']) {
      expect(nameToText(Buffer.from(name, 'utf8'))).toBe(name);
      expect(textToName(name)).toEqual(Buffer.from(name, 'utf8'));
    }
  });

  it('escapes each byte that is not part of valid UTF-8 as U+FFFD and two upper-case hex digits', () => {
    expect(nameToText(Buffer.from('call-\xe9t\xe9.wav', 'latin1'))).toBe(`call-${E}E9t${E}E9.wav`);
    expect(nameToText(bytes(0xff))).toBe(`${E}FF`);
    expect(nameToText(bytes(0x80, 0x41))).toBe(`${E}80A`);
    // A truncated sequence: its lead byte is escaped, what follows is read on its own.
    expect(nameToText(bytes(0xe2, 0x82, 0x41))).toBe(`${E}E2${E}82A`);
    expect(nameToText(bytes(0xe2, 0x82, 0xac, 0xe2, 0x82))).toBe(`€${E}E2${E}82`);
  });

  it('escapes a backslash, which the server would read as a separator', () => {
    expect(nameToText(Buffer.from('a\\b.wav'))).toBe(`a${E}5Cb.wav`);
    expect(textToName(`a${E}5Cb.wav`)).toEqual(Buffer.from('a\\b.wav'));
    expect(nameToText(Buffer.from('\\\\'))).toBe(`${E}5C${E}5C`);
    expect(() => textToName('a\\b.wav')).toThrow(/is not the text of a file name/);
  });

  it('treats overlong forms, surrogates and code points above U+10FFFF as invalid bytes', () => {
    expect(nameToText(bytes(0xc0, 0xaf))).toBe(`${E}C0${E}AF`); // overlong '/'
    expect(nameToText(bytes(0xc1, 0xbf))).toBe(`${E}C1${E}BF`);
    expect(nameToText(bytes(0xe0, 0x80, 0xaf))).toBe(`${E}E0${E}80${E}AF`);
    expect(nameToText(bytes(0xf0, 0x80, 0x80, 0xaf))).toBe(`${E}F0${E}80${E}80${E}AF`);
    expect(nameToText(bytes(0xed, 0xa0, 0x80))).toBe(`${E}ED${E}A0${E}80`); // U+D800
    expect(nameToText(bytes(0xed, 0xbf, 0xbf))).toBe(`${E}ED${E}BF${E}BF`); // U+DFFF
    expect(nameToText(bytes(0xed, 0x9f, 0xbf))).toBe('\uD7FF');
    expect(nameToText(bytes(0xf4, 0x90, 0x80, 0x80))).toBe(`${E}F4${E}90${E}80${E}80`); // U+110000
    expect(nameToText(bytes(0xf5, 0x80, 0x80, 0x80))).toBe(`${E}F5${E}80${E}80${E}80`);
    expect(nameToText(bytes(0xf4, 0x8f, 0xbf, 0xbf))).toBe('\u{10FFFF}');
  });

  it('doubles a literal U+FFFD, so it cannot be read as an escape', () => {
    expect(nameToText(Buffer.from(`a${E}b`))).toBe(`a${E}${E}b`);
    expect(nameToText(Buffer.from(`${E}E9`))).toBe(`${E}${E}E9`);
    expect(textToName(`${E}${E}E9`)).toEqual(Buffer.from(`${E}E9`));
    expect(nameToText(Buffer.concat([Buffer.from(E), bytes(0xe9)]))).toBe(`${E}${E}${E}E9`);
    expect(textToName(`${E}${E}${E}E9`)).toEqual(Buffer.concat([Buffer.from(E), bytes(0xe9)]));
    expect(nameToText(Buffer.from(E + E))).toBe(E + E + E + E);
  });

  it('agrees with a strict UTF-8 decoder on which names are valid', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const pick = seeded(3);
    for (let n = 0; n < 5000; n++) {
      // Short names of high bytes: most are invalid, some are valid 2-4 byte sequences.
      const name = Buffer.from(Array.from({ length: 1 + (pick() % 4) }, () => 0x80 | pick()));
      const text = nameToText(name);
      let decoded: string | null;
      try {
        decoded = strict.decode(name);
      } catch {
        decoded = null;
      }
      if (decoded !== null) expect(text).toBe(decoded.replace(/\uFFFD/g, E + E));
      else expect(text.replace(/\uFFFD\uFFFD/g, '')).toMatch(/\uFFFD[0-9A-F]{2}/);
    }
  });

  it('gives valid Unicode: no lone surrogates, nothing Buffer.from would change', () => {
    const pick = seeded(7);
    for (let n = 0; n < 2000; n++) {
      const text = nameToText(randomName(pick));
      expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
      expect(text).not.toMatch(/[/\\\0]/);
    }
  });
});

describe('textToName', () => {
  it('round-trips random byte names, names of valid UTF-8 and names holding U+FFFD', () => {
    const pick = seeded(42);
    const names: Buffer[] = [];
    for (let n = 0; n < 5000; n++) names.push(randomName(pick));
    // Mostly-valid names too: UTF-8 text with a stray byte or a literal U+FFFD spliced in.
    for (let n = 0; n < 2000; n++) {
      const text = Buffer.from(['näme', '日本', '🎙', E, 'x'].map((p) => p.repeat(pick() % 3)).join(''), 'utf8');
      const at = pick() % (text.length + 1);
      names.push(Buffer.concat([text.subarray(0, at), randomName(pick).subarray(0, pick() % 3), text.subarray(at)]));
    }
    names.push(...[randomBytes(64), randomBytes(255)].map((b) => Buffer.from(b.map((x) => (x === 0 || x === 0x2f ? 0x41 : x)))));
    // Injective: one text is never the text of two names.
    const byText = new Map<string, string>();
    for (const name of names) {
      const text = nameToText(name);
      expect(textToName(text)).toEqual(name);
      expect(byText.get(text) ?? name.toString('hex')).toBe(name.toString('hex'));
      byText.set(text, name.toString('hex'));
    }
  });

  it('refuses malformed escapes and any text the encoding would not produce', () => {
    for (const text of [
      E, // an escape with nothing after it
      `a${E}`,
      `${E}E`,
      `${E}e9`, // lower-case hex
      `${E}G0`,
      `${E} E9`,
      `${E}41`, // 'A' needs no escape
      '\\', // a backslash needs one
      `${E}2F`, // nor '/'
      `${E}00`,
      `${E}C3${E}A9`, // é is valid UTF-8: it is its own text
      `${E}EF${E}BF${E}BD`, // a literal U+FFFD is written doubled
      '\uD800', // lone surrogates are not Unicode
      'a\uDC00b',
      '\uDBFF',
    ]) {
      expect(() => textToName(text)).toThrow(/is not the text of a file name/);
    }
  });
});

describe('paths', () => {
  it('joins names as bytes and gives the sourcePath text of a path under a root', () => {
    const root = Buffer.from('/srv/pbx');
    const dir = Buffer.concat([bytes(0x64, 0xe9), Buffer.from('pôt')]);
    const abs = joinPath(root, Buffer.from('recordings'), dir, Buffer.from('call-\xe9.wav', 'latin1'));
    expect(abs).toEqual(Buffer.concat([Buffer.from('/srv/pbx/recordings/'), dir, Buffer.from('/call-'), bytes(0xe9), Buffer.from('.wav')]));
    expect(sourcePathOf(root, abs)).toBe(`recordings/d${E}E9pôt/call-${E}E9.wav`);
    expect(joinPath(Buffer.from('/'), Buffer.from('x'))).toEqual(Buffer.from('/x'));
    expect(sourcePathOf(Buffer.from('/'), Buffer.from('/x/y'))).toBe('x/y');
    expect(() => sourcePathOf(root, Buffer.from('/srv/pbx2/x'))).toThrow(/is not under/);
  });
});

describe('insideSource (what --purge deletes)', () => {
  it('maps a sourcePath back to the bytes of its file under the source root', () => {
    expect(insideSource('/srv/pbx', `recordings/d${E}E9p/call-${E}E9.wav`)).toEqual(
      Buffer.concat([Buffer.from('/srv/pbx/recordings/d'), bytes(0xe9), Buffer.from('p/call-'), bytes(0xe9), Buffer.from('.wav')]),
    );
    expect(insideSource('/srv/pbx/', 'recordings/ütf8.wav')).toEqual(Buffer.from('/srv/pbx/recordings/ütf8.wav'));
  });

  it('refuses anything that would leave the source root, name it, or is not the text of a name', () => {
    for (const sourcePath of [
      '',
      '.',
      '..',
      '../x.wav',
      'recordings/../../etc/passwd',
      'recordings/./x.wav',
      'recordings//x.wav',
      '/etc/passwd',
      'recordings/',
      'recordings/x\0.wav',
      `recordings/${E}2E${E}2E/x.wav`, // '..' spelled as escapes
      `recordings/${E}2F/x.wav`, // an escaped '/'
      `recordings/${E}zz.wav`,
    ]) {
      expect(insideSource('/srv/pbx', sourcePath)).toBeNull();
    }
  });
});

/** A small deterministic generator (mulberry32): a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % 256;
  };
}
