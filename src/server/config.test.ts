import { describe, expect, test } from 'vitest';
import { ConfigError, DEFAULT_BODY_LIMIT_BYTES, parseListen, parseServeConfig, readServeConfigFile, reloadedConfig, SETTINGS, type ServeConfigFile } from './config.js';

describe('parseServeConfig', () => {
  test("defaults are SPEC.md's", () => {
    const config = parseServeConfig({}, {}, '/srv');
    expect(config).toEqual({
      listenHost: '127.0.0.1',
      listenPort: 3032,
      dataDir: '/srv/data',
      store: 'sqlite',
      dynamodbTable: 'logging-aggregator',
      dynamodbEndpoint: undefined,
      region: 'us-east-1',
      retentionNs: 30n * 86_400n * 1_000_000_000n,
      tokensFile: undefined,
      tokensEnv: undefined,
      bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
      dynamodbShards: 1,
      dynamodbHeadLines: 0,
      logLevel: 'warn',
      logRequests: false,
      shutdownGraceMs: 10_000,
      maxConnections: 512,
      maxQueries: 16,
      maxQueriesPerToken: 8,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      maxFilesPerHostDay: 10_000,
      tlsCert: undefined,
      tlsKey: undefined,
      tlsClientCa: undefined,
      trustedProxies: [],
      syslog: { udp: undefined, tcp: undefined, tls: undefined, tlsCert: undefined, tlsKey: undefined, tlsClientCa: undefined },
    });
  });

  test('syslog listeners: addresses from flags or env; TLS takes its own files or the HTTPS ones', () => {
    const config = parseServeConfig({ syslogUdp: '0.0.0.0:514', syslogTls: '[::]:6514', tlsCert: 'c.pem', tlsKey: 'k.pem', tlsClientCa: 'ca.pem' }, { DANIEL_SYSLOG_TCP: '601' }, '/srv');
    expect(config.syslog).toEqual({
      udp: { host: '0.0.0.0', port: 514 },
      tcp: { host: '127.0.0.1', port: 601 },
      tls: { host: '::', port: 6514 },
      tlsCert: '/srv/c.pem',
      tlsKey: '/srv/k.pem',
      tlsClientCa: '/srv/ca.pem',
    });
    // Own files: no HTTPS, and the HTTPS client CA does not apply to them.
    expect(parseServeConfig({ syslogTls: '6514', syslogTlsCert: 's.pem', syslogTlsKey: 's.key' }, {}, '/srv').syslog).toMatchObject({ tlsCert: '/srv/s.pem', tlsKey: '/srv/s.key', tlsClientCa: undefined });
    expect(parseServeConfig({}, {}, '/srv').tlsCert).toBeUndefined();
    expect(() => parseServeConfig({ syslogTls: '6514' }, {}, '/srv')).toThrow(/--syslog-tls \/ DANIEL_SYSLOG_TLS needs a certificate/);
    expect(() => parseServeConfig({ syslogTlsCert: 's.pem', syslogTlsKey: 's.key' }, {}, '/srv')).toThrow(/need --syslog-tls/);
    expect(() => parseServeConfig({ syslogTls: '6514', syslogTlsCert: 's.pem' }, {}, '/srv')).toThrow(/go together/);
    expect(() => parseServeConfig({}, { DANIEL_SYSLOG_UDP: 'nope' }, '/srv')).toThrow(/--syslog-udp \/ DANIEL_SYSLOG_UDP 'nope'/);
  });

  test('TLS files go together; trusted proxies are addresses', () => {
    expect(() => parseServeConfig({ tlsCert: 'c.pem' }, {}, '/srv')).toThrow(/--tls-key/);
    expect(() => parseServeConfig({ tlsClientCa: 'ca.pem' }, {}, '/srv')).toThrow(/needs --tls-cert/);
    expect(parseServeConfig({}, { DANIEL_TLS_CERT: 'c.pem', DANIEL_TLS_KEY: 'k.pem' }, '/srv')).toMatchObject({ tlsCert: '/srv/c.pem', tlsKey: '/srv/k.pem' });
    expect(parseServeConfig({}, { DANIEL_TRUSTED_PROXIES: '10.0.0.1, 192.168.0.0/16' }, '/srv').trustedProxies).toEqual(['10.0.0.1', '192.168.0.0/16']);
    expect(() => parseServeConfig({ trustedProxy: ['proxy.example'] }, {}, '/srv')).toThrow(/IP address or CIDR/);
  });

  test('environment applies, flags win over it', () => {
    const env = {
      DANIEL_LISTEN: '0.0.0.0:4000',
      DANIEL_DATA_DIR: '/var/lib/daniel',
      DANIEL_STORE: 'dynamodb',
      DANIEL_DYNAMODB_TABLE: 'logs',
      DANIEL_DYNAMODB_ENDPOINT: 'http://localhost:8000',
      AWS_REGION: 'eu-west-1',
      DANIEL_RETENTION: '7d',
      DANIEL_TOKENS_FILE: 'tokens.txt',
      DANIEL_TOKENS: 'read:abcdefgh',
    };
    const fromEnv = parseServeConfig({}, env, '/srv');
    expect(fromEnv).toMatchObject({ listenHost: '0.0.0.0', listenPort: 4000, dataDir: '/var/lib/daniel', store: 'dynamodb', dynamodbTable: 'logs', region: 'eu-west-1', tokensFile: '/srv/tokens.txt', tokensEnv: 'read:abcdefgh' });
    expect(fromEnv.retentionNs).toBe(7n * 86_400n * 1_000_000_000n);
    const fromFlags = parseServeConfig({ listen: '127.0.0.1:0', store: 'sqlite', retention: '12h', dataDir: 'd' }, env, '/srv');
    expect(fromFlags).toMatchObject({ listenPort: 0, store: 'sqlite', dataDir: '/srv/d', retentionNs: 12n * 3600n * 1_000_000_000n });
  });

  test('bad values are one ConfigError naming the flag and the variable', () => {
    const cases: [Parameters<typeof parseServeConfig>[0], Record<string, string>, string][] = [
      [{ listen: 'localhost' }, {}, '--listen'],
      [{ listen: '127.0.0.1:70000' }, {}, '--listen'],
      [{}, { DANIEL_LISTEN: '::1:80' }, 'DANIEL_LISTEN'],
      [{ store: 'postgres' }, {}, '--store'],
      [{ retention: 'forever' }, {}, '--retention'],
      [{ retention: '10s' }, {}, '--retention'],
      [{ dynamodbEndpoint: 'localhost:8000' }, {}, '--dynamodb-endpoint'],
      [{ dynamodbTable: 'a b' }, {}, '--dynamodb-table'],
      [{ bodyLimit: 'lots' }, {}, '--body-limit'],
      [{ dynamodbShards: '0' }, {}, '--dynamodb-shards'],
      [{ dynamodbShards: '1001' }, {}, '--dynamodb-shards'],
      [{ dynamodbShards: '2.5' }, {}, '--dynamodb-shards'],
      [{}, { DANIEL_DYNAMODB_SHARDS: 'many' }, 'DANIEL_DYNAMODB_SHARDS'],
      [{ logLevel: 'loud' }, {}, '--log-level'],
      [{}, { DANIEL_LOG_REQUESTS: 'maybe' }, 'DANIEL_LOG_REQUESTS'],
      [{ shutdownGrace: 'soon' }, {}, '--shutdown-grace'],
      [{ shutdownGrace: '2h' }, {}, '--shutdown-grace'],
    ];
    for (const [flags, env, named] of cases) {
      expect(() => parseServeConfig(flags, env), JSON.stringify(flags)).toThrow(ConfigError);
      expect(() => parseServeConfig(flags, env)).toThrow(named);
    }
  });

  test('shards, logging and the shutdown grace: flags over environment', () => {
    expect(parseServeConfig({}, { DANIEL_DYNAMODB_SHARDS: '8', DANIEL_LOG_LEVEL: 'INFO', DANIEL_LOG_REQUESTS: '1', DANIEL_SHUTDOWN_GRACE: '2s' })).toMatchObject({
      dynamodbShards: 8,
      logLevel: 'info',
      logRequests: true,
      shutdownGraceMs: 2000,
    });
    expect(parseServeConfig({ dynamodbShards: '1000', logLevel: 'error', shutdownGrace: '0s' }, { DANIEL_DYNAMODB_SHARDS: '8', DANIEL_LOG_LEVEL: 'info' })).toMatchObject({
      dynamodbShards: 1000,
      logLevel: 'error',
      shutdownGraceMs: 0,
    });
    expect(parseServeConfig({ logRequests: true }, { DANIEL_LOG_REQUESTS: '0' }).logRequests).toBe(true);
    expect(parseServeConfig({}, { DANIEL_LOG_REQUESTS: 'false' }).logRequests).toBe(false);
  });

  test('the DynamoDB live-tail settle window: flag over environment, 0 turns it off, unset leaves the store default', () => {
    expect(parseServeConfig({}, {}).dynamodbSettleMs).toBeUndefined();
    expect(parseServeConfig({}, { DANIEL_DYNAMODB_SETTLE: '2s' }).dynamodbSettleMs).toBe(2000);
    expect(parseServeConfig({ dynamodbSettle: '0' }, { DANIEL_DYNAMODB_SETTLE: '2s' }).dynamodbSettleMs).toBe(0);
    expect(parseServeConfig({ dynamodbSettle: '250ms' }, {}).dynamodbSettleMs).toBe(250);
    for (const bad of ['soon', '2m', '1.5ms', '-1s']) {
      expect(() => parseServeConfig({}, { DANIEL_DYNAMODB_SETTLE: bad })).toThrow('DANIEL_DYNAMODB_SETTLE');
    }
  });

  test('the DynamoDB host head: off unless asked for, flag over environment, bounded', () => {
    expect(parseServeConfig({}, {}).dynamodbHeadLines).toBe(0);
    expect(parseServeConfig({}, { DANIEL_DYNAMODB_HEAD_LINES: '128' }).dynamodbHeadLines).toBe(128);
    expect(parseServeConfig({ dynamodbHeadLines: '0' }, { DANIEL_DYNAMODB_HEAD_LINES: '128' }).dynamodbHeadLines).toBe(0);
    for (const bad of ['many', '1001', '-1', '1.5']) {
      expect(() => parseServeConfig({}, { DANIEL_DYNAMODB_HEAD_LINES: bad })).toThrow('DANIEL_DYNAMODB_HEAD_LINES');
    }
  });

  test('listen forms', () => {
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:3032')).toEqual({ host: '0.0.0.0', port: 3032 });
  });
});

