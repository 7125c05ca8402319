/**
 * Rust symbol demangling, both manglings rustc emits: legacy (`_ZN...17h<hash>E`, Itanium-shaped
 * with `$LT$`-style escapes) and v0 (`_R...`). The output is rustc-demangle's alternate form,
 * which is what rustfilt prints: legacy hashes and v0 crate disambiguators are dropped.
 * Checked against rustc-demangle itself on real symbols (test/symbolize/demangle.test.ts).
 *
 * Invariants: never throws; null for anything that is not a valid symbol of either kind (the
 * caller keeps the name as it is); v0 back-references must point backwards and recursion is
 * bounded, so hostile input terminates.
 */

class Invalid extends Error {}

const LLVM_SUFFIX = /\.llvm\.[0-9A-F@]*$/;

/** A suffix rustc-demangle keeps: `.` then ASCII letters, digits and punctuation only. */
function symbolLikeSuffix(s: string): boolean {
  return s.startsWith('.') && /^[\x21-\x7e]*$/.test(s);
}

// ---------------------------------------------------------------------------------------------
// Legacy

interface Legacy {
  elements: string[];
  rest: string;
}

function parseLegacy(s: string): Legacy | null {
  let inner: string;
  if (s.length > 3 && s.startsWith('_ZN')) inner = s.slice(3);
  else if (s.length > 2 && s.startsWith('ZN')) inner = s.slice(2);
  else if (s.length > 4 && s.startsWith('__ZN')) inner = s.slice(4);
  else return null;
  if (/[^\x00-\x7f]/.test(inner)) return null;
  const elements: string[] = [];
  let p = 0;
  while (inner[p] !== 'E') {
    if (p >= inner.length || !/[0-9]/.test(inner[p]!)) return null;
    let len = 0;
    while (p < inner.length && /[0-9]/.test(inner[p]!)) {
      len = len * 10 + (inner.charCodeAt(p) - 48);
      if (len > inner.length) return null;
      p++;
    }
    if (p + len > inner.length) return null;
    elements.push(inner.slice(p, p + len));
    p += len;
  }
  return { elements, rest: inner.slice(p + 1) };
}

export function isRustHash(s: string): boolean {
  return s.startsWith('h') && /^[0-9a-fA-F]*$/.test(s.slice(1));
}

const ESCAPES: Record<string, string> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };

/** One legacy path element with its escapes decoded (`$LT$` -> `<`, `..` -> `::`, `$u20$` -> ` `). */
export function unescapeLegacy(element: string): string {
  let rest = element.startsWith('_$') ? element.slice(1) : element;
  let out = '';
  for (;;) {
    if (rest.startsWith('.')) {
      if (rest[1] === '.') {
        out += '::';
        rest = rest.slice(2);
      } else {
        out += '.';
        rest = rest.slice(1);
      }
    } else if (rest.startsWith('$')) {
      const end = rest.indexOf('$', 1);
      if (end < 0) break;
      const escape = rest.slice(1, end);
      let un = ESCAPES[escape];
      if (un === undefined) {
        if (!escape.startsWith('u') || !/^[0-9a-f]+$/.test(escape.slice(1))) break;
        const cp = parseInt(escape.slice(1), 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) break;
        const ch = String.fromCodePoint(cp);
        if (/\p{Cc}/u.test(ch)) break;
        un = ch;
      }
      out += un;
      rest = rest.slice(end + 1);
    } else {
      const i = rest.search(/[$.]/);
      if (i < 0) break;
      out += rest.slice(0, i);
      rest = rest.slice(i);
    }
  }
  return out + rest;
}

function printLegacy(elements: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < elements.length; i++) {
    if (i + 1 === elements.length && isRustHash(elements[i]!)) break;
    parts.push(unescapeLegacy(elements[i]!));
  }
  return parts.join('::');
}

// ---------------------------------------------------------------------------------------------
// v0

