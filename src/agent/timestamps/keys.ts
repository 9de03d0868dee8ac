/**
 * Key-value keys before a time: a time after a key that names a time (`"ts":`, `time=`)
 * may be a plain number, and a file's times are found again after the key they followed.
 */
/** Keys whose value is a time, so a plain number after them is one: `"ts":1639508052.123`, `# Time: 211214 7:59:50`. */
const TIME_KEYS = new Set(['ts', 'time', 'timestamp', '@timestamp', 'date', 'datetime', 'epoch', 'unixtime', 'logtime', 'eventtime']);

function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 64 || c === 46 || c === 45; // _ @ . -
}

/**
 * The key-value key right before `i`, with its quotes and separator (`"time":"`, `ts=`,
 * `Time: `), or '' when the text before `i` is no key: a key needs a `:` or `=`.
 */
export function keyBefore(line: string, i: number): string {
  let k = i - 1;
  let separator = false;
  // After the key: a quote, `:` or `=`, blanks, an opening quote (at most four characters).
  while (k >= 0 && i - k <= 4) {
    const c = line.charCodeAt(k);
    if (c === 58 || c === 61) separator = true;
    else if (c !== 34 && c !== 39 && c !== 32) break;
    k--;
  }
  if (!separator) return '';
  const keyEnd = k + 1;
  while (k >= 0 && keyEnd - k <= 24 && isKeyChar(line.charCodeAt(k))) k--;
  if (keyEnd - k - 1 < 1 || keyEnd - k > 24) return '';
  if (line.charCodeAt(k) === 34 || line.charCodeAt(k) === 39) k--; // the key's opening quote
  return line.slice(k + 1, i);
}

/**
 * Whether a time key stands right before `i` (only asked of plain numbers, so rarely), or
 * Linux audit's record stamp (`msg=audit(1639508052.123:4242):`, auditd and the kernel's
 * `audit:` lines), whose epoch follows `audit(`.
 */
export function followsTimeKey(line: string, i: number): boolean {
  if (i >= 6 && line.startsWith('audit(', i - 6)) return true;
  const key = keyBefore(line, i);
  return key !== '' && isTimeKey(key);
}

/** Whether keyBefore()'s text names a time: `"ts":`, `Time: `, `@timestamp=`. */
export function isTimeKey(key: string): boolean {
  let a = 0;
  while (!isKeyChar(key.charCodeAt(a))) a++;
  let b = a;
  while (isKeyChar(key.charCodeAt(b))) b++;
  return TIME_KEYS.has(key.slice(a, b).toLowerCase());
}