describe('the --config file', () => {
  const file = (text: string, name = '/etc/daniel/daniel.yaml'): ServeConfigFile => readServeConfigFile(name, '/', () => text);

  test('every serve flag has a key (the flag in camelCase), and each one is taken from the file', () => {
    const yaml = `
listen: 0.0.0.0:4000
dataDir: data          # relative paths are read from the file's directory
store: dynamodb
dynamodbTable: logs
dynamodbEndpoint: http://localhost:8000
dynamodbShards: 4
dynamodbSettle: 250ms
dynamodbHeadLines: 128
region: eu-north-1
retention: 7d
tokensFile: tokens
bodyLimit: 16MiB
logLevel: info
logRequests: true
shutdownGrace: 20s
maxConnections: 100
maxQueries: 4
maxQueriesPerToken: 2
headersTimeout: 5s
requestTimeout: 2m
keepAliveTimeout: 30s
maxFilesPerHostDay: 500
tlsCert: tls/cert.pem
tlsKey: /etc/ssl/key.pem
tlsClientCa: tls/ca.pem
trustedProxy: [10.0.0.1, 192.168.0.0/16]
syslogUdp: 0.0.0.0:514
syslogTcp: 0.0.0.0:601
syslogTls: 0.0.0.0:6514
syslogTlsCert: tls/syslog-cert.pem
syslogTlsKey: tls/syslog-key.pem
syslogTlsClientCa: tls/syslog-ca.pem
`;
    const parsed = file(yaml);
    expect(Object.keys(parsed.values).sort()).toEqual(Object.keys(SETTINGS).sort());
    expect(parseServeConfig({}, {}, '/srv', parsed)).toEqual({
      listenHost: '0.0.0.0',
      listenPort: 4000,
      dataDir: '/etc/daniel/data',
      store: 'dynamodb',
      dynamodbTable: 'logs',
      dynamodbEndpoint: 'http://localhost:8000',
      dynamodbShards: 4,
      dynamodbSettleMs: 250,
      dynamodbHeadLines: 128,
      region: 'eu-north-1',
      retentionNs: 7n * 86_400n * 1_000_000_000n,
      tokensFile: '/etc/daniel/tokens',
      tokensEnv: undefined,
      bodyLimitBytes: 16 * 1024 * 1024,
      logLevel: 'info',
      logRequests: true,
      shutdownGraceMs: 20_000,
      maxConnections: 100,
      maxQueries: 4,
      maxQueriesPerToken: 2,
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 120_000,
      keepAliveTimeoutMs: 30_000,
      maxFilesPerHostDay: 500,
      tlsCert: '/etc/daniel/tls/cert.pem',
      tlsKey: '/etc/ssl/key.pem',
      tlsClientCa: '/etc/daniel/tls/ca.pem',
      trustedProxies: ['10.0.0.1', '192.168.0.0/16'],
      syslog: {
        udp: { host: '0.0.0.0', port: 514 },
        tcp: { host: '0.0.0.0', port: 601 },
        tls: { host: '0.0.0.0', port: 6514 },
        tlsCert: '/etc/daniel/tls/syslog-cert.pem',
        tlsKey: '/etc/daniel/tls/syslog-key.pem',
        tlsClientCa: '/etc/daniel/tls/syslog-ca.pem',
      },
      configFile: '/etc/daniel/daniel.yaml',
    });
  });

  test('flags win over the environment, which wins over the file', () => {
    const parsed = file('listen: 0.0.0.0:4000\nretention: 7d\nlogLevel: info\n');
    const config = parseServeConfig({ listen: '127.0.0.1:0' }, { DANIEL_RETENTION: '12h' }, '/srv', parsed);
    expect(config).toMatchObject({ listenHost: '127.0.0.1', listenPort: 0, retentionNs: 12n * 3600n * 1_000_000_000n, logLevel: 'info' });
    // A flag's relative path is read from the working directory, the file's from its own.
    expect(parseServeConfig({ dataDir: 'here' }, {}, '/srv', file('dataDir: there')).dataDir).toBe('/srv/here');
    expect(parseServeConfig({}, {}, '/srv', file('dataDir: there')).dataDir).toBe('/etc/daniel/there');
    // An empty file, or one of comments only, is no settings.
    expect(parseServeConfig({}, {}, '/srv', file('# nothing yet\n')).listenPort).toBe(3032);
  });

  test('unknown keys, bad values and a file that is not a mapping are one ConfigError naming the key and the file', () => {
    const cases: [string, RegExp][] = [
      ['data-dir: /x', /unknown setting 'data-dir' in \/etc\/daniel\/daniel\.yaml \(did you mean dataDir\?\)/],
      ['listn: 1', /unknown setting 'listn'/],
      ['listen: [1, 2]', /'listen' in \/etc\/daniel\/daniel\.yaml must be a single value/],
      ['listen:', /'listen' in .* must be given a value/],
      ['logRequests: maybe', /'logRequests' in .* must be true or false/],
      ['trustedProxy: {a: 1}', /'trustedProxy' in .* must be an address or a list/],
      ['- listen', /must hold a mapping of settings/],
      ['listen: "a: [', /is not valid YAML/],
      ['listen: 1\nlisten: 2', /is not valid YAML/],
    ];
    for (const [text, message] of cases) {
      expect(() => file(text), text).toThrow(ConfigError);
      expect(() => file(text), text).toThrow(message);
    }
    const bad: [string, RegExp][] = [
      ['listen: localhost', /'listen' in \/etc\/daniel\/daniel\.yaml 'localhost' must be HOST:PORT/],
      ['retention: forever', /'retention' in .* 'forever' must be a duration/],
      ['maxQueries: 0', /'maxQueries' in .* must be a whole number from 1/],
      ['store: postgres', /'store' in .* must be sqlite or dynamodb/],
      ['tlsCert: c.pem', /'tlsCert' in .* and --tls-key \/ DANIEL_TLS_KEY go together/],
    ];
    for (const [text, message] of bad) expect(() => parseServeConfig({}, {}, '/srv', file(text)), text).toThrow(message);
    expect(() => readServeConfigFile('/no/such/daniel.yaml', '/')).toThrow(/--config \/no\/such\/daniel\.yaml cannot be read: ENOENT/);
  });

  test('a reload applies the live settings and keeps the running value of the others, naming them', () => {
    const running = parseServeConfig({}, {}, '/srv', file('listen: 127.0.0.1:4000\nlogLevel: warn\nmaxConnections: 10'));
    const next = parseServeConfig({}, {}, '/srv', file('listen: 127.0.0.1:5000\nlogLevel: debug\nmaxConnections: 20\nretention: 1h\ntrustedProxy: 10.0.0.1'));
    const { config, restartOnly } = reloadedConfig(running, next);
    expect(restartOnly.sort()).toEqual(['listen', 'maxConnections', 'trustedProxy']);
    expect(config).toMatchObject({ listenPort: 4000, maxConnections: 10, trustedProxies: [], logLevel: 'debug', retentionNs: 3600n * 1_000_000_000n });
    expect(reloadedConfig(config, next).restartOnly.sort()).toEqual(['listen', 'maxConnections', 'trustedProxy']);
    expect(reloadedConfig(running, running).restartOnly).toEqual([]);
  });
});
