/**
 * The `--config` file's one schema (TypeBox): every key, its type, and the default and unit
 * docs/agent.md shows for it (`x-default`, `x-unit`; config-docs.test.ts checks the docs'
 * tables against this). Adding a key is one line here, one row in the docs, and reading
 * it in config.ts. Meaning checks the schema cannot say (a zone that exists, a regex that
 * compiles, a size's text) stay in config.ts.
 *
 * TypeBox is loaded only when a config file is read: it costs the agent ~20 MiB of resident
 * memory, which a Henrik started with flags alone (most of them) never pays.
 */
import { createRequire } from 'node:module';
import type { TObject, TSchema } from 'typebox';

type TypeBox = typeof import('typebox');
type ValueModule = typeof import('typebox/value');

const load = createRequire(import.meta.url);

function build(): { file: TObject; source: TObject } {
  const { Type } = load('typebox') as TypeBox;
  const docs = (defaultText: string, unit = ''): Record<string, string> => ({ 'x-default': defaultText, 'x-unit': unit });
  const globs = (more: Record<string, unknown> = {}): TSchema => Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], more);
  /** Bytes, or text like `256KiB` (parsed by parseSize in config.ts). */
  const size = (more: Record<string, unknown>): TSchema => Type.Union([Type.Integer({ minimum: 1 }), Type.String()], more);
  const positive = (more: Record<string, unknown>): TSchema => Type.Number({ exclusiveMinimum: 0, ...more });
  const multiline = Type.Union([
    Type.String(),
    Type.Object(
      {
        start: Type.Optional(Type.String()),
        continue: Type.Optional(Type.String()),
        preset: Type.Optional(Type.String()),
        timeoutMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      },
      { additionalProperties: false },
    ),
  ]);
  const sourceKeys = {
    paths: globs({ 'x-required': 'required' }),
    exclude: Type.Optional(globs({ 'x-required': 'optional' })),
    timezone: Type.Optional(Type.String({ 'x-required': 'optional' })),
    multiline: Type.Optional(Type.Union(multiline.anyOf, { 'x-required': 'optional' })),
    // labels (labels.ts) and followSymlinks (config.ts) are checked there, with their own messages.
    labels: Type.Optional(Type.Unknown({ 'x-required': 'optional' })),
    followSymlinks: Type.Optional(Type.Unknown({ 'x-required': 'optional' })),
  };
  const source = Type.Object(sourceKeys, { additionalProperties: false });
  const file = Type.Object(
    {
      server: Type.Optional(Type.String(docs('`http://127.0.0.1:3032`', 'URL'))),
      token: Type.Optional(Type.String(docs('none'))),
      host: Type.Optional(Type.String(docs('host name'))),
      stateDir: Type.Optional(Type.String(docs('`./henrik-state`', 'path'))),
      paths: Type.Optional(globs(docs('none', 'list of globs'))),
      exclude: Type.Optional(globs(docs('`[]`', 'list of globs'))),
      timezone: Type.Optional(Type.String(docs('`TZ`, else the system zone', 'IANA name'))),
      multiline: Type.Optional(Type.Union(multiline.anyOf, docs('off', 'rule'))),
      labels: Type.Optional(Type.Unknown(docs('none', 'mapping'))),
      followSymlinks: Type.Optional(Type.Unknown(docs('`false`', 'boolean'))),
      // true, a mapping or a list of them: checked by config.ts's journald reader.
      journald: Type.Optional(Type.Unknown(docs('none', '`true`, a mapping or a list'))),
      sources: Type.Optional(Type.Array(source, docs('none', 'list'))),
      maxLineBytes: Type.Optional(size(docs('256 KiB', 'bytes'))),
      batchMaxLines: Type.Optional(positive(docs('10,000', 'lines'))),
      batchMaxBytes: Type.Optional(size(docs('1 MiB', 'bytes'))),
      flushIntervalMs: Type.Optional(positive(docs('1000', 'ms'))),
      spoolMaxBytes: Type.Optional(size(docs('1 GiB', 'bytes'))),
      compression: Type.Optional(Type.Union([Type.Literal('zstd'), Type.Literal('br'), Type.Literal('gzip')], docs('zstd', '`zstd`, `br`, `gzip`'))),
      gzipLevel: Type.Optional(Type.Integer({ minimum: 0, maximum: 9, ...docs('1', '0 to 9') })),
      scanIntervalMs: Type.Optional(positive(docs('1000', 'ms'))),
      stopTimeoutMs: Type.Optional(positive(docs('10,000', 'ms'))),
    },
    { additionalProperties: false },
  );
  return { file, source };
}

let schemas: { file: TObject; source: TObject } | undefined;

/** The config file's schema and a source's (built at the first call). */
export function agentConfigSchemas(): { file: TObject; source: TObject } {
  return (schemas ??= build());
}

/** JSON-pointer `/sources/0/paths` as people write it: `sources[0].paths`. */
function where(pointer: string): string {
  return pointer
    .split('/')
    .filter((part) => part !== '')
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/** The first thing wrong with a parsed config file, as one sentence; undefined when it fits. */
export function configFileProblem(table: unknown): string | undefined {
  const { Value } = load('typebox/value') as ValueModule;
  const { file } = agentConfigSchemas();
  if (Value.Check(file, table)) return undefined;
  const errors = [...Value.Errors(file, table)];
  // An unknown key first: it is the typo that explains the rest.
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown !== undefined) {
    const keys = (unknown.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    const at = where(unknown.instancePath);
    return `config: ${at === '' ? '' : `${at} has `}unknown setting '${keys[0] ?? '?'}'`;
  }
  // The deepest error says most (an anyOf's own error only says no branch fitted).
  const first = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length).find((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean') ?? errors[0]!;
  const at = where(first.instancePath);
  if (at === '') return first.keyword === 'type' ? 'config: the file must hold a mapping of settings' : `config: ${first.message}`;
  return `config: ${at} ${first.message}`;
}
