import { describe, expect, test } from 'vitest';
import { decodeOtlpJson, decodeOtlpProtobuf, ExportLogsServiceRequest } from './otlp.js';

const request = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'host.name', value: { stringValue: 'web-1' } }, { key: 'service.name', value: { stringValue: 'api' } }] },
      scopeLogs: [
        {
          logRecords: [
            { timeUnixNano: '5', severityNumber: 9, body: { stringValue: 'a' } },
            { timeUnixNano: '6', severityNumber: 9, body: { stringValue: 'b' }, traceId: '', spanId: '' },
            { timeUnixNano: '7', severityNumber: 13, body: { stringValue: 'c' } },
            { timeUnixNano: '8', severityNumber: 13, body: { stringValue: 'd' }, attributes: [{ key: 'k', value: { intValue: '3' } }] },
            { timeUnixNano: '9', body: { stringValue: 'e' }, traceId: '0af7651916cd43dd8448eb211c80319c', eventName: 'ev' },
            { timeUnixNano: '10', severityNumber: 13, body: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } },
          ],
        },
      ],
    },
  ],
};

const expected = [
  { timestamp: 5n, line: 'a', fields: { 'host.name': 'web-1', 'service.name': 'api', level: 'info' } },
  { timestamp: 6n, line: 'b', fields: { 'host.name': 'web-1', 'service.name': 'api', level: 'info' } },
  { timestamp: 7n, line: 'c', fields: { 'host.name': 'web-1', 'service.name': 'api', level: 'warn' } },
  { timestamp: 8n, line: 'd', fields: { 'host.name': 'web-1', 'service.name': 'api', k: '3', level: 'warn' } },
  { timestamp: 9n, line: 'e', fields: { 'host.name': 'web-1', 'service.name': 'api', trace_id: '0af7651916cd43dd8448eb211c80319c', event_name: 'ev' } },
  { timestamp: 10n, line: '{"x":true}', fields: { 'host.name': 'web-1', 'service.name': 'api', level: 'warn' } },
];

/** The protobuf form: ids as bytes (protobufjs reads a string given for bytes as base64). */
function protobufOf(json: typeof request): Uint8Array {
  const copy = structuredClone(json) as unknown as { resourceLogs: { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[] };
  for (const record of copy.resourceLogs[0]!.scopeLogs[0]!.logRecords) {
    for (const name of ['traceId', 'spanId']) if (typeof record[name] === 'string') record[name] = Buffer.from(record[name], 'hex');
  }
  return ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(copy)).finish();
}

describe('OTLP records into entries', () => {
  test('resource attributes, then the record attributes, level, ids and event name, in that order (JSON and protobuf)', () => {
    for (const batches of [decodeOtlpJson(request, {}, 1n), decodeOtlpProtobuf(protobufOf(request), {}, 1n)]) {
      expect(batches).toHaveLength(1);
      expect(batches[0]!.host).toBe('web-1');
      expect(batches[0]!.filename).toBe('api');
      const entries = batches[0]!.entries;
      expect(entries.map((entry) => entry.line)).toEqual(expected.map((entry) => entry.line));
      expect(entries.map((entry) => entry.timestamp)).toEqual(expected.map((entry) => entry.timestamp));
      expect(entries.map((entry) => entry.fields)).toEqual(expected.map((entry) => entry.fields));
      expect(entries.map((entry) => Object.keys(entry.fields!))).toEqual(expected.map((entry) => Object.keys(entry.fields)));
    }
  });

  test('a bad id is refused wherever the record is', () => {
    const bad = structuredClone(request);
    (bad.resourceLogs[0]!.scopeLogs[0]!.logRecords[1] as { traceId?: string }).traceId = 'zz';
    expect(() => decodeOtlpJson(bad, {}, 1n)).toThrow(/not hex/);
  });
});
