import { describe, expect, it } from 'vitest';
import { ConfigError, parseSize, resolveAgentConfig } from './config.js';

const files: Record<string, string> = {
  'a.yaml': `
server: http://daniel:3032
token: from-file
sources:
  - paths: [/var/log/*.log, "/var/log/**/*.log"]
    exclude: ["*.1"]
    timezone: Europe/Oslo
    multiline: java
  - paths: /srv/app/out.log
    multiline: { start: "^\\\\d{4}-" }
spoolMaxBytes: 2GiB
`,
  'b.json': '{"paths": ["/tmp/x.log"], "token": "j"}',
  'token.txt': 'dnl_from-token-file\n',
  'empty.txt': '\n',
  'ca.pem': '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  'bad.yaml': 'sources: [ {paths: }',
  'typo.yaml': 'tokn: x',
  'zone.yaml': 'sources: [{paths: [/a], timezone: Mars/Base}]',
  'regex.yaml': 'sources: [{paths: [/a], multiline: {start: "("}}]',
};
const read = (f: string): string => {
  const text = files[f];
  if (text === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
  return text;
};

describe('resolveAgentConfig', () => {
  it('takes flags over env over file over defaults', () => {
    const o = resolveAgentConfig({ token: 'flag' }, ['/x/*.log'], { HENRIK_TOKEN: 'env', HENRIK_HOST: 'envhost' }, read);
    expect(o.token).toBe('flag');
    expect(o.host).toBe('envhost');
    expect(o.server).toBe('http://127.0.0.1:3032');
    expect(o.stateDir).toBe('./henrik-state');
    expect(o.sources).toEqual([{ paths: ['/x/*.log'], exclude: [] }]);
  });

  it('reads the token from --token-file or HENRIK_TOKEN_FILE, and the CA from --ca', () => {
    expect(resolveAgentConfig({ tokenFile: 'token.txt' }, ['/x'], { HENRIK_TOKEN: 'env' }, read).token).toBe('dnl_from-token-file');
    expect(resolveAgentConfig({}, ['/x'], { HENRIK_TOKEN_FILE: 'token.txt' }, read).token).toBe('dnl_from-token-file');
    expect(() => resolveAgentConfig({ tokenFile: 'empty.txt' }, ['/x'], {}, read)).toThrow(/--token-file empty.txt is empty/);
    expect(() => resolveAgentConfig({ tokenFile: 'nope.txt' }, ['/x'], {}, read)).toThrow(/--token-file nope.txt cannot be read/);
    expect(resolveAgentConfig({ tokenFile: 'token.txt', ca: 'ca.pem' }, ['/x'], {}, read).ca).toContain('BEGIN CERTIFICATE');
    expect(() => resolveAgentConfig({ token: 't', cert: 'ca.pem' }, ['/x'], {}, read)).toThrow(/--cert and --key go together/);
  });

  it('reads YAML sources with excludes, zones and multiline rules', () => {
    const o = resolveAgentConfig({ config: 'a.yaml' }, [], {}, read);
    expect(o.server).toBe('http://daniel:3032');
    expect(o.token).toBe('from-file');
    expect(o.spoolMaxBytes).toBe(2 * 1024 ** 3);
    expect(o.sources).toEqual([
      { paths: ['/var/log/*.log', '/var/log/**/*.log'], exclude: ['*.1'], timezone: 'Europe/Oslo', multiline: { preset: 'java' } },
      { paths: ['/srv/app/out.log'], exclude: [], multiline: { start: '^\\d{4}-' } },
    ]);
  });

  it('takes compression zstd, br or gzip and refuses anything else', () => {
    const withCompression = (value: unknown) => (f: string): string => (f === 'c.json' ? JSON.stringify({ paths: ['/tmp/x.log'], token: 'j', compression: value }) : read(f));
    expect(resolveAgentConfig({ config: 'c.json' }, [], {}, withCompression('gzip')).compression).toBe('gzip');
    expect(resolveAgentConfig({ config: 'c.json' }, [], {}, withCompression('br')).compression).toBe('br');
    expect(resolveAgentConfig({ config: 'c.json' }, [], {}, withCompression('zstd')).compression).toBe('zstd');
    expect(resolveAgentConfig({ config: 'b.json' }, [], {}, read).compression).toBeUndefined();
    for (const bad of ['lz4', 'BR', 1, null]) expect(() => resolveAgentConfig({ config: 'c.json' }, [], {}, withCompression(bad))).toThrow(/config: compression/);
  });

  it('takes gzipLevel from 0 to 9 and refuses anything else', () => {
    const withLevel = (level: unknown): string => JSON.stringify({ paths: ['/tmp/x.log'], token: 'j', gzipLevel: level });
    const readLevel = (level: unknown) => (f: string): string => (f === 'level.json' ? withLevel(level) : read(f));
    expect(resolveAgentConfig({ config: 'level.json' }, [], {}, readLevel(0)).gzipLevel).toBe(0);
    expect(resolveAgentConfig({ config: 'level.json' }, [], {}, readLevel(9)).gzipLevel).toBe(9);
    expect(resolveAgentConfig({ config: 'b.json' }, [], {}, read).gzipLevel).toBeUndefined();
    for (const bad of [-1, 10, 1.5, '1']) expect(() => resolveAgentConfig({ config: 'level.json' }, [], {}, readLevel(bad))).toThrow(/gzipLevel/);
  });

  it('reads JSON', () => {
    const o = resolveAgentConfig({ config: 'b.json' }, [], {}, read);
    expect(o.sources[0]!.paths).toEqual(['/tmp/x.log']);
  });

  it.each([
    [{}, ['/x'], {}, /no token/],
    [{ token: 't' }, [], {}, /nothing to watch/],
    [{ token: 't', server: 'ftp://x' }, ['/x'], {}, /http/],
    [{ token: 't', server: 'not a url' }, ['/x'], {}, /not a URL|holds a character/],
    [{ token: 't', server: 'ftp//nowhere' }, ['/x'], {}, /not a URL/],
    [{ config: 'missing.yaml', token: 't' }, ['/x'], {}, /cannot read --config missing.yaml: ENOENT/],
    [{ config: 'bad.yaml', token: 't' }, [], {}, /not valid YAML/],
    [{ config: 'typo.yaml', token: 't' }, ['/x'], {}, /unknown setting 'tokn'/],
    [{ config: 'zone.yaml', token: 't' }, [], {}, /IANA zone/],
    [{ config: 'regex.yaml', token: 't' }, [], {}, /does not compile/],
  ])('rejects %j %j with one clear sentence', (flags, args, env, message) => {
    expect(() => resolveAgentConfig(flags, args, env, read)).toThrow(ConfigError);
    expect(() => resolveAgentConfig(flags, args, env, read)).toThrow(message);
  });

  it('parses sizes', () => {
    expect(parseSize('256KiB')).toBe(262144);
    expect(parseSize('1 GiB')).toBe(1024 ** 3);
    expect(parseSize(10)).toBe(10);
    expect(parseSize('lots')).toBeUndefined();
  });

  it('refuses a token, host or server with a trailing CR (a CRLF env file) or other bad characters, saying why', () => {
    const run = (env: Record<string, string>) => () => resolveAgentConfig({}, ['/var/log/*.log'], { HENRIK_TOKEN: 'tok', ...env });
    expect(run({ HENRIK_TOKEN: 'tok\r' })).toThrow(/token ends with a carriage return.*CRLF/);
    expect(run({ HENRIK_HOST: 'box\r' })).toThrow(/--host 'box\\r' ends with a carriage return/);
    expect(run({ HENRIK_SERVER: 'http://127.0.0.1:3032\r' })).toThrow(/--server ends with a carriage return/);
    expect(run({ HENRIK_TOKEN: 'to ken' })).toThrow(/token holds a character that is not allowed/);
    expect(run({ HENRIK_HOST: 'a\u001bb' })).toThrow(/control character/);
    expect(run({ HENRIK_SERVER: 'http://user:pw@daniel:3032' })).toThrow(/user or password/);
    expect(run({ HENRIK_SERVER: 'http://daniel:3032/?x=1' })).toThrow(/without \?query/);
    expect(() => resolveAgentConfig({}, ['/var/log/*.log'], { HENRIK_TOKEN: 'tok' })).not.toThrow();
  });

  it('followSymlinks: per source in the file, at the top for the command line paths, or --follow-symlinks; anything but a boolean is refused', () => {
    const yaml = (text: string) => () => text;
    const o = resolveAgentConfig({ token: 'tok', config: 'c.yaml' }, [], {}, yaml('sources:\n  - paths: [/var/log/*.log]\n    followSymlinks: true\n  - paths: [/srv/*.log]\n'));
    expect(o.sources.map((s) => s.followSymlinks === true)).toEqual([true, false]);
    expect(resolveAgentConfig({ token: 'tok', config: 'c.yaml' }, ['/x/*.log'], {}, yaml('followSymlinks: true\n')).sources[0]?.followSymlinks).toBe(true);
    expect(resolveAgentConfig({ token: 'tok', followSymlinks: true }, ['/x/*.log'], {}).sources[0]?.followSymlinks).toBe(true);
    expect(resolveAgentConfig({ token: 'tok' }, ['/x/*.log'], {}).sources[0]?.followSymlinks).toBeUndefined();
    expect(() => resolveAgentConfig({ token: 'tok', config: 'c.yaml' }, [], {}, yaml('sources:\n  - paths: [/x]\n    followSymlinks: yes please\n'))).toThrow(/sources\[0\]\.followSymlinks must be true or false/);
  });
});

describe('per-source labels', () => {
  const withFile = (text: string, positional: string[] = []) =>
    resolveAgentConfig({ config: 'l.yaml' }, positional, { HENRIK_TOKEN: 'tok' }, (f) => (f === 'l.yaml' ? text : read(f)));

  it('takes labels per source and at the top level for the command-line source', () => {
    const o = withFile('sources:\n  - paths: /srv/api/*.log\n    labels: {service: api, tier: 2}\n  - paths: /srv/web/*.log\n');
    expect(o.sources[0]?.labels).toEqual({ service: 'api', tier: '2' });
    expect(o.sources[1]?.labels).toBeUndefined();
    expect(withFile('labels: {service: batch}\n', ['/x/*.log']).sources[0]?.labels).toEqual({ service: 'batch' });
    expect(withFile('paths: [/x/*.log]\nlabels: {env: prod}\n').sources[0]?.labels).toEqual({ env: 'prod' });
  });

  it('refuses labels that Daniel could not store, naming the setting', () => {
    expect(() => withFile('sources: [{paths: /a, labels: [api]}]')).toThrow(/sources\[0\]\.labels must be a mapping/);
    expect(() => withFile('sources: [{paths: /a, labels: {service: {x: 1}}}]')).toThrow(/labels\.service must be a string/);
    expect(() => withFile('sources: [{paths: /a, labels: {"a b": x}}]')).toThrow(/label name "a b"/);
    expect(() => withFile('sources: [{paths: /a, labels: {host: x}}]')).toThrow(/'host' names the line's own host/);
    expect(() => withFile(`sources: [{paths: /a, labels: {${'n'.repeat(129)}: x}}]`)).toThrow(/1 to 128 bytes/);
    expect(() => withFile(`sources: [{paths: /a, labels: {v: ${'x'.repeat(1025)}}}]`)).toThrow(/over 1024 bytes/);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(() => withFile(JSON.stringify({ sources: [{ paths: '/a', labels: many }] }))).toThrow(/65 labels; at most 64/);
  });
});
