/**
 * The data format: the version of the layout a store keeps its lines, identities and
 * counters in (tables and columns for sqlite, item kinds for dynamodb). It is separate from
 * the segment blob's own version (src/segment/codec.ts), which every segment carries and the
 * codec reads in all its versions; this one covers what is around the segments.
 *
 * A Daniel records the version it writes: `PRAGMA user_version` of `daniel.db` (and of
 * `tokens.db`), or the item `META`/`FORMAT` of the DynamoDB table. On start it upgrades
 * older data in one transaction (a failed upgrade leaves the file as it was) and refuses
 * data of a newer version, which only a newer Daniel can read, with DataFormatError (the bin
 * prints it and exits 2).
 *
 * Versions:
 * - 0: written before the version was recorded (user_version 0 with the tables present).
 * - 1: the same tables, the version recorded.
 * - 2: the same tables; segment blobs may be Zstandard (codec 2, src/segment/compression.ts),
 *   which a Daniel of format 1 cannot decode: the version keeps it from opening such data
 *   and failing on every query that reaches a new segment.
 * - 3: the same tables; sealed segments repacked while idle may be Zstandard over variable
 *   columns (codec 3, src/segment/variable-columns.ts), which a Daniel of format 2 cannot
 *   decode. (The DynamoDB store repacks nothing; its table is raised with the rest.)
 * - 4: the same tables; a segment's field statistics may be packed (query/field-stats.ts
 *   packFieldStats), which a Daniel of format 3 would read as damaged; new blooms are format 5
 *   (segment/bloom.ts), which it would only find no use for. The upgrade forgets which
 *   segments were repacked, so the repacker compresses them again while idle at the level and
 *   in the frames of this version (compression.ts repackBlob): about 6% off their text.
 */
import type Database from 'better-sqlite3';
import { DATA_FORMAT_VERSION, DataFormatError, newerFormatMessage } from '../common/data-format.js';

export { DATA_FORMAT_VERSION, DataFormatError, newerFormatMessage };

/** One upgrade step: from version `from` to `from + 1`, inside the caller's transaction. */
export interface SqliteUpgrade {
  from: number;
  what: string;
  run(db: Database.Database): void;
}

/** Upgrades of daniel.db, oldest first. */
export const SQLITE_UPGRADES: readonly SqliteUpgrade[] = [
  // Format 0 had the tables of format 1: recording the version is the whole upgrade.
  { from: 0, what: 'record the data format version', run: () => undefined },
  // Nothing to rewrite: older blobs stay as they are and are read; new ones are Zstandard.
  { from: 1, what: 'new segments are compressed with Zstandard', run: () => undefined },
  // Nothing to rewrite either: segments repacked from now on may be in variable columns.
  { from: 2, what: 'repacked segments keep their variables in columns', run: () => undefined },
  // Blooms and statistics already written stay as they are and are read; repacked segments are repacked again while idle.
  {
    from: 3,
    what: 'field statistics are packed, blooms sized by what they hold; repacked segments are repacked again',
    run: (db) => {
      const table = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'segment_repacked'").pluck().get() as number;
      if (table > 0) db.exec('DELETE FROM segment_repacked');
    },
  },
];

export interface FormatCheck {
  /** The version found before anything was done; `undefined` for a new, empty file. */
  found: number | undefined;
  /** The upgrade steps run, in order. */
  upgraded: string[];
}

/**
 * Brings an open SQLite database to `version`: a new file gets `schema` and the version, an
 * older one is upgraded step by step, a newer one is refused. `schema` must be idempotent
 * (CREATE … IF NOT EXISTS) and is applied after the upgrades, inside the same transaction.
 */
export function ensureSqliteFormat(
  db: Database.Database,
  file: string,
  schema: string,
  upgrades: readonly SqliteUpgrade[] = SQLITE_UPGRADES,
  version: number = DATA_FORMAT_VERSION,
): FormatCheck {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > version) throw new DataFormatError(newerFormatMessage(file, current, version));
  const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() as number;
  const found = current === 0 && tables === 0 ? undefined : current;
  if (found === version) {
    db.exec(schema);
    return { found, upgraded: [] };
  }
  const upgraded: string[] = [];
  db.transaction(() => {
    if (found !== undefined) {
      for (let at = found; at < version; at++) {
        const step = upgrades.find((upgrade) => upgrade.from === at);
        if (step === undefined) throw new DataFormatError(`${file} holds data format ${at}, which this Daniel cannot upgrade: restore a backup, or upgrade it with the Daniel version that follows it first`);
        step.run(db);
        upgraded.push(`${at} -> ${at + 1}: ${step.what}`);
      }
    }
    db.exec(schema);
    // PRAGMA user_version is written in the transaction: it commits with the upgrade or not at all.
    db.pragma(`user_version = ${version}`);
  }).immediate();
  return { found, upgraded };
}
