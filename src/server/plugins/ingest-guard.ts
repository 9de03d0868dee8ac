/**
 * Checks of POST /ingest that protect one host's logs from another's writer, run before the
 * handler (after the schema):
 *
 * - Host names that impersonate others: invisible characters (zero-width, BOM, bidi
 *   controls, soft hyphen) and labels that mix Latin letters with Cyrillic, Greek or another
 *   script (`wеb1` with a Cyrillic `е`) are refused with INVALID_NAME.
 * - Offsets far past the file: a line at an offset past the file size the same group reports,
 *   or past 2^50 (a petabyte) when none is reported, would make the store treat every later
 *   real line of that file as a duplicate. Refused with INVALID_BODY naming the line.
 * - More than MAX_INGEST_FILES file groups: refused whole with TOO_MANY_FILES (400), so one
 *   request cannot create thousands of file entries for a host at once.
 */
import type { preHandlerHookHandler } from 'fastify';
import { AppError } from '../../common/errors.js';
import { MAX_INGEST_FILES } from '../../protocol/ingest.js';

/** No real file gets here; an offset past it can only be an attempt to shadow later lines. */
export const MAX_PLAUSIBLE_OFFSET = 2 ** 50;

const INVISIBLE = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]|[\p{Cf}]/u;
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic'] as const;
const SCRIPT_RE = SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')] as const);

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why a host name could pass for another one, or undefined. */
export function lookAlikeProblem(host: string): string | undefined {
  const invisible = INVISIBLE.exec(host);
  if (invisible) return `holds the invisible character ${codePoint(invisible[0])}`;
  for (const label of host.split(/[.\-_:]/)) {
    const found = SCRIPT_RE.filter(([, re]) => re.test(label)).map(([script]) => script);
    if (found.length > 1) return `mixes ${found.join(' and ')} letters in '${label.normalize('NFC')}' (a look-alike of another name)`;
  }
  return undefined;
}

interface GuardBody {
  host: string;
  files: unknown[];
  /** A binary batch's: its groups refused while it was read are not in `files`, but count. */
  checked?: { groupCount: number };
}

export const ingestGuard: preHandlerHookHandler = (request, _reply, done) => {
  const body = request.body as GuardBody;
  const groups = body.checked?.groupCount ?? body.files.length;
  if (groups > MAX_INGEST_FILES) {
    return done(new AppError('TOO_MANY_FILES', `The request carries ${groups} file groups; at most ${MAX_INGEST_FILES} a request: send them in several requests`));
  }
  const problem = lookAlikeProblem(body.host);
  if (problem !== undefined) return done(new AppError('INVALID_NAME', `host ${JSON.stringify(body.host)} ${problem}`));
  // Only the envelope is checked before this: a group or line of the wrong shape is left for
  // the route, which refuses that group alone (rejected) and stores the rest.
  for (const [fileIndex, group] of body.files.entries()) {
    const file = group as { size?: unknown; lines?: unknown } | null;
    if (file === null || typeof file !== 'object' || !Array.isArray(file.lines)) continue;
    const size = typeof file.size === 'number' ? file.size : undefined;
    const limit = size ?? MAX_PLAUSIBLE_OFFSET;
    for (const [lineIndex, item] of (file.lines as unknown[]).entries()) {
      const line = item as { offset?: unknown } | null;
      if (line === null || typeof line !== 'object' || typeof line.offset !== 'number') continue;
      if (line.offset > limit) {
        const what = size === undefined ? `past ${MAX_PLAUSIBLE_OFFSET}, more than any file holds` : `past the size ${size} this group reports`;
        const index = body.checked !== undefined ? (file as { index: number }).index : fileIndex;
        return done(new AppError('INVALID_BODY', `Body field files[${index}].lines[${lineIndex}].offset ${line.offset} is ${what}`));
      }
    }
  }
  done();
};