const BASIC: Record<string, string> = {
  b: 'bool', c: 'char', e: 'str', u: '()', a: 'i8', s: 'i16', l: 'i32', x: 'i64', n: 'i128', i: 'isize',
  h: 'u8', t: 'u16', m: 'u32', y: 'u64', o: 'u128', j: 'usize', f: 'f32', d: 'f64', z: '!', p: '_', v: '...',
};

const MAX_DEPTH = 500;
const MAX_OUTPUT = 1 << 16;

interface Ident {
  ascii: string;
  punycode: string;
}

class V0 {
  next = 0;
  depth = 0;
  out = '';
  /** False while validating or skipping (an impl's own path): nothing printed, backrefs not followed. */
  printing: boolean;
  boundLifetimes = 0;

  constructor(readonly sym: string, printing: boolean) {
    this.printing = printing;
  }

  print(s: string): void {
    if (!this.printing) return;
    this.out += s;
    if (this.out.length > MAX_OUTPUT) throw new Invalid();
  }
  peek(): string {
    return this.sym[this.next] ?? '';
  }
  eat(c: string): boolean {
    if (this.sym[this.next] === c) {
      this.next++;
      return true;
    }
    return false;
  }
  nextChar(): string {
    const c = this.sym[this.next];
    if (c === undefined) throw new Invalid();
    this.next++;
    return c;
  }
  pushDepth(): void {
    if (++this.depth > MAX_DEPTH) throw new Invalid();
  }
  popDepth(): void {
    this.depth--;
  }

  hexNibbles(): string {
    const start = this.next;
    for (;;) {
      const c = this.nextChar();
      if (c === '_') break;
      if (!/[0-9a-f]/.test(c)) throw new Invalid();
    }
    return this.sym.slice(start, this.next - 1);
  }
  digit10(): number {
    const c = this.peek();
    if (!/[0-9]/.test(c)) throw new Invalid();
    this.next++;
    return c.charCodeAt(0) - 48;
  }
  integer62(): number {
    if (this.eat('_')) return 0;
    let x = 0;
    while (!this.eat('_')) {
      const c = this.nextChar();
      let d: number;
      if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
      else if (c >= 'a' && c <= 'z') d = 10 + c.charCodeAt(0) - 97;
      else if (c >= 'A' && c <= 'Z') d = 36 + c.charCodeAt(0) - 65;
      else throw new Invalid();
      // u64 in rustc-demangle: crate disambiguators are 64-bit hashes. Doubles lose their low
      // bits, which only matters for values never printed (hashes, out-of-range backrefs).
      x = x * 62 + d;
      if (x >= 2 ** 64) throw new Invalid();
    }
    return x + 1;
  }
  optInteger62(tag: string): number {
    return this.eat(tag) ? this.integer62() + 1 : 0;
  }
  disambiguator(): number {
    return this.optInteger62('s');
  }
  namespace(): string | null {
    const c = this.nextChar();
    if (c >= 'A' && c <= 'Z') return c;
    if (c >= 'a' && c <= 'z') return null;
    throw new Invalid();
  }
  ident(): Ident {
    const puny = this.eat('u');
    let len = this.digit10();
    if (len !== 0) {
      while (/[0-9]/.test(this.peek())) {
        len = len * 10 + this.digit10();
        if (len > this.sym.length) throw new Invalid();
      }
    }
    this.eat('_');
    const start = this.next;
    this.next += len;
    if (this.next > this.sym.length) throw new Invalid();
    const text = this.sym.slice(start, this.next);
    if (!puny) return { ascii: text, punycode: '' };
    const i = text.lastIndexOf('_');
    const id = i >= 0 ? { ascii: text.slice(0, i), punycode: text.slice(i + 1) } : { ascii: '', punycode: text };
    if (!id.punycode) throw new Invalid();
    return id;
  }

