/**
 * The data format version of Daniel's stored data (src/storage/data-format.ts upgrades and
 * checks it): here so the CLI's restore can refuse a backup of a newer format too.
 */

/** The data format this Daniel writes and reads. */
export const DATA_FORMAT_VERSION = 4;

export class DataFormatError extends Error {
  override readonly name = 'DataFormatError';
}

/** What data written by a newer Daniel says, and what to do. */
export function newerFormatMessage(file: string, found: number, reads: number = DATA_FORMAT_VERSION): string {
  return (
    `${file} holds data format ${found}, written by a newer Daniel; this Daniel reads formats up to ${reads}. ` +
    `Run the newer version again (npm install -g logging-aggregator@latest), or start this one on a backup it made: daniel restore FILE --data-dir NEW_DIR`
  );
}
