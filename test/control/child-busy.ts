/**
 * Child process for the threaded control file (bundled by helpers.bundleForNode): it holds the
 * JS thread in a loop, as a WASI program's _start does, and calls poll() the way allocation
 * hooks do. argv: PATH MODE. MODE "poll": loop calling poll() until the command "quit" arrives
 * (or 30 s pass). MODE "stuck": loop for 3 s without polling, then poll until "quit".
 */
import { serveControlThreaded } from '../../src/control/threaded.js';

const [path, mode] = process.argv.slice(2) as [string, string];
let quit = false;
let writes = 0;
const server = await serveControlThreaded(
  path,
  (cmd) => {
    if (cmd === '') return { ok: true, text: `busy report after ${writes} writes\n` };
    if (cmd === 'quit') {
      quit = true;
      return { ok: true, text: '' };
    }
    writes++;
    return cmd === 'scan' ? { ok: true, text: '' } : { ok: false, text: `unknown command "${cmd}"` };
  },
  { busyTimeoutMs: mode === 'stuck' ? 300 : 10_000 },
);
process.stdout.write('ready\n');
const until = Date.now() + 30_000;
if (mode === 'stuck') {
  const t = Date.now() + 3_000;
  while (Date.now() < t) {
    /* computing without hooks */
  }
}
while (!quit && Date.now() < until) server.poll();
// Closing lets the worker send the answers already given (the answer to "quit" among them)
// before it stops; a process that just exits may cut them off.
await server.close();
process.stdout.write(quit ? 'quit\n' : 'timeout\n');
