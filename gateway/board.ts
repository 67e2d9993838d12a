/**
 * The CDS board (board/, a Vite + React single-page app) at `/board/`.
 *
 * Serves the build in board/dist from memory: `/board/assets/*` (file names
 * carry a content hash) with immutable caching and gzip, and `index.html`
 * for `/board/` and every other path below it (the board routes in the
 * browser), revalidated on each load. The build is read on the first request
 * that finds it, so building after the gateway started works; a missing build
 * answers 503 saying how to build it. The page holds no secret (the token is
 * pasted by the person and kept in the tab), so production serves it too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Route } from '../kernel/http';
import { CONTENT_TYPES, makeStaticAsset, sameHostSockets, serveStaticAsset, StaticAsset } from './static-assets';

export const BOARD_PATH = '/board';

export interface BoardOptions {
  /** the Vite build (board/dist); by default found next to the sources or the compiled gateway */
  distDir?: string;
  /** same-origin path of the GraphQL endpoint the board calls */
  graphqlPath?: string;
}

/** board/dist from the sources (gateway/) or from the compiled output (dist/gateway/). */
export function defaultBoardDist(): string {
  const candidates = [
    join(__dirname, '..', 'board', 'dist'),
    join(__dirname, '..', '..', 'board', 'dist'),
    join(process.cwd(), 'board', 'dist'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0];
}

interface Build {
  index: StaticAsset;
  assets: Map<string, StaticAsset>;
}

function readBuild(distDir: string): Build | null {
  const indexFile = join(distDir, 'index.html');
  if (!existsSync(indexFile)) return null;
  const assets = new Map<string, StaticAsset>();
  const walk = (dir: string, urlPrefix: string) => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) walk(file, `${urlPrefix}${name}/`);
      else if (name !== 'index.html' || urlPrefix !== `${BOARD_PATH}/`) {
        const type = CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
        const path = `${urlPrefix}${name}`;
        assets.set(path, makeStaticAsset(path, type, readFileSync(file)));
      }
    }
  };
  walk(distDir, `${BOARD_PATH}/`);
  return { index: makeStaticAsset(`${BOARD_PATH}/`, CONTENT_TYPES['.html'], readFileSync(indexFile)), assets };
}

function contentSecurityPolicy(host: string | undefined): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    // recordings play from the gateway's own playback route
    "media-src 'self'",
    `connect-src 'self'${sameHostSockets(host)}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const PAGE_HEADERS = {
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CDS board: not built</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The CDS board is not built</h1>
<p>This gateway serves the board from <code>board/dist</code>, which does not exist yet.
Build it with <code>npm run build:board</code> (<code>npm install</code> and <code>npm start</code> do this for you), then reload.</p>
</body></html>
`;

export function boardRoute(options: BoardOptions = {}): Route {
  const distDir = options.distDir ?? defaultBoardDist();
  let build: Build | null = null;
  return (req, res, url) => {
    const path = url.pathname;
    if (path !== BOARD_PATH && !path.startsWith(`${BOARD_PATH}/`)) return false;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('The board is read with GET.\n');
      return true;
    }
    if (path === BOARD_PATH) {
      res.writeHead(308, { location: `${BOARD_PATH}/${url.search}` });
      res.end();
      return true;
    }
    build ??= readBuild(distDir);
    if (!build) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '10' });
      res.end(method === 'HEAD' ? undefined : NOT_BUILT);
      return true;
    }
    const asset = build.assets.get(path);
    if (asset) {
      const hashed = path.startsWith(`${BOARD_PATH}/assets/`);
      serveStaticAsset(req, res, asset, hashed ? undefined : 'no-cache');
      return true;
    }
    // A missing file under assets/ is a 404 (an old page asking for a file of an earlier build), not the page.
    if (path.startsWith(`${BOARD_PATH}/assets/`) || extname(path).toLowerCase() in CONTENT_TYPES) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : `No file at ${path}\n`);
      return true;
    }
    // Every other path below /board/ is one of the board's pages: the SPA's index.html, revalidated on every load.
    serveStaticAsset(req, res, build.index, 'no-cache', {
      'content-security-policy': contentSecurityPolicy(req.headers.host),
      ...PAGE_HEADERS,
    });
    return true;
  };
}
