/**
 * Child process for control-socket lifetime tests (bundled by helpers.bundleForNode).
 * argv: PATH MODE. MODE "exit": serve, report, and let the script end (the socket must not keep
 * the process alive). MODE "serve": serve until a signal arrives.
 */
import * as fs from 'node:fs';
import { serveControl, engineHandler } from '../../src/control/server.js';

const [path, mode] = process.argv.slice(2) as [string, string];
const target = {
  write: (cmd: string) => (cmd === 'scan' ? '' : `unknown command "${cmd}"`),
  read: () => 'child report\n',
};
await serveControl(path, engineHandler(target));
process.stdout.write(`ready ${fs.existsSync(path)}\n`);
if (mode === 'serve') setInterval(() => {}, 1000);
