/**
 * A GraphiQL 3 IDE served entirely from this process: no CDN, no internet.
 *
 * React 18, ReactDOM 18 and GraphiQL's UMD builds come from node_modules; they
 * are read once (on the first `ideRoute()` call), kept in memory (plus a gzip
 * copy) and served under `/ide/assets/<content hash>/<file>` with immutable
 * cache headers. The page itself carries the dev token, so it is never cached.
 *
 * Content-Security-Policy: scripts only from 'self' (the page's configuration
 * is a JSON data block read by our own boot script, so no inline script, and
 * nothing in GraphiQL needs 'unsafe-eval'); styles from 'self' plus a
 * per-response nonce, which GraphiQL's dialogs (react-remove-scroll) put on
 * the one <style> element they inject via `window.__webpack_nonce__`; fonts
 * and images only as data: URIs (GraphiQL's CSS embeds its fonts); fetch and
 * WebSocket only to our own origin.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Route } from '../kernel/http';
import { makeStaticAsset, sameHostSockets, serveStaticAsset, StaticAsset } from './static-assets';

export interface IdeOptions {
  /** same-origin path of the GraphQL endpoint, e.g. `/graphql` (subscriptions: ws(s):// on the same host and path) */
  graphqlPath: string;
  /** pre-fills the headers editor with `{"Authorization": "Bearer <defaultToken>"}` on every load */
  defaultToken?: string;
  /** the query of the first tab when the browser has no saved GraphiQL tabs */
  defaultQuery?: string;
  /** the variables (JSON text) of the first tab when the browser has no saved GraphiQL tabs */
  defaultVariables?: string;
  /** the page title */
  title?: string;
}

const ASSET_PREFIX = '/ide/assets/';
const PAGE_PATHS = new Set(['/', '/ide', '/ide/']);

/** Runs in the browser after React, ReactDOM and GraphiQL; reads #graphiql-config. */
const BOOT_JS = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  // react-remove-scroll (GraphiQL's dialogs) puts this nonce on the <style> it injects.
  window.__webpack_nonce__ = config.styleNonce;
  var endpoint = new URL(config.graphqlPath, window.location.href);
  var subscriptions = new URL(endpoint.href);
  subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
  var props = {
    fetcher: GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: subscriptions.href }),
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: config.defaultHeaders ? 'headers' : config.defaultVariables ? 'variables' : false
  };
  if (config.defaultHeaders) props.defaultHeaders = config.defaultHeaders;
  if (config.defaultQuery !== undefined) props.defaultQuery = config.defaultQuery;
  // GraphiQL has no defaultVariables prop (and a defaultTabs tab's variables never reach the editor), so on a
  // first visit, i.e. with no saved tabs, the default variables are passed as the variables prop.
  if (config.defaultVariables !== undefined && !hasSavedTabs()) props.variables = config.defaultVariables;
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));

  function hasSavedTabs() {
    try {
      return window.localStorage.getItem('graphiql:tabState') !== null;
    } catch (error) {
      return false;
    }
  }
})();
`;

const IDE_CSS = `html, body { height: 100%; margin: 0; overflow: hidden; }
#graphiql { height: 100vh; }
.ide-loading { font: 14px/1.5 system-ui, sans-serif; color: #555; padding: 2rem; }
`;

let cachedAssets: { byPath: Map<string, StaticAsset>; css: string[]; js: string[] } | undefined;

function packageFile(pkg: string, file: string): string {
  // graphiql/react/react-dom restrict subpaths with "exports"; their package.json is always resolvable.
  return join(dirname(require.resolve(`${pkg}/package.json`)), file);
}

function makeAsset(name: string, type: string, content: Buffer): StaticAsset {
  return makeStaticAsset((hash) => `${ASSET_PREFIX}${hash}/${name}`, type, content);
}

function loadAssets(): NonNullable<typeof cachedAssets> {
  if (cachedAssets) return cachedAssets;
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  // The published source map is not shipped to the browser; drop the dangling reference to it.
  const stripMap = (buffer: Buffer) => Buffer.from(buffer.toString('utf8').replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  const scripts = [
    makeAsset('react.production.min.js', js, readFileSync(packageFile('react', 'umd/react.production.min.js'))),
    makeAsset('react-dom.production.min.js', js, readFileSync(packageFile('react-dom', 'umd/react-dom.production.min.js'))),
    makeAsset('graphiql.min.js', js, stripMap(readFileSync(packageFile('graphiql', 'graphiql.min.js')))),
    makeAsset('ide.js', js, Buffer.from(BOOT_JS)),
  ];
  const styles = [
    makeAsset('graphiql.min.css', css, readFileSync(packageFile('graphiql', 'graphiql.min.css'))),
    makeAsset('ide.css', css, Buffer.from(IDE_CSS)),
  ];
  cachedAssets = {
    byPath: new Map([...scripts, ...styles].map((asset) => [asset.path, asset])),
    js: scripts.map((asset) => asset.path),
    css: styles.map((asset) => asset.path),
  };
  return cachedAssets;
}

/** JSON safe to embed in HTML (inside a <script> data block): no `<`, `>`, `&`, U+2028/9 left raw. */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function contentSecurityPolicy(nonce: string, host: string | undefined): string {
  const sockets = sameHostSockets(host);
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    'font-src data:',
    'img-src data:',
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Serves GraphiQL at `GET /` and `GET /ide`, and its assets under `/ide/assets/`. */
export function ideRoute(options: IdeOptions): Route {
  const { graphqlPath } = options;
  if (!graphqlPath.startsWith('/') || graphqlPath.startsWith('//')) {
    throw new Error(`ideRoute: graphqlPath must be a same-origin absolute path such as /graphql (got '${graphqlPath}')`);
  }
  const assets = loadAssets();
  const config = {
    graphqlPath,
    defaultQuery: options.defaultQuery,
    defaultVariables: options.defaultVariables,
    defaultHeaders:
      options.defaultToken === undefined ? undefined : JSON.stringify({ Authorization: `Bearer ${options.defaultToken}` }, null, 2),
  };
  const title = escapeHtml(options.title ?? 'GraphiQL');
  const page = (nonce: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="data:,">
${assets.css.map((href) => `<link rel="stylesheet" href="${href}">`).join('\n')}
</head>
<body>
<div id="graphiql"><div class="ide-loading">Loading GraphiQL…<noscript> (JavaScript is required)</noscript></div></div>
<script id="graphiql-config" type="application/json">${jsonForHtml({ ...config, styleNonce: nonce })}</script>
${assets.js.map((src) => `<script src="${src}"></script>`).join('\n')}
</body>
</html>
`;

  return (req, res, url) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const path = url.pathname;
    if (path.startsWith(ASSET_PREFIX)) {
      const asset = assets.byPath.get(path);
      if (!asset) return false;
      serveStaticAsset(req, res, asset);
      return true;
    }
    if (!PAGE_PATHS.has(path)) return false;
    // If GraphQL itself lives at this path, leave GraphQL-over-GET and non-browser requests to it.
    if (path === graphqlPath && (url.searchParams.has('query') || !String(req.headers.accept ?? '').includes('text/html'))) return false;
    const nonce = randomBytes(16).toString('base64');
    const body = Buffer.from(page(nonce));
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      // The page embeds the dev token and a per-response nonce.
      'cache-control': 'no-store',
      'content-security-policy': contentSecurityPolicy(nonce, req.headers.host),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    });
    res.end(method === 'HEAD' ? undefined : body);
    return true;
  };
}
