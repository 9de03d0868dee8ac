/**
 * Per-source labels (`labels: {service: api}` in the config file): fields Daniel stores on
 * every line of the source's files. Checked at start against the limits Daniel keeps for
 * stored fields, so a label is never silently dropped there.
 */

/** Daniel's limits on a line's stored fields (names, values, fields a line). */
export const LABEL_LIMITS = { maxLabels: 64, maxNameBytes: 128, maxValueBytes: 1024 } as const;

/** What `labels` holds, or a sentence saying what is wrong with it (`where` names the setting). */
export function parseLabels(value: unknown, where: string): Record<string, string> | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be a mapping of names to values, like {service: api}`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LABEL_LIMITS.maxLabels) return `${where} has ${entries.length} labels; at most ${LABEL_LIMITS.maxLabels}`;
  const labels: Record<string, string> = {};
  for (const [name, raw] of entries) {
    if (name === '' || Buffer.byteLength(name) > LABEL_LIMITS.maxNameBytes || /[\x00-\x1f\x7f\s:]/.test(name)) {
      return `${where}: label name ${JSON.stringify(name)} must be 1 to ${LABEL_LIMITS.maxNameBytes} bytes without spaces, ':' or control characters`;
    }
    if (name === 'host' || name === 'file') return `${where}: '${name}' names the line's own ${name} in queries; choose another label name`;
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return `${where}.${name} must be a string (or a number)`;
    const text = String(raw);
    if (Buffer.byteLength(text) > LABEL_LIMITS.maxValueBytes) return `${where}.${name} is over ${LABEL_LIMITS.maxValueBytes} bytes`;
    labels[name] = text;
  }
  return labels;
}
