/**
 * Why: the command line writes to the process's stdout/stderr, but tests drive `main` in-process
 * and want the text; one small sink interface serves both.
 *
 * Invariant: the default sinks write synchronously (fs.writeSync), so kmemleak's messages keep
 * their order relative to what the WASI program writes to the same file descriptors.
 */
import { writeSync } from 'node:fs';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return;   // a closed stdout/stderr must not turn into a crash of kmemleak
    }
  }
}

export const processIO: CliIO = {
  out: (text) => writeAll(1, text),
  err: (text) => writeAll(2, text),
};
