import { describe, expect, test } from 'vitest';
import { ConfigError, DEFAULT_BODY_LIMIT_BYTES, parseListen, parseServeConfig } from './config.js';

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
      logLevel: 'warn',
      logRequests: false,
      shutdownGraceMs: 10_000,
      maxConnections: 512,
      maxQueries: 16,
      maxQueriesPerToken: 8,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
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

  test('listen forms', () => {
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:3032')).toEqual({ host: '0.0.0.0', port: 3032 });
  });
});
