/** Append requests for the sqlite store's tests: one file of a host, its lines back to back from `offset`. */
import type { AppendRequest } from '../store.js';

export const T0 = 1_700_000_000_000_000_000n;

export function appendOf(host: string, offset: number, lines: string[], receivedAt = T0): AppendRequest {
  let at = offset;
  return {
    host,
    receivedAt,
    files: [
      {
        fileId: `${host}-inode`,
        filename: 'app.log',
        path: '/var/log/app.log',
        lines: lines.map((line, i) => {
          const entry = { offset: at, end: at + line.length + 1, timestamp: T0 + BigInt(offset + i), line, cut: false };
          at = entry.end;
          return entry;
        }),
      },
    ],
  };
}
