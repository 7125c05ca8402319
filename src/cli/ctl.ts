/**
 * `kmemleak ctl PATH [CMD...]` (SPEC §4): writes one command to a running program's control file
 * (served by `kmemleak run --control PATH`, src/control/) and prints the answer; without CMD it
 * reads the file, as `cat /sys/kernel/debug/kmemleak` does.
 *
 * Exit status: 0 when the program accepted the command (or answered the read), 1 when it answered
 * with an error (a bad command), 3 when nothing could be asked (nothing listens at PATH, not a
 * socket, no answer in time); 2 stays the command line's usage error. Messages are one line on
 * stderr, never a stack trace.
 *
 * main.ts wires it with ctlCommand(program, io, result); runCtl is the same without commander.
 */
import type { Command } from 'commander';

export const CTL_ERROR_ANSWER = 1;
export const CTL_UNREACHABLE = 3;

/** Where ctl prints (the same shape as io.ts's CliIO). */
export interface CtlIO {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CtlIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Runs the ctl command; resolves with the exit status. Never throws. */
export async function runCtl(path: string, words: string[], io: CtlIO = stdio, timeoutMs?: number): Promise<number> {
  const cmd = words.join(' ').trim();
  // Words that are all blank are not "no command": the kernel answers an empty write with EINVAL,
  // and reading the report instead would surprise a script that built an empty command by mistake.
  if (words.length > 0 && cmd === '') {
    io.err('kmemleak: an empty control command (to read the report, give no command)\n');
    return CTL_ERROR_ANSWER;
  }
  if (cmd.includes('\n')) {
    io.err('kmemleak: a control command is one line\n');
    return CTL_ERROR_ANSWER;
  }
  let answer;
  try {
    const { controlCommand } = await import('../control/client.js');
    answer = await controlCommand(path, cmd, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (e) {
    io.err(`kmemleak: ${e instanceof Error ? e.message : String(e)}\n`);
    return CTL_UNREACHABLE;
  }
  if (!answer.ok) {
    io.err(`kmemleak: ${cmd === '' ? 'read' : cmd}: ${answer.text.trimEnd()}\n`);
    return CTL_ERROR_ANSWER;
  }
  if (answer.text !== '') io.out(answer.text.endsWith('\n') ? answer.text : answer.text + '\n');
  return 0;
}

/** Adds `ctl PATH [CMD...]` to the commander program; the action stores the status in result.code. */
export function ctlCommand(program: Command, io: CtlIO = stdio, result: { code: number } = { code: 0 }): void {
  program
    .command('ctl')
    .description("read a running program's kmemleak control file, or write one command to it")
    .argument('<path>', 'the control socket given to `kmemleak run --control PATH`')
    .argument('[cmd...]', 'scan, clear, off, stack=on|off, scan=on|off|SECS, dump=ADDR (none: read the report)')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      [
        '',
        'Exit status: 0 done; 1 an error answer (from the program, or the listener when the program stays busy); 3 nothing listens at PATH.',
        'Example: kmemleak ctl /tmp/app.sock scan && kmemleak ctl /tmp/app.sock',
      ].join('\n'),
    )
    .action(async (path: string, cmd: string[] | undefined) => {
      result.code = await runCtl(path, cmd ?? [], io);
    });
}
