/**
 * Why: everything the user did wrong (a bad file, a missing allocator, a bad option value) must
 * reach them as one line, never a JS stack trace. Code that detects such a problem throws
 * `InputError`; the command line prints its message alone. Any other exception is a bug in
 * kmemleak and is printed as one line too, with the stack only when KMEMLEAK_DEBUG is set.
 *
 * Invariant: messages are single lines without the "kmemleak: " prefix (the printer adds it).
 */
export class InputError extends Error {
  /** The process exit status to use: 1 for bad input, 2 for command-line usage. */
  readonly exitCode: number;
  /** Whether the command line adds its usage hint (usage errors about the options themselves). */
  readonly usageHint: boolean;
  constructor(message: string, exitCode = 1, usageHint = exitCode === 2) {
    super(message);
    this.name = 'InputError';
    this.exitCode = exitCode;
    this.usageHint = usageHint;
  }
}

/** The first line of an error's message, for one-line reports. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}

/**
 * The module has no allocator the rewriter could find (and none was named with --allocator):
 * `kmemleak run` then runs the program without the detector and says so in one line at the end.
 * An InputError still, so a caller that cannot run untracked reports it as bad input.
 */
export class NoAllocatorError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'NoAllocatorError';
  }
}