  printIdent(id: Ident): void {
    if (!id.punycode) {
      this.print(id.ascii);
      return;
    }
    const decoded = punycodeDecode(id.ascii, id.punycode);
    if (decoded !== null) this.print(decoded);
    else this.print(`punycode{${id.ascii ? id.ascii + '-' : ''}${id.punycode}}`);
  }

  /** Runs `f` at the position a back-reference points to (only when printing). */
  backref(f: () => void): void {
    const start = this.next - 1;
    const target = this.integer62();
    if (target >= start) throw new Invalid();
    if (!this.printing) return;
    const saved = this.next;
    this.next = target;
    try {
      f();
    } finally {
      this.next = saved;
    }
  }

  skipping(f: () => void): void {
    const was = this.printing;
    this.printing = false;
    try {
      f();
    } finally {
      this.printing = was;
    }
  }

  path(inValue: boolean): void {
    this.pushDepth();
    const tag = this.nextChar();
    switch (tag) {
      case 'C': {
        this.disambiguator();
        this.printIdent(this.ident());
        break;
      }
      case 'N': {
        const ns = this.namespace();
        this.path(inValue);
        const dis = this.disambiguator();
        const name = this.ident();
        const named = name.ascii !== '' || name.punycode !== '';
        if (ns !== null) {
          this.print('::{');
          this.print(ns === 'C' ? 'closure' : ns === 'S' ? 'shim' : ns);
          if (named) {
            this.print(':');
            this.printIdent(name);
          }
          this.print(`#${dis}}`);
        } else if (named) {
          this.print('::');
          this.printIdent(name);
        }
        break;
      }
      case 'M': case 'X': case 'Y': {
        if (tag !== 'Y') {
          this.disambiguator();
          this.skipping(() => this.path(false));
        }
        this.print('<');
        this.type();
        if (tag !== 'M') {
          this.print(' as ');
          this.path(false);
        }
        this.print('>');
        break;
      }
      case 'I': {
        this.path(inValue);
        if (inValue) this.print('::');
        this.print('<');
        this.sepList(() => this.genericArg(), ', ');
        this.print('>');
        break;
      }
      case 'B':
        this.backref(() => this.path(inValue));
        break;
      default:
        throw new Invalid();
    }
    this.popDepth();
  }

  sepList(f: () => void, sep: string): number {
    let i = 0;
    while (!this.eat('E')) {
      if (this.next >= this.sym.length) throw new Invalid();
      if (i > 0) this.print(sep);
      f();
      i++;
    }
    return i;
  }

  genericArg(): void {
    if (this.eat('L')) this.lifetime(this.integer62());
    else if (this.eat('K')) this.konst(false);
    else this.type();
  }

  lifetime(lt: number): void {
    if (!this.printing) return;
    this.print("'");
    if (lt === 0) {
      this.print('_');
      return;
    }
    const depth = this.boundLifetimes - lt;
    if (depth < 0) throw new Invalid();
    if (depth < 26) this.print(String.fromCharCode(97 + depth));
    else this.print(`_${depth}`);
  }

  inBinder(f: () => void): void {
    const bound = this.optInteger62('G');
    if (!this.printing) {
      f();
      return;
    }
    if (bound > 0) {
      this.print('for<');
      for (let i = 0; i < bound; i++) {
        if (i > 0) this.print(', ');
        this.boundLifetimes++;
        this.lifetime(1);
      }
      this.print('> ');
    }
    try {
      f();
    } finally {
      this.boundLifetimes -= bound;
    }
  }

