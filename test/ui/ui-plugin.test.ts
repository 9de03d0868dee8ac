import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../scripts/ui-bundle.mjs';
import { acceptsGzip, CONTENT_SECURITY_POLICY, uiPlugin } from '../../src/server/ui/plugin.js';

let dir: string;
let app: FastifyInstance;
let assetPaths: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ui-plugin-'));
  await build({ outDir: join(dir, 'ui-dist'), quiet: true });
  app = Fastify();
  await app.register(uiPlugin, { dir: join(dir, 'ui-dist') });
  const html = (await app.inject({ url: '/' })).body;
  assetPaths = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
}, 60_000);

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('uiPlugin', () => {
  it('serves index.html at / with a strict CSP and no inline script or style', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(response.body).not.toMatch(/<style|\sstyle=/);
    expect(assetPaths.some((p) => p.endsWith('.js'))).toBe(true);
    expect(assetPaths.some((p) => p.endsWith('.css'))).toBe(true);
  });

  it('serves hashed assets with a long cache, gzip when accepted and identity otherwise', async () => {
    for (const path of assetPaths) {
      const plain = await app.inject({ url: path });
      expect(plain.statusCode).toBe(200);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-encoding']).toBeUndefined();
      const zipped = await app.inject({ url: path, headers: { 'accept-encoding': 'br, gzip;q=0.8' } });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toBe('accept-encoding');
      expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    }
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await app.inject({ url: '/' });
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('answers an unknown asset with the API error shape', async () => {
    const response = await app.inject({ url: '/ui/main-0000000000.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('serves no file outside the built assets', async () => {
    for (const url of ['/ui/../package.json', '/ui/%2e%2e%2fpackage.json', '/ui/nope.js', '/ui/ui']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body).not.toContain('logging-aggregator');
    }
  });

  it('answers 503 with how to build when ui-dist is missing', async () => {
    const bare = Fastify();
    await bare.register(uiPlugin, { dir: join(dir, 'missing') });
    const response = await bare.inject({ url: '/' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toBe('UI not built: run npm run build\n');
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await bare.close();
  });

  it('registers alongside ignoreTrailingSlash', async () => {
    const slashless = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
    await slashless.register(uiPlugin, { dir: join(dir, 'ui-dist') });
    expect((await slashless.inject({ url: '/ui' })).statusCode).toBe(200);
    expect((await slashless.inject({ url: '/ui/' })).statusCode).toBe(200);
    await slashless.close();
  });

  it('reads Accept-Encoding as RFC 9110 says', () => {
    expect(acceptsGzip('gzip, deflate')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('br')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
