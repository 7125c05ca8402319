// mutableFields keeps each field's value and kind (it only stores another value and the original
// back), and refuses kinds it cannot mimic rather than widening a field.
import { expect, test } from 'vitest';
import { mutableFields } from '../../src/engine/v8-fields.js';

test('fields keep their values and kinds', () => {
  const arr = new Uint32Array([1, 2, 3]);
  const o = { n: 0, m: -1, big: 0x7fffffff, on: true, off: false, arr, bytes: new Int8Array(2) };
  mutableFields(o, ['n', 'm', 'big', 'on', 'off', 'arr', 'bytes']);
  expect(o).toEqual({ n: 0, m: -1, big: 0x7fffffff, on: true, off: false, arr: new Uint32Array([1, 2, 3]), bytes: new Int8Array(2) });
  expect(o.arr).toBe(arr);
});

test('a field of another kind is refused', () => {
  expect(() => mutableFields({ s: 'x' }, ['s'])).toThrow(/kind string/);
  expect(() => mutableFields({ f: null }, ['f'])).toThrow(/kind object/);
});
