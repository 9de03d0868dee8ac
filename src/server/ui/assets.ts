/**
 * The built web UI (ui-dist/, made by `npm run build`) held in memory: it is small, and
 * serving from a fixed map means no request path ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UiAsset {
  body: Buffer;
  /** The precompressed .gz sibling written by the build, when there is one. */
  gzip: Buffer | undefined;
  contentType: string;
  etag: string;
  /** Content-hashed names never change content, so clients may cache them for good. */
  immutable: boolean;
}

export interface UiAssets {
  index: UiAsset;
  /** Files under ui-dist/ui/, by file name. */
  files: Map<string, UiAsset>;
}

/** ui-dist/ beside src/ and dist/ (this module is three levels down in both). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../ui-dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** `main-N7JZOIEJ.js`, `favicon-f2346a15d0.svg`: esbuild's and our own content hashes. */
const HASHED_NAME = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/;

function loadAsset(path: string, name: string): UiAsset {
  const body = readFileSync(path);
  const gzPath = `${path}.gz`;
  return {
    body,
    gzip: existsSync(gzPath) ? readFileSync(gzPath) : undefined,
    contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    immutable: HASHED_NAME.test(name),
  };
}

/** Reads a built UI from `dir`; undefined when it has not been built. */
export function loadUiAssets(dir: string): UiAssets | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  const files = new Map<string, UiAsset>();
  const assetDir = join(dir, 'ui');
  if (existsSync(assetDir)) {
    for (const entry of readdirSync(assetDir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.endsWith('.gz')) continue;
      files.set(entry.name, loadAsset(join(assetDir, entry.name), entry.name));
    }
  }
  return { index: loadAsset(indexPath, 'index.html'), files };
}
