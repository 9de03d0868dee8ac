/**
 * A line of a binary batch whose text is still where it arrived: `bytes` bytes of the request
 * body from `start`, checked valid UTF-8. Its string is made only when `line` is read (a live
 * tail, an alert rule, a store that keeps strings, a merge with stored lines); a store that
 * writes segments copies the bytes as they are (segment/codec.ts, linesText).
 *
 * Before, every line of a binary batch was decoded into a string as the batch was read, and
 * the store wrote each string back into bytes: at full ingest of the bench's 10M lines that
 * was 2.2 GB of strings made and dropped on Daniel's main thread, most of its garbage
 * collection (docs/architecture.md, *A line's text stays in the body*).
 */
export class BodyLine {
  /** The fields the line carries (the group's labels with its own over them), or none. */
  fields: Record<string, string> | undefined = undefined;
  /** Its seq, once a store numbered it (withSeq); 0 before. */
  seq = 0;
  private text: string | undefined = undefined;

  constructor(
    /** The body the text is in (the line keeps it alive). */
    readonly body: Buffer,
    readonly start: number,
    /** UTF-8 bytes of the text. */
    readonly bytes: number,
    /** Whether the text is all ASCII (a byte a character). */
    readonly ascii: boolean,
    public offset: number,
    public end: number,
    public timestamp: bigint,
    public cut: boolean,
  ) {}

  /** The text, decoded at the first read. */
  get line(): string {
    return (this.text ??= this.body.toString('utf8', this.start, this.start + this.bytes));
  }

  /** The same line numbered `seq` (a new line: the store's numbering never changes the request's). */
  withSeq(seq: number): BodyLine {
    const numbered = new BodyLine(this.body, this.start, this.bytes, this.ascii, this.offset, this.end, this.timestamp, this.cut);
    numbered.fields = this.fields;
    numbered.seq = seq;
    numbered.text = this.text;
    return numbered;
  }
}

/**
 * A line's text length without decoding it: a body line's bytes, else the string's length
 * (its bytes when ASCII; what the stores size runs of lines by).
 */
export function textLength(line: { readonly line: string }): number {
  return line instanceof BodyLine ? line.bytes : line.line.length;
}

/** Whether `b[start, end)` is all ASCII. */
export function asciiRange(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}
