import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { html, page } from '../authorization/views.ts';
import { COMPRESSIBLE_EXTENSIONS, compressAsset, SERVE_BROTLI_QUALITY } from './compress-asset.ts';

/** The built web app in the package (`npm run build:web` writes it), unless console.assetsDir names another. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * The web app's pages: the SPA's index.html (it routes client-side) under a CSP that allows only our
 * own scripts, styles, images and connections; no inline script or style (the build emits files).
 */
export const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const APP_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': APP_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
/** Hashed names only: letters, digits, `-`, `_`, `.`, one level of folders at most. */
const ASSET_PATH = /^\/assets\/(?:[A-Za-z0-9_-]+\/)?[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

type Encoding = 'br' | 'gzip' | 'identity';
interface Asset {
  type: string;
  bodies: Partial<Record<Encoding, Buffer>>;
}

/**
 * Serves the built web app: `/console/*` and `/developers/*` answer index.html (`no-store`: fetched
 * each time, so a new build shows at once, and kept out of the back/forward cache, so Back after
 * sign-out does not bring back a signed-in page with its data and secrets); `/assets/*` the hashed
 * files (cached for a year, immutable), with the `.br` or `.gz` the build writes beside a file when the client accepts it.
 * A file without them is sent as it is until its compressed copies, made off the event loop, are
 * ready. Without a build, the pages answer 503 naming `npm run build:web`.
 */
export function createStaticAssets(dir: string, onError: (error: unknown) => void) {
  const root = resolve(dir);
  // Hashed files never change under one name: kept once read (a rebuild adds new names). A missing
  // file is not kept, so probing names costs no memory.
  const assets = new Map<string, Promise<Asset | null>>();
  let index: { mtimeMs: number; body: Buffer } | null = null;

  const readIndex = (): Buffer | null => {
    const file = join(root, 'index.html');
    if (!existsSync(file)) return null;
    const { mtimeMs } = statSync(file);
    if (!index || index.mtimeMs !== mtimeMs) index = { mtimeMs, body: readFileSync(file) };
    return index.body;
  };

  const readAsset = async (path: string): Promise<Asset | null> => {
    const file = resolve(root, `.${path}`);
    if (!file.startsWith(root + sep)) return null;
    const identity = await readIfFile(file);
    if (!identity) return null;
    const ext = extname(file);
    const asset: Asset = { type: TYPES[ext] ?? 'application/octet-stream', bodies: { identity } };
    if (!COMPRESSIBLE_EXTENSIONS.has(ext)) return asset;
    const [br, gzip] = await Promise.all([readIfFile(`${file}.br`), readIfFile(`${file}.gz`)]);
    if (br) asset.bodies.br = br;
    if (gzip) asset.bodies.gzip = gzip;
    if (!br || !gzip) {
      compressAsset(identity, SERVE_BROTLI_QUALITY).then((made) => {
        asset.bodies.br ??= made.br;
        asset.bodies.gzip ??= made.gzip;
      }, onError);
    }
    return asset;
  };

  const loadAsset = (path: string): Promise<Asset | null> => {
    let loading = assets.get(path);
    if (!loading) {
      loading = readAsset(path);
      assets.set(path, loading);
      // A failed read is reported by the request that waits on it; here it is only forgotten.
      loading.then(
        (asset) => asset ?? assets.delete(path),
        () => assets.delete(path),
      );
    }
    return loading;
  };

  const sendAsset = (req: IncomingMessage, res: ServerResponse, asset: Asset | null): void => {
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      return void res.end('Not found\n');
    }
    const encoding = pickEncoding(req.headers['accept-encoding'], asset);
    const body = asset.bodies[encoding]!;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'Accept-Encoding',
      'x-content-type-options': 'nosniff',
      ...(encoding === 'identity' ? {} : { 'content-encoding': encoding }),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return {
    dir: root,
    /** Whether this path is the web app's: its pages and assets. */
    handles(path: string): boolean {
      return path === '/' || path === '/console' || path === '/developers' || /^\/(?:console|developers|assets)\//.test(path);
    },
    serve(req: IncomingMessage, res: ServerResponse): void {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('Method not allowed\n');
      }
      if (path === '/') {
        res.writeHead(302, { location: '/console/', 'cache-control': 'no-cache' });
        return void res.end();
      }
      if (path.startsWith('/assets/')) {
        if (!ASSET_PATH.test(path)) return sendAsset(req, res, null);
        return void loadAsset(path).then(
          (asset) => sendAsset(req, res, asset),
          (error: unknown) => {
            onError(error);
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
            res.end('The file could not be read\n');
          },
        );
      }
      const body = readIndex();
      if (!body) {
        const text = page(
          'The web app is not built',
          html`<p>This Gatehouse has no built web app in <code>${root}</code>.</p>
            <p>Run <code>npm run build:web</code> (or set <code>console.assetsDir</code>), then reload this page.</p>`,
        );
        res.writeHead(503, { ...APP_PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'retry-after': '30' });
        return void res.end(req.method === 'HEAD' ? undefined : text);
      }
      res.writeHead(200, { ...APP_PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}

export type StaticAssets = ReturnType<typeof createStaticAssets>;

/** The file's bytes, or null when there is no such file (or it is a folder). */
async function readIfFile(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
    throw error;
  }
}

/** RFC 9110 §12.5.3: br, then gzip, when the client accepts them (q > 0); else the file as it is. */
function pickEncoding(header: string | string[] | undefined, asset: Asset): Encoding {
  const accepted = new Map<string, number>();
  for (const part of String(header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name, q ? Number(q.slice(2)) : 1);
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (asset.bodies.br && ok('br')) return 'br';
  if (asset.bodies.gzip && ok('gzip')) return 'gzip';
  return 'identity';
}