  type(): void {
    const tag = this.nextChar();
    const basic = BASIC[tag];
    if (basic !== undefined) {
      this.print(basic);
      return;
    }
    this.pushDepth();
    switch (tag) {
      case 'R': case 'Q': {
        this.print('&');
        if (this.eat('L')) {
          const lt = this.integer62();
          if (lt !== 0) {
            this.lifetime(lt);
            this.print(' ');
          }
        }
        if (tag !== 'R') this.print('mut ');
        this.type();
        break;
      }
      case 'P': case 'O':
        this.print(tag === 'P' ? '*const ' : '*mut ');
        this.type();
        break;
      case 'A': case 'S':
        this.print('[');
        this.type();
        if (tag === 'A') {
          this.print('; ');
          this.konst(true);
        }
        this.print(']');
        break;
      case 'T': {
        this.print('(');
        const n = this.sepList(() => this.type(), ', ');
        if (n === 1) this.print(',');
        this.print(')');
        break;
      }
      case 'F':
        this.inBinder(() => {
          const unsafe = this.eat('U');
          let abi: string | null = null;
          if (this.eat('K')) {
            if (this.eat('C')) abi = 'C';
            else {
              const id = this.ident();
              if (!id.ascii || id.punycode) throw new Invalid();
              abi = id.ascii;
            }
          }
          if (unsafe) this.print('unsafe ');
          if (abi !== null) this.print(`extern "${abi.split('_').join('-')}" `);
          this.print('fn(');
          this.sepList(() => this.type(), ', ');
          this.print(')');
          if (!this.eat('u')) {
            this.print(' -> ');
            this.type();
          }
        });
        break;
      case 'D': {
        this.print('dyn ');
        this.inBinder(() => this.sepList(() => this.dynTrait(), ' + '));
        if (!this.eat('L')) throw new Invalid();
        const lt = this.integer62();
        if (lt !== 0) {
          this.print(' + ');
          this.lifetime(lt);
        }
        break;
      }
      case 'B':
        this.backref(() => this.type());
        break;
      default:
        this.next--;
        this.path(false);
    }
    this.popDepth();
  }

  pathMaybeOpenGenerics(): boolean {
    if (this.eat('B')) {
      let open = false;
      this.backref(() => {
        open = this.pathMaybeOpenGenerics();
      });
      return open;
    }
    if (this.eat('I')) {
      this.path(false);
      this.print('<');
      this.sepList(() => this.genericArg(), ', ');
      return true;
    }
    this.path(false);
    return false;
  }

  dynTrait(): void {
    let open = this.pathMaybeOpenGenerics();
    while (this.eat('p')) {
      if (!open) {
        this.print('<');
        open = true;
      } else {
        this.print(', ');
      }
      this.printIdent(this.ident());
      this.print(' = ');
      this.type();
    }
    if (open) this.print('>');
  }

  konst(_inValue: boolean): void {
    const tag = this.nextChar();
    this.pushDepth();
    switch (tag) {
      case 'p':
        this.print('_');
        break;
      case 'h': case 't': case 'm': case 'y': case 'o': case 'j':
        this.constUint();
        break;
      case 'a': case 's': case 'l': case 'x': case 'n': case 'i':
        if (this.eat('n')) this.print('-');
        this.constUint();
        break;
      case 'b': {
        const v = this.hexNibbles();
        const n = parseHex(v);
        if (n === 0) this.print('false');
        else if (n === 1) this.print('true');
        else throw new Invalid();
        break;
      }
      case 'c': {
        const n = parseHex(this.hexNibbles());
        if (typeof n !== 'number' || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) throw new Invalid();
        this.print(quoteChar(String.fromCodePoint(n)));
        break;
      }
      case 'B':
        this.backref(() => this.konst(_inValue));
        break;
      default:
        // String, reference, array, tuple and struct constants: not supported.
        throw new Invalid();
    }
    this.popDepth();
  }

  constUint(): void {
    const hex = this.hexNibbles();
    const v = parseHex(hex);
    // rustc-demangle prints values that fit in a u64 in decimal, bigger ones in hex.
    if (v !== null) this.print(String(v));
    else this.print(`0x${hex}`);
  }
}

