/**
 * Why: the `kmemleak` command line (SPEC §4). `bin/kmemleak` calls `main(argv)` and exits with
 * the status it returns. Commander parses; this file maps its outcomes to kmemleak's rules:
 * --help/--version exit 0, a usage error is one line plus a hint and exit 2, bad input is one
 * line and exit 1, and a bug in kmemleak is one line (the stack only with KMEMLEAK_DEBUG=1).
 *
 * Invariants: `main` never throws and never calls process.exit; program arguments after the
 * module pass through untouched, including ones that look like options (passThroughOptions).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InputError, oneLine } from '../wasm/runtime/errors.js';
import { processIO, type CliIO } from './io.js';
import { toRunOptions, type RawRunOptions } from './parse-run.js';
import { runCli } from './run-command.js';
import { ctlCommand } from './ctl.js';
import { reportCommand } from './report-command.js';
import { addLsanOptions } from '../peers/run-flags.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function buildProgram(io: CliIO, env: NodeJS.ProcessEnv, result: { code: number }): Command {
  const program = new Command('kmemleak')
    .description("Linux kmemleak for WebAssembly: finds memory leaks in unmodified .wasm programs")
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .enablePositionalOptions()
    .showSuggestionAfterError(true);

  const run = program.command('run')
    .description('run a WASI command module under the detector; report leaks at exit')
    .argument('<module.wasm>', 'the WASI preview1 command module to run')
    .argument('[args...]', "the program's own arguments (passed through untouched)")
    .helpOption('-h, --help', 'show this help')
    .passThroughOptions()
    .option('--json <file>', 'write the final report as JSON to FILE')
    .option('--report <file>', 'write the final text report to FILE instead of standard error')
    .addOption(new Option('--stack <mode>', 'scan live shadow-stack frames (on|off)').default(undefined, 'on'))
    .option('--min-age <ms>', 'minimum age of objects reported by scans while the program runs', undefined)
    .option('--scan <secs|off>', 'automatic scan period (off or 0 disables)')
    .option('--first-scan <secs>', 'delay before the first automatic scan')
    .option('--exitcode <n>', 'exit status when the exit scan reports leaks; 0 keeps the program\'s own')
    .option('--control <path>', 'serve the control file on a Unix socket while the program runs')
    .option('--off', 'run the program without the detector (also: KMEMLEAK=off)')
    .option('--dir <host[:guest]>', 'give the program a directory (WASI preopen); repeatable', collect)
    .option('--env <name=value>', 'set a variable in the program\'s environment; repeatable', collect)
    .option('--allocator <role=name,...>', 'name the allocator entry points (malloc=NAME,free=NAME,...; names or function indices)')
    .option('--early-pool <n>', 'how many operations to buffer before the detector can read memory')
    .option('--source-map <file>', 'a source map for the module (frames get file:line from it)')
    .option('--trace-depth <n>', 'frames kept per backtrace, 0..16; 0 turns stacks off (no backtraces)')
    .option('--suppressions <file>', 'LeakSanitizer suppressions (leak:PATTERN lines); repeatable', collect)
    .option('--baseline <file>', 'an earlier --json report: its sites are known, listed last, and do not fail the run')
    .option('--sarif <file>', 'write the leak sites as SARIF 2.1.0 to FILE')
    .option('--html <file>', 'write the report as one self-contained HTML page to FILE')
    .option('--report-objects', 'list every leaked object at exit, not one record per site');
  addLsanOptions(run);
  run
    .addHelpText('after', [
      '',
      'Defaults: --stack on, --min-age 5000, --scan 600, --first-scan 60, --exitcode 23, --early-pool 16384,',
      '--trace-depth 16.',
      'LSAN_OPTIONS is read as LeakSanitizer reads it; these options win over it.',
      'Exit status: the program\'s own; --exitcode when the exit scan reports leaks; 134 after a trap;',
      '1 for bad input (not a wasm file, a bad --allocator name, ...); 2 for a usage error.',
      'No allocator found: the program runs untracked and a last line on stderr says so.',
      'Example: kmemleak run --json leaks.json prog.wasm --its-own-flag arg',
    ].join('\n'))
    .action(async (module: string, args: string[], raw: RawRunOptions) => {
      const opts = toRunOptions(module, args, raw, env);
      opts.toolVersion = version();
      result.code = await runCli(opts, io);
    });
  void run;

  ctlCommand(program, io, result);
  reportCommand(program, io, result);

  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: () => { /* printed by main, as one line */ },
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  return program;
}

function usageHint(argv: string[]): string {
  const sub = argv.find((a) => !a.startsWith('-'));
  return sub === 'run' || sub === 'ctl' || sub === 'report' ? `Try 'kmemleak ${sub} --help' for usage.` : "Try 'kmemleak --help' for usage.";
}

/** Runs the command line; returns the process exit status. */
export async function main(argv: string[], io: CliIO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram(io, env, result);
  if (argv.length === 0) {
    io.err(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return 2;   // help shown because a command was missing
      // commander puts a suggestion on a second line: "(Did you mean --stack?)"; keep it on one
      const text = err.message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ').replace(/^error: /, '');
      io.err(`kmemleak: ${text}\n${usageHint(argv)}\n`);
      return 2;
    }
    if (err instanceof InputError) {
      io.err(`kmemleak: ${oneLine(err)}\n` + (err.usageHint ? usageHint(argv) + '\n' : ''));
      return err.exitCode;
    }
    io.err(`kmemleak: internal error: ${oneLine(err)}\n`);
    if (env['KMEMLEAK_DEBUG'] && err instanceof Error && err.stack) io.err(err.stack + '\n');
    return 70;
  }
}
