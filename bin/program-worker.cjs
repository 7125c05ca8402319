// The program thread's entry (bin/program-thread.cjs starts a worker on it): the command line, as
// bin/kmemleak runs it on the main thread, with the code cache kept apart (V8 flags differ).
'use strict';
require('./load-cli.cjs').startCli(process.argv.slice(2), true);
