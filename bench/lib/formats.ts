/**
 * The eight loghub formats: where each line's timestamp is and how to write a new one in
 * the same format, so generated files keep real-looking, monotonic times (UTC; the agent
 * runs with TZ=UTC so naive times read back the same).
 */
export interface Dataset {
  /** Folder under loghub. */
  dir: string;
  /** The timestamp at the start of a line. */
  timestamp: RegExp;
  format: (time: Date) => string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const hms = (t: Date, sep = ':'): string => [t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()].map((n) => pad(n)).join(sep);
const ymd = (t: Date): string => `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
const syslog = (t: Date): string => `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, ' ')} ${hms(t)}`;
const yy = (t: Date): string => pad(t.getUTCFullYear() % 100);

export const DATASETS: Dataset[] = [
  {
    dir: 'Android',
    timestamp: /^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/,
    format: (t) => `${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${hms(t)}.${pad(t.getUTCMilliseconds(), 3)}`,
  },
  {
    dir: 'Apache',
    timestamp: /^\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}\]/,
    format: (t) => `[${DAYS[t.getUTCDay()]} ${MONTHS[t.getUTCMonth()]} ${pad(t.getUTCDate())} ${hms(t)} ${t.getUTCFullYear()}]`,
  },
  {
    dir: 'HDFS',
    timestamp: /^\d{6} \d{6}/,
    format: (t) => `${yy(t)}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())} ${hms(t, '')}`,
  },
  {
    dir: 'Hadoop',
    timestamp: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/,
    format: (t) => `${ymd(t)} ${hms(t)},${pad(t.getUTCMilliseconds(), 3)}`,
  },
  { dir: 'Linux', timestamp: /^\w{3} [ \d]\d \d\d:\d\d:\d\d/, format: syslog },
  { dir: 'OpenSSH', timestamp: /^\w{3} [ \d]\d \d\d:\d\d:\d\d/, format: syslog },
  {
    dir: 'Spark',
    timestamp: /^\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d/,
    format: (t) => `${yy(t)}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())} ${hms(t)}`,
  },
  {
    dir: 'Zookeeper',
    timestamp: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/,
    format: (t) => `${ymd(t)} ${hms(t)},${pad(t.getUTCMilliseconds(), 3)}`,
  },
];
