/** What bin/kmemleak does, from the sources: bundled by the CLI process tests (spawn.test.ts). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