function parseHex(hex: string): number | bigint | null {
  const trimmed = hex.replace(/^0+/, '');
  if (trimmed.length > 16) return null;
  if (trimmed === '') return 0;
  const big = BigInt('0x' + trimmed);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function quoteChar(c: string): string {
  switch (c) {
    case '\t': return "'\\t'";
    case '\r': return "'\\r'";
    case '\n': return "'\\n'";
    case '\\': return "'\\\\'";
    case "'": return "'\\''";
    case '\0': return "'\\0'";
  }
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(c)) return `'\\u{${c.codePointAt(0)!.toString(16)}}'`;
  return `'${c}'`;
}

/** RFC 3492 decoding of `punycode` appended to the basic code points `ascii`; null if invalid. */
export function punycodeDecode(ascii: string, punycode: string): string | null {
  const out = [...ascii].map((c) => c.codePointAt(0)!);
  let n = 0x80, i = 0, bias = 72;
  let p = 0;
  const base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  while (p < punycode.length) {
    const oldi = i;
    let w = 1;
    for (let k = base; ; k += base) {
      const c = punycode[p++];
      if (c === undefined) return null;
      let d: number;
      if (c >= 'a' && c <= 'z') d = c.charCodeAt(0) - 97;
      else if (c >= '0' && c <= '9') d = 26 + c.charCodeAt(0) - 48;
      else return null;
      i += d * w;
      if (i > 0x7fffffff) return null;
      const t = k <= bias ? tmin : k >= bias + tmax ? tmax : k - bias;
      if (d < t) break;
      w *= base - t;
      if (w > 0x7fffffff) return null;
    }
    const len = out.length + 1;
    let delta = oldi === 0 ? Math.floor((i - oldi) / damp) : (i - oldi) >> 1;
    delta += Math.floor(delta / len);
    let k = 0;
    while (delta > ((base - tmin) * tmax) >> 1) {
      delta = Math.floor(delta / (base - tmin));
      k += base;
    }
    bias = k + Math.floor(((base - tmin + 1) * delta) / (delta + skew));
    n += Math.floor(i / len);
    i %= len;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return null;
    if (out.length >= 128) return null;
    out.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...out);
}

function demangleV0(s: string): { text: string; rest: string } | null {
  let inner: string;
  if (s.length > 2 && s.startsWith('_R')) inner = s.slice(2);
  else if (s.length > 3 && s.startsWith('__R')) inner = s.slice(3);
  else return null;
  if (!/^[A-Z]/.test(inner) || /[^\x00-\x7f]/.test(inner)) return null;
  // Validate: the path, then an optional instantiating crate, without printing.
  const check = new V0(inner, false);
  check.path(false);
  if (/^[A-Z]/.test(check.peek())) check.path(false);
  const rest = inner.slice(check.next);
  const p = new V0(inner, true);
  p.path(true);
  return { text: p.out, rest };
}

/** rustc-demangle's alternate (`{:#}`) form of a Rust symbol, or null when it is not one. */
export function demangleRust(name: string): string | null {
  let s = name;
  const llvm = s.indexOf('.llvm.');
  if (llvm >= 0 && LLVM_SUFFIX.test(s.slice(llvm))) s = s.slice(0, llvm);
  try {
    let text: string;
    let rest: string;
    const legacy = parseLegacy(s);
    if (legacy) {
      text = printLegacy(legacy.elements);
      rest = legacy.rest;
    } else {
      const v0 = demangleV0(s);
      if (!v0) return null;
      text = v0.text;
      rest = v0.rest;
    }
    if (rest !== '' && !symbolLikeSuffix(rest)) return null;
    return text + rest;
  } catch (e) {
    if (e instanceof Invalid || e instanceof RangeError) return null;
    throw e;
  }
}

/** True when the name is a legacy Rust symbol (its last element is a rustc hash). */
export function isLegacyRust(name: string): boolean {
  const l = parseLegacy(name);
  return l !== null && l.elements.length > 1 && /^h[0-9a-f]{16}$/.test(l.elements[l.elements.length - 1]!);
}
