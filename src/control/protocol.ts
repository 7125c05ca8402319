/**
 * The wire format of the control file served on a Unix socket (`kmemleak run --control PATH`,
 * `kmemleak ctl PATH [CMD]`): the socket plays the part of /sys/kernel/debug/kmemleak.
 *
 * Request: UTF-8 text, one command per line ('\n'; a trailing '\r' and surrounding blanks are
 * dropped). The text after the last newline counts as a command too when the client ends the
 * connection. An empty command means "read the file" (`cat`); a connection that sends nothing and
 * ends is one read. So `echo scan | nc -U PATH` and `nc -U PATH </dev/null` both work by hand.
 *
 * Answer, one per command, in order: a header line `ok <n>` or `error <n>` and then exactly n
 * bytes of UTF-8 body (the report for a read, what the command printed, or the error text).
 * The length makes several answers on one connection unambiguous whatever the body holds.
 *
 * Invariants: a header is ASCII and at most MAX_HEADER bytes; a request line longer than
 * MAX_LINE bytes is answered with an error and the connection is closed.
 */

export const MAX_LINE = 64 * 1024;
export const MAX_HEADER = 32;

export interface Answer {
  ok: boolean;
  text: string;
}

export function encodeAnswer(a: Answer): Buffer {
  const body = Buffer.from(a.text, 'utf8');
  return Buffer.concat([Buffer.from(`${a.ok ? 'ok' : 'error'} ${body.length}\n`, 'ascii'), body]);
}

/**
 * Splits an incoming byte stream into command lines. Feed chunks with push(); end() returns the
 * final command (if the stream ended mid-line, or sent nothing at all).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private seen = 0;

  /** Returns the complete lines in chunk, or null when a line exceeds MAX_LINE. */
  push(chunk: Buffer): string[] | null {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const part = chunk.subarray(start, nl);
      if (this.pendingLen + part.length > MAX_LINE) return null;
      const whole = this.pendingLen ? Buffer.concat([...this.pending, part]) : part;
      this.pending = [];
      this.pendingLen = 0;
      lines.push(cleanLine(whole));
      this.seen++;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingLen + rest.length > MAX_LINE) return null;
      this.pending.push(Buffer.from(rest));
      this.pendingLen += rest.length;
    }
    return lines;
  }

  /** The last command when the peer ended: the unterminated tail, or a read if nothing came. */
  end(): string | null {
    if (this.pendingLen > 0) {
      const line = cleanLine(Buffer.concat(this.pending));
      this.pending = [];
      this.pendingLen = 0;
      this.seen++;
      return line;
    }
    return this.seen === 0 ? '' : null;
  }
}

function cleanLine(b: Buffer): string {
  return b.toString('utf8').trim();
}

/**
 * Parses answers from a byte stream (the client side). push() returns the answers completed by
 * the chunk; a malformed header throws an Error with a one-line message.
 */
export class AnswerParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Answer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Answer[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_HEADER) throw new Error('not a kmemleak control socket (bad answer header)');
        break;
      }
      const header = this.buf.subarray(0, nl).toString('ascii');
      const m = /^(ok|error) (\d+)$/.exec(header);
      if (!m) throw new Error('not a kmemleak control socket (bad answer header)');
      const n = Number(m[2]);
      if (this.buf.length < nl + 1 + n) break;
      out.push({ ok: m[1] === 'ok', text: this.buf.subarray(nl + 1, nl + 1 + n).toString('utf8') });
      this.buf = this.buf.subarray(nl + 1 + n);
    }
    return out;
  }

  /** True when bytes of an unfinished answer are buffered. */
  get partial(): boolean {
    return this.buf.length > 0;
  }
}
