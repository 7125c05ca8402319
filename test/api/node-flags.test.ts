/**
 * Under Node, the API turns V8's bytecode flushing off (src/api/node-flags.ts, issue 12: a
 * long-running program crashed now and then while its memory grew with flushing on) the first
 * time it instantiates a module with the detector on, and only then: a module run with the
 * detector off leaves the process's flags alone.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';

const setFlags = vi.fn();
vi.mock('node:v8', async (importOriginal) => ({ ...(await importOriginal<object>()), setFlagsFromString: setFlags }));

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));
const imports = { host: { callback: () => {} } };

describe('V8 flags set by the API under Node', () => {
  beforeEach(() => setFlags.mockClear());

  it('off: no flag is set', async () => {
    const { instantiate } = await import('../../src/api/index.js');
    await instantiate(bytes, imports, { off: true, log: () => {} });
    expect(setFlags).not.toHaveBeenCalled();
  });

  it('on: --no-flush-bytecode, once however many modules', async () => {
    const { instantiate } = await import('../../src/api/index.js');
    await instantiate(bytes, imports, { scan: 'off', log: () => {} });
    await instantiate(bytes, imports, { scan: 'off', log: () => {} });
    expect(setFlags.mock.calls).toEqual([['--no-flush-bytecode']]);
  });
});
