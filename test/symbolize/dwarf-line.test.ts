/**
 * The line-table decoder, row for row, against `llvm-dwarfdump-14 --debug-line` on
 * simple.dwarf5.wasm (libc's tables are DWARF 4, the program's DWARF 5). The dump is committed
 * (test/fixtures/symbolize/build.sh makes it), so the test needs no LLVM.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeLineTable, ROW_BASIC_BLOCK, ROW_END_SEQUENCE, ROW_EPILOGUE_BEGIN, ROW_IS_STMT, ROW_PROLOGUE_END,
} from '../../src/symbolize/dwarf-line.js';
import { readModule } from '../../src/symbolize/module.js';
import { Dwarf, dwarfSections } from '../../src/symbolize/dwarf.js';
import { fixture, fixtureText } from './helpers.js';

interface Expected {
  offset: number;
  version: number;
  rows: string[];
}

function parseDump(text: string): Expected[] {
  const tables: Expected[] = [];
  for (const line of text.split('\n')) {
    const h = /^debug_line\[0x([0-9a-f]+)\]/.exec(line);
    if (h) {
      tables.push({ offset: parseInt(h[1]!, 16), version: 0, rows: [] });
      continue;
    }
    const v = /^ +version: (\d+)/.exec(line);
    if (v) {
      tables[tables.length - 1]!.version = Number(v[1]);
      continue;
    }
    if (line.startsWith('0x')) tables[tables.length - 1]!.rows.push(line.trimEnd());
  }
  return tables;
}

/** A row in llvm-dwarfdump's layout. */
function formatRow(address: number, line: number, column: number, file: number, isa: number, disc: number, flags: number): string {
  const names: string[] = [];
  if (flags & ROW_IS_STMT) names.push('is_stmt');
  if (flags & ROW_BASIC_BLOCK) names.push('basic_block');
  if (flags & ROW_PROLOGUE_END) names.push('prologue_end');
  if (flags & ROW_EPILOGUE_BEGIN) names.push('epilogue_begin');
  if (flags & ROW_END_SEQUENCE) names.push('end_sequence');
  const addr = '0x' + address.toString(16).padStart(16, '0');
  const row = `${addr} ${String(line).padStart(6)} ${String(column).padStart(6)} ${String(file).padStart(6)} ${String(isa).padStart(3)} ${String(disc).padStart(13)} `;
  return (row + ' ' + names.join(' ')).trimEnd();
}

describe('line tables match llvm-dwarfdump-14 --debug-line', () => {
  const bytes = fixture('simple.dwarf5.wasm');
  const custom = readModule(bytes).custom;
  const expected = parseDump(fixtureText('simple.dwarf5.debug-line.txt'));

  it('the dump has DWARF 4 and 5 tables', () => {
    expect(expected.length).toBeGreaterThan(20);
    expect(new Set(expected.map((t) => t.version))).toEqual(new Set([4, 5]));
  });

  it('every row of every table', () => {
    const section = custom.get('.debug_line')!;
    let rows = 0;
    for (const exp of expected) {
      const t = decodeLineTable(section, exp.offset, 4, { str: custom.get('.debug_str'), lineStr: custom.get('.debug_line_str') });
      expect(t, `table at ${exp.offset}`).not.toBeNull();
      expect(t!.complete).toBe(true);
      expect(t!.version).toBe(exp.version);
      const got: string[] = [];
      for (let i = 0; i < t!.rowCount; i++) {
        got.push(formatRow(t!.address[i]!, t!.line[i]!, t!.column[i]!, t!.file[i]!, t!.isa[i]!, t!.discriminator[i]!, t!.flags[i]!));
      }
      expect(got, `table at 0x${exp.offset.toString(16)}`).toEqual(exp.rows);
      rows += got.length;
    }
    expect(rows).toBeGreaterThan(1500);
  });

  it('the tables the compile units point at are exactly the dumped ones', () => {
    const dwarf = new Dwarf(dwarfSections(custom));
    const offsets = dwarf.lineTables().map((t) => t.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(expected.map((t) => t.offset).sort((a, b) => a - b));
  });

  it('DWARF 5 file names come from .debug_line_str, DWARF 4 ones inline', () => {
    const dwarf = new Dwarf(dwarfSections(custom));
    const v5 = dwarf.lineTables().find((t) => t.version === 5)!;
    expect(v5.files[0]!.name).toBe('/work/shared/corpus/simple.c');
    expect(v5.files.map((f) => f?.name)).toContain('corpus.h');
    const v4 = dwarf.lineTables().find((t) => t.version === 4)!;
    expect(v4.files[0]).toBeNull();
    expect(v4.files[1]!.name.length).toBeGreaterThan(0);
  });
});
