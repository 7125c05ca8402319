/**
 * Itanium C++ ABI demangler (the mangling clang and gcc use, wasm included).
 *
 * Why our own: no maintained npm demangler runs in Node as published (the one candidate,
 * gecko-profiler-demangle, is a wasm-bindgen bundler build that Node cannot import). This covers
 * what real binaries contain: nested and local names, templates and their parameters,
 * substitutions and the std:: abbreviations, operators, constructors and destructors, builtin,
 * qualified, pointer, reference, array, function and member-pointer types, pack expansions,
 * ABI tags, enable_if attributes, special names (vtables, typeinfo, thunks, guard variables),
 * literal and common expression template arguments, and clone suffixes. The output is
 * llvm-cxxfilt-14's, checked name for name on libc++ and the corpus (test/symbolize).
 *
 * Invariants: `demangleItanium` never throws and returns null for anything it does not fully
 * understand (the caller then keeps the mangled name); recursion depth and output size are
 * bounded, so hostile input cannot blow the stack or memory.
 */
import {
  AbiTagAttr, ArraySubscriptExpr, ArrayType, BinaryExpr, BoolExpr, CallExpr, CastExpr, ClosureTypeName,
  ConditionalExpr, ConversionExpr, ConversionOperatorType, CtorDtorName, CtorVtableSpecialName, DotSuffix,
  DynamicExceptionSpec, ElaboratedType, EnableIfAttr, EnclosingExpr, EnumLiteral, FunctionEncoding, FunctionParam,
  FunctionType, GlobalQualifiedName, IntegerLiteral, LocalName, MemberExpr, NameType, NameWithTemplateArgs, NestedName,
  type Node, NoexceptSpec, Out, ParameterPack, ParameterPackExpansion, PointerToMemberType, PointerType, PostfixExpr,
  PostfixQualifiedType, PrefixExpr, QUAL_CONST, QUAL_RESTRICT, QUAL_VOLATILE, QualifiedName, QualType, REF_LVALUE,
  REF_NONE, REF_RVALUE, ReferenceType, SizeofParamPackExpr, SpecialName, SpecialSubstitution, SSK, StdQualifiedName,
  StringLiteral, StructuredBindingName, TemplateArgs, TemplateArgumentPack, TooLong, UnnamedTypeName,
  VectorType, VendorExtQualType,
} from './itanium-nodes.js';

class Fail extends Error {}

const MAX_DEPTH = 256;
const MAX_OUTPUT = 1 << 16;

const BUILTIN: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short',
  t: 'unsigned short', i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long',
  y: 'unsigned long long', n: '__int128', o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double',
  g: '__float128', z: '...',
};

const D_BUILTIN: Record<string, string> = {
  d: 'decimal64', e: 'decimal128', f: 'decimal32', h: 'half', i: 'char32_t', s: 'char16_t', u: 'char8_t',
  a: 'auto', c: 'decltype(auto)', n: 'std::nullptr_t',
};

/** Operator encodings: [spelling, kind]. Kinds: b binary, p prefix, o other (only as a name). */
const OPERATORS: Record<string, [string, 'b' | 'p' | 'o']> = {
  aa: ['&&', 'b'], ad: ['&', 'p'], an: ['&', 'b'], aN: ['&=', 'b'], aS: ['=', 'b'],
  cl: ['()', 'o'], cm: [',', 'b'], co: ['~', 'p'],
  da: ['delete[]', 'o'], de: ['*', 'p'], dl: ['delete', 'o'], dv: ['/', 'b'], dV: ['/=', 'b'],
  eo: ['^', 'b'], eO: ['^=', 'b'], eq: ['==', 'b'],
  ge: ['>=', 'b'], gt: ['>', 'b'], ix: ['[]', 'o'],
  le: ['<=', 'b'], ls: ['<<', 'b'], lS: ['<<=', 'b'], lt: ['<', 'b'],
  mi: ['-', 'b'], mI: ['-=', 'b'], ml: ['*', 'b'], mL: ['*=', 'b'], mm: ['--', 'o'],
  na: ['new[]', 'o'], ne: ['!=', 'b'], ng: ['-', 'p'], nt: ['!', 'p'], nw: ['new', 'o'],
  oo: ['||', 'b'], or: ['|', 'b'], oR: ['|=', 'b'],
  pm: ['->*', 'b'], pl: ['+', 'b'], pL: ['+=', 'b'], pp: ['++', 'o'], ps: ['+', 'p'], pt: ['->', 'o'],
  qu: ['?', 'o'], rm: ['%', 'b'], rM: ['%=', 'b'], rs: ['>>', 'b'], rS: ['>>=', 'b'], ss: ['<=>', 'b'],
};

interface NameState {
  cvQuals: number;
  refQual: number;
  ctorDtorConversion: boolean;
  endsWithTemplateArgs: boolean;
}

function newState(): NameState {
  return { cvQuals: 0, refQual: REF_NONE, ctorDtorConversion: false, endsWithTemplateArgs: false };
}

class Parser {
  pos = 0;
  depth = 0;
  subs: Node[] = [];
  /** What `T_` refers to: the innermost tagged template arguments, or null. */
  templateParams: Node[] | null = null;
  /** Inside a lambda's signature, where a generic lambda's `auto` parameters are template params. */
  inLambdaParams = false;

  constructor(readonly s: string) {}

  look(k = 0): string {
    return this.s[this.pos + k] ?? '';
  }
  consume(t: string): boolean {
    if (this.s.startsWith(t, this.pos)) {
      this.pos += t.length;
      return true;
    }
    return false;
  }
  expect(t: string): void {
    if (!this.consume(t)) throw new Fail();
  }
  atEnd(): boolean {
    return this.pos >= this.s.length;
  }
  enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Fail();
  }

  /** A non-negative decimal number, optionally `n`-prefixed (negative); '' if none. */
  number(allowNegative = false): string {
    const start = this.pos;
    if (allowNegative) this.consume('n');
    if (!/[0-9]/.test(this.look())) {
      this.pos = start;
      return '';
    }
    while (/[0-9]/.test(this.look())) this.pos++;
    return this.s.slice(start, this.pos);
  }

  sourceName(): Node {
    const n = this.number();
    if (!n) throw new Fail();
    const len = Number(n);
    if (len <= 0 || this.pos + len > this.s.length) throw new Fail();
    const id = this.s.slice(this.pos, this.pos + len);
    this.pos += len;
    if (id.startsWith('_GLOBAL__N')) return new NameType('(anonymous namespace)');
    return new NameType(id);
  }

  // <mangled-name> ::= _Z <encoding> [.<clone-suffix>]*
  parse(): Node {
    if (!(this.consume('_Z') || this.consume('__Z'))) throw new Fail();
    let enc = this.encoding();
    if (this.look() === '.') {
      enc = new DotSuffix(enc, this.s.slice(this.pos));
      this.pos = this.s.length;
    }
    if (!this.atEnd()) throw new Fail();
    return enc;
  }

  encoding(): Node {
    this.enter();
    try {
      if (this.look() === 'G' || this.look() === 'T') return this.specialName();
      const state = newState();
      const name = this.name(state);
      const isEnd = (): boolean => this.atEnd() || this.look() === 'E' || this.look() === '.';
      if (isEnd()) return name;
      let attrs: Node | null = null;
      if (this.consume('Ua9enable_ifI')) {
        const args: Node[] = [];
        while (!this.consume('E')) args.push(this.templateArg());
        attrs = new EnableIfAttr(args);
      }
      let ret: Node | null = null;
      if (!state.ctorDtorConversion && state.endsWithTemplateArgs) ret = this.type();
      if (this.consume('v')) return new FunctionEncoding(ret, name, [], attrs, state.cvQuals, state.refQual);
      const params: Node[] = [];
      do params.push(this.type());
      while (!isEnd());
      return new FunctionEncoding(ret, name, params, attrs, state.cvQuals, state.refQual);
    } finally {
      this.depth--;
    }
  }

  callOffset(): void {
    if (this.consume('h')) {
      if (!this.number(true)) throw new Fail();
      this.expect('_');
      return;
    }
    if (this.consume('v')) {
      if (!this.number(true)) throw new Fail();
      this.expect('_');
      if (!this.number(true)) throw new Fail();
      this.expect('_');
      return;
    }
    throw new Fail();
  }

  specialName(): Node {
    if (this.consume('T')) {
      const c = this.look();
      this.pos++;
      switch (c) {
        case 'A': return new SpecialName('template parameter object for ', this.templateArg());
        case 'V': return new SpecialName('vtable for ', this.type());
        case 'T': return new SpecialName('VTT for ', this.type());
        case 'I': return new SpecialName('typeinfo for ', this.type());
        case 'S': return new SpecialName('typeinfo name for ', this.type());
        case 'h':
          this.pos--;
          this.callOffset();
          return new SpecialName('non-virtual thunk to ', this.encoding());
        case 'v':
          this.pos--;
          this.callOffset();
          return new SpecialName('virtual thunk to ', this.encoding());
        case 'c':
          this.callOffset();
          this.callOffset();
          return new SpecialName('covariant return thunk to ', this.encoding());
        case 'C': {
          const first = this.type();
          if (!this.number(true)) throw new Fail();
          this.expect('_');
          const second = this.type();
          return new CtorVtableSpecialName(second, first);
        }
        case 'W': return new SpecialName('thread-local wrapper routine for ', this.name());
        case 'H': return new SpecialName('thread-local initialization routine for ', this.name());
        default: throw new Fail();
      }
    }
    if (this.consume('GV')) return new SpecialName('guard variable for ', this.name());
    if (this.consume('GR')) {
      const name = this.name();
      const seq = this.seqId();
      if (!this.consume('_') && seq) throw new Fail();
      return new SpecialName('reference temporary for ', name);
    }
    throw new Fail();
  }

  seqId(): boolean {
    const start = this.pos;
    while (/[0-9A-Z]/.test(this.look())) this.pos++;
    return this.pos > start;
  }

  name(state: NameState | null = null): Node {
    this.enter();
    try {
      const c = this.look();
      if (c === 'N') return this.nestedName(state);
      if (c === 'Z') return this.localName(state);
      if (c === 'S' && this.look(1) !== 't') {
        const sub = this.substitution();
        if (this.look() !== 'I') throw new Fail();
        const args = this.templateArgs(state !== null);
        if (state) state.endsWithTemplateArgs = true;
        return new NameWithTemplateArgs(sub, args);
      }
      let result = this.unscopedName(state);
      if (this.look() === 'I') {
        this.subs.push(result);
        const args = this.templateArgs(state !== null);
        if (state) state.endsWithTemplateArgs = true;
        result = new NameWithTemplateArgs(result, args);
      }
      return result;
    } finally {
      this.depth--;
    }
  }

  unscopedName(state: NameState | null): Node {
    if (this.consume('StL') || this.consume('St')) return new StdQualifiedName(this.unqualifiedName(state));
    this.consume('L');
    return this.unqualifiedName(state);
  }

  localName(state: NameState | null): Node {
    this.expect('Z');
    const enc = this.encoding();
    this.expect('E');
    if (this.consume('s')) {
      this.discriminator();
      return new LocalName(enc, new NameType('string literal'));
    }
    if (this.consume('d')) {
      this.number(true);
      this.expect('_');
      return new LocalName(enc, this.name(state));
    }
    const entity = this.name(state);
    this.discriminator();
    return new LocalName(enc, entity);
  }

  discriminator(): void {
    if (this.look() === '_') {
      if (/[0-9]/.test(this.look(1))) {
        this.pos += 2;
      } else if (this.look(1) === '_') {
        let p = this.pos + 2;
        while (/[0-9]/.test(this.s[p] ?? '')) p++;
        if (this.s[p] === '_') this.pos = p + 1;
      }
    } else if (/[0-9]/.test(this.look())) {
      let p = this.pos + 1;
      while (/[0-9]/.test(this.s[p] ?? '')) p++;
      if (p === this.s.length) this.pos = p;
    }
  }

  nestedName(state: NameState | null): Node {
    this.expect('N');
    const cv = this.cvQualifiers();
    if (state) state.cvQuals = cv;
    if (this.consume('O')) {
      if (state) state.refQual = REF_RVALUE;
    } else if (this.consume('R')) {
      if (state) state.refQual = REF_LVALUE;
    } else if (state) {
      state.refQual = REF_NONE;
    }
    let soFar: Node | null = null;
    const push = (comp: Node): void => {
      soFar = soFar ? new NestedName(soFar, comp) : comp;
      if (state) state.endsWithTemplateArgs = false;
    };
    if (this.consume('St')) soFar = new NameType('std');
    while (!this.consume('E')) {
      if (this.atEnd()) throw new Fail();
      this.consume('L');
      if (this.consume('M')) {
        if (!soFar) throw new Fail();
        continue;
      }
      const c = this.look();
      if (c === 'T') {
        push(this.templateParam());
        this.subs.push(soFar!);
        continue;
      }
      if (c === 'I') {
        if (!soFar) throw new Fail();
        const args = this.templateArgs(state !== null);
        soFar = new NameWithTemplateArgs(soFar, args);
        if (state) state.endsWithTemplateArgs = true;
        this.subs.push(soFar);
        continue;
      }
      if (c === 'D' && (this.look(1) === 't' || this.look(1) === 'T')) {
        push(this.decltype());
        this.subs.push(soFar!);
        continue;
      }
      if (c === 'S' && this.look(1) !== 't') {
        const sub = this.substitution();
        push(sub);
        if (soFar !== sub) this.subs.push(sub);
        continue;
      }
      if (c === 'C' || (c === 'D' && this.look(1) !== 'C')) {
        if (!soFar) throw new Fail();
        const holder = { node: soFar as Node };
        const ctor = this.ctorDtorName(holder, state);
        soFar = holder.node;
        push(ctor);
        soFar = this.abiTags(soFar!);
        this.subs.push(soFar);
        continue;
      }
      push(this.unqualifiedName(state));
      this.subs.push(soFar!);
    }
    if (!soFar || this.subs.length === 0) throw new Fail();
    this.subs.pop();
    return soFar;
  }

  ctorDtorName(holder: { node: Node }, state: NameState | null): Node {
    const so = holder.node;
    if (so instanceof SpecialSubstitution && !so.expanded) {
      if (so.kind === SSK.string || so.kind === SSK.istream || so.kind === SSK.ostream || so.kind === SSK.iostream) {
        holder.node = new SpecialSubstitution(so.kind, true);
      }
    }
    if (this.consume('C')) {
      const inherited = this.consume('I');
      if (!/[1-5]/.test(this.look())) throw new Fail();
      this.pos++;
      if (state) state.ctorDtorConversion = true;
      if (inherited) this.name(state);
      return new CtorDtorName(holder.node, false);
    }
    if (this.look() === 'D' && /[01245]/.test(this.look(1))) {
      this.pos += 2;
      if (state) state.ctorDtorConversion = true;
      return new CtorDtorName(holder.node, true);
    }
    throw new Fail();
  }

  unqualifiedName(state: NameState | null): Node {
    let result: Node;
    const c = this.look();
    if (c === 'U') result = this.unnamedTypeName();
    else if (/[1-9]/.test(c)) result = this.sourceName();
    else if (c === 'D' && this.look(1) === 'C') {
      this.pos += 2;
      const bindings: Node[] = [];
      while (!this.consume('E')) bindings.push(this.sourceName());
      result = new StructuredBindingName(bindings);
    } else if (c === 'C' || c === 'D') {
      throw new Fail(); // a constructor needs a class before it (handled in nested names)
    } else result = this.operatorName(state);
    return this.abiTags(result);
  }

  abiTags(n: Node): Node {
    while (this.consume('B')) {
      const tag = this.sourceName() as NameType;
      n = new AbiTagAttr(n, tag.name);
    }
    return n;
  }

  unnamedTypeName(): Node {
    if (this.consume('Ut')) {
      const count = this.number();
      this.expect('_');
      return new UnnamedTypeName(count);
    }
    if (this.consume('Ul')) {
      const params: Node[] = [];
      if (!this.consume('vE')) {
        const was = this.inLambdaParams;
        this.inLambdaParams = true;
        try {
          while (!this.consume('E')) {
            if (this.atEnd()) throw new Fail();
            params.push(this.type());
          }
        } finally {
          this.inLambdaParams = was;
        }
      }
      const count = this.number();
      this.expect('_');
      return new ClosureTypeName(params, count);
    }
    throw new Fail();
  }

  operatorName(state: NameState | null): Node {
    const code = this.s.slice(this.pos, this.pos + 2);
    if (code === 'cv') {
      this.pos += 2;
      const t = this.type();
      if (state) state.ctorDtorConversion = true;
      return new ConversionOperatorType(t);
    }
    if (code === 'li') {
      this.pos += 2;
      const n = this.sourceName() as NameType;
      return new NameType(`operator"" ${n.name}`);
    }
    if (code[0] === 'v' && /[0-9]/.test(code[1] ?? '')) {
      this.pos += 2;
      const n = this.sourceName() as NameType;
      return new NameType(`operator ${n.name}`);
    }
    const op = OPERATORS[code];
    if (!op) throw new Fail();
    this.pos += 2;
    const spelling = op[0];
    return new NameType(/^[a-z]/.test(spelling) ? `operator ${spelling}` : `operator${spelling}`);
  }

  cvQualifiers(): number {
    let q = 0;
    if (this.consume('r')) q |= QUAL_RESTRICT;
    if (this.consume('V')) q |= QUAL_VOLATILE;
    if (this.consume('K')) q |= QUAL_CONST;
    return q;
  }

  substitution(): Node {
    this.expect('S');
    const c = this.look();
    if (/[a-z]/.test(c)) {
      this.pos++;
      switch (c) {
        case 'a': return new SpecialSubstitution(SSK.allocator);
        case 'b': return new SpecialSubstitution(SSK.basic_string);
        case 's': return new SpecialSubstitution(SSK.string);
        case 'i': return new SpecialSubstitution(SSK.istream);
        case 'o': return new SpecialSubstitution(SSK.ostream);
        case 'd': return new SpecialSubstitution(SSK.iostream);
        default: throw new Fail();
      }
    }
    if (this.consume('_')) {
      const n = this.subs[0];
      if (!n) throw new Fail();
      return n;
    }
    let index = 0;
    const start = this.pos;
    while (/[0-9A-Z]/.test(this.look())) {
      const d = this.look();
      index = index * 36 + (d <= '9' ? d.charCodeAt(0) - 48 : d.charCodeAt(0) - 55);
      this.pos++;
    }
    if (this.pos === start) throw new Fail();
    this.expect('_');
    const n = this.subs[index + 1];
    if (!n) throw new Fail();
    return n;
  }

  templateParam(): Node {
    this.expect('T');
    if (this.look() === 'L') throw new Fail(); // lambda template parameter levels: not supported
    let index = 0;
    if (!this.consume('_')) {
      const n = this.number();
      if (!n) throw new Fail();
      this.expect('_');
      index = Number(n) + 1;
    }
    const params = this.templateParams;
    if (!params || index >= params.length) {
      if (this.inLambdaParams) return new NameType('auto');
      throw new Fail();
    }
    return params[index]!;
  }

  templateArgs(tag: boolean): Node {
    this.expect('I');
    const args: Node[] = [];
    if (tag) {
      const table: Node[] = [];
      while (!this.consume('E')) {
        if (this.atEnd()) throw new Fail();
        const arg = this.templateArg();
        args.push(arg);
        table.push(arg instanceof TemplateArgumentPack ? new ParameterPack(arg.elements) : arg);
      }
      this.templateParams = table;
    } else {
      while (!this.consume('E')) {
        if (this.atEnd()) throw new Fail();
        args.push(this.templateArg());
      }
    }
    return new TemplateArgs(args);
  }

  templateArg(): Node {
    this.enter();
    try {
      switch (this.look()) {
        case 'X': {
          this.pos++;
          const e = this.expr();
          this.expect('E');
          return e;
        }
        case 'J': {
          this.pos++;
          const args: Node[] = [];
          while (!this.consume('E')) {
            if (this.atEnd()) throw new Fail();
            args.push(this.templateArg());
          }
          return new TemplateArgumentPack(args);
        }
        case 'L':
          if (this.look(1) === 'Z') {
            this.pos += 2;
            const e = this.encoding();
            this.expect('E');
            return e;
          }
          return this.exprPrimary();
        default:
          return this.type();
      }
    } finally {
      this.depth--;
    }
  }

  type(): Node {
    this.enter();
    try {
      return this.typeInner();
    } finally {
      this.depth--;
    }
  }

  private typeInner(): Node {
    const c = this.look();
    let result: Node;
    switch (c) {
      case 'r': case 'V': case 'K': {
        let k = 0;
        if (this.look(k) === 'r') k++;
        if (this.look(k) === 'V') k++;
        if (this.look(k) === 'K') k++;
        const n = this.look(k);
        if (n === 'F' || (n === 'D' && /[oOwx]/.test(this.look(k + 1)))) result = this.functionType();
        else result = this.qualifiedType();
        break;
      }
      case 'U':
        result = this.qualifiedType();
        break;
      case 'u': {
        this.pos++;
        result = this.sourceName();
        break;
      }
      case 'D': {
        const d = this.look(1);
        if (D_BUILTIN[d] !== undefined) {
          this.pos += 2;
          return new NameType(D_BUILTIN[d]!);
        }
        if (d === 'F') {
          this.pos += 2;
          const n = this.number();
          if (!n) throw new Fail();
          this.expect('_');
          return new NameType(`_Float${n}`);
        }
        if (d === 't' || d === 'T') {
          result = this.decltype();
          break;
        }
        if (d === 'v') {
          result = this.vectorType();
          break;
        }
        if (d === 'p') {
          this.pos += 2;
          result = new ParameterPackExpansion(this.type());
          break;
        }
        if (d === 'o' || d === 'O' || d === 'w' || d === 'x') {
          result = this.functionType();
          break;
        }
        throw new Fail();
      }
      case 'F':
        result = this.functionType();
        break;
      case 'A':
        result = this.arrayType();
        break;
      case 'M': {
        this.pos++;
        const cls = this.type();
        const member = this.type();
        result = new PointerToMemberType(cls, member);
        break;
      }
      case 'T': {
        const k = this.look(1);
        if (k === 's' || k === 'u' || k === 'e') {
          result = this.classEnumType();
          break;
        }
        result = this.templateParam();
        if (this.look() === 'I') {
          this.subs.push(result);
          const args = this.templateArgs(false);
          result = new NameWithTemplateArgs(result, args);
        }
        break;
      }
      case 'P':
        this.pos++;
        result = new PointerType(this.type());
        break;
      case 'R':
        this.pos++;
        result = new ReferenceType(this.type(), false);
        break;
      case 'O':
        this.pos++;
        result = new ReferenceType(this.type(), true);
        break;
      case 'C':
        this.pos++;
        result = new PostfixQualifiedType(this.type(), ' complex');
        break;
      case 'G':
        this.pos++;
        result = new PostfixQualifiedType(this.type(), ' imaginary');
        break;
      case 'S': {
        if (this.look(1) && this.look(1) !== 't') {
          const sub = this.substitution();
          if (this.look() === 'I') {
            const args = this.templateArgs(false);
            result = new NameWithTemplateArgs(sub, args);
            break;
          }
          return sub;
        }
        result = this.classEnumType();
        break;
      }
      default: {
        if (BUILTIN[c] !== undefined) {
          this.pos++;
          return new NameType(BUILTIN[c]!);
        }
        if (c === '') throw new Fail();
        result = this.classEnumType();
      }
    }
    this.subs.push(result);
    return result;
  }

  qualifiedType(): Node {
    if (this.consume('U')) {
      const qual = this.sourceName() as NameType;
      if (qual.name.startsWith('objcproto')) throw new Fail();
      let args: Node | null = null;
      if (this.look() === 'I') args = this.templateArgs(false);
      const child = this.qualifiedType();
      return new VendorExtQualType(child, qual.name, args);
    }
    const q = this.cvQualifiers();
    const t = this.type();
    return q ? new QualType(t, q) : t;
  }

  functionType(): Node {
    const cv = this.cvQualifiers();
    let spec: Node | null = null;
    if (this.consume('Do')) spec = new NameType('noexcept');
    else if (this.consume('DO')) {
      const e = this.expr();
      this.expect('E');
      spec = new NoexceptSpec(e);
    } else if (this.consume('Dw')) {
      const types: Node[] = [];
      while (!this.consume('E')) {
        if (this.atEnd()) throw new Fail();
        types.push(this.type());
      }
      spec = new DynamicExceptionSpec(types);
    }
    this.consume('Dx');
    this.expect('F');
    this.consume('Y');
    const ret = this.type();
    let ref = REF_NONE;
    const params: Node[] = [];
    for (;;) {
      if (this.atEnd()) throw new Fail();
      if (this.consume('E')) break;
      if (this.consume('v')) continue;
      if (this.consume('RE')) {
        ref = REF_LVALUE;
        break;
      }
      if (this.consume('OE')) {
        ref = REF_RVALUE;
        break;
      }
      params.push(this.type());
    }
    return new FunctionType(ret, params, cv, ref, spec);
  }

  arrayType(): Node {
    this.expect('A');
    let dim: Node | null = null;
    if (/[1-9]/.test(this.look())) {
      dim = new NameType(this.number());
      this.expect('_');
    } else if (!this.consume('_')) {
      dim = this.expr();
      this.expect('_');
    }
    return new ArrayType(this.type(), dim);
  }

  vectorType(): Node {
    this.expect('Dv');
    if (/[1-9]/.test(this.look())) {
      const dim = new NameType(this.number());
      this.expect('_');
      if (this.consume('p')) throw new Fail();
      return new VectorType(this.type(), dim);
    }
    let dim: Node | null = null;
    if (!this.consume('_')) {
      dim = this.expr();
      this.expect('_');
    }
    return new VectorType(this.type(), dim);
  }

  decltype(): Node {
    this.expect('D');
    if (!(this.consume('t') || this.consume('T'))) throw new Fail();
    const e = this.expr();
    this.expect('E');
    return new EnclosingExpr('decltype(', e, ')');
  }

  classEnumType(): Node {
    let kind = '';
    if (this.consume('Ts')) kind = 'struct';
    else if (this.consume('Tu')) kind = 'union';
    else if (this.consume('Te')) kind = 'enum';
    const n = this.name();
    return kind ? new ElaboratedType(kind, n) : n;
  }

  // Expressions.

  exprPrimary(): Node {
    this.expect('L');
    const c = this.look();
    const intLit = (type: string): Node => {
      this.pos++;
      const v = this.number(true);
      if (!v) throw new Fail();
      this.expect('E');
      return new IntegerLiteral(type, v);
    };
    switch (c) {
      case 'w': return this.integerCast('wchar_t');
      case 'b':
        if (this.consume('b0E')) return new BoolExpr(false);
        if (this.consume('b1E')) return new BoolExpr(true);
        throw new Fail();
      case 'c': return this.integerCast('char');
      case 'a': return this.integerCast('signed char');
      case 'h': return this.integerCast('unsigned char');
      case 's': return this.integerCast('short');
      case 't': return this.integerCast('unsigned short');
      case 'i': return intLit('');
      case 'j': return intLit('u');
      case 'l': return intLit('l');
      case 'm': return intLit('ul');
      case 'x': return intLit('ll');
      case 'y': return intLit('ull');
      case 'n': return intLit('__int128');
      case 'o': return intLit('unsigned __int128');
      case '_': {
        if (this.consume('_Z')) {
          const e = this.encoding();
          this.expect('E');
          return e;
        }
        throw new Fail();
      }
      case 'A': {
        const t = this.type();
        this.expect('E');
        return new StringLiteral(t);
      }
      case 'D':
        if (this.consume('DnE')) return new NameType('nullptr');
        throw new Fail();
      case 'f': case 'd': case 'e': case 'T': case 'U': case '':
        throw new Fail(); // floating-point literals and lambdas: not supported
      default: {
        const t = this.type();
        const v = this.number(true);
        if (!v) throw new Fail();
        this.expect('E');
        return new EnumLiteral(t, v);
      }
    }
  }

  integerCast(type: string): Node {
    this.pos++;
    const v = this.number(true);
    if (!v) throw new Fail();
    this.expect('E');
    return new EnumLiteral(new NameType(type), v);
  }

  expr(): Node {
    this.enter();
    try {
      return this.exprInner();
    } finally {
      this.depth--;
    }
  }

  private exprInner(): Node {
    const global = this.consume('gs');
    const c = this.look();
    if (c === '') throw new Fail();
    if (c === 'L') return this.exprPrimary();
    if (c === 'T') return this.templateParam();
    if (this.consume('fp')) {
      this.cvQualifiers();
      const n = this.number();
      this.expect('_');
      return new FunctionParam(n);
    }
    if (/[0-9]/.test(c)) return this.unresolvedName(global);
    const code = this.s.slice(this.pos, this.pos + 2);
    switch (code) {
      case 'sr': return this.unresolvedName(global);
      case 'st': this.pos += 2; return new EnclosingExpr('sizeof (', this.type(), ')');
      case 'sz': this.pos += 2; return new EnclosingExpr('sizeof (', this.expr(), ')');
      case 'at': this.pos += 2; return new EnclosingExpr('alignof (', this.type(), ')');
      case 'az': this.pos += 2; return new EnclosingExpr('alignof (', this.expr(), ')');
      case 'te': this.pos += 2; return new EnclosingExpr('typeid (', this.expr(), ')');
      case 'ti': this.pos += 2; return new EnclosingExpr('typeid (', this.type(), ')');
      case 'nx': this.pos += 2; return new EnclosingExpr('noexcept (', this.expr(), ')');
      case 'sZ': {
        this.pos += 2;
        if (this.look() === 'T') return new SizeofParamPackExpr(this.templateParam());
        if (this.consume('fp')) {
          this.cvQualifiers();
          const n = this.number();
          this.expect('_');
          return new EnclosingExpr('sizeof...(', new FunctionParam(n), ')');
        }
        throw new Fail();
      }
      case 'sp': this.pos += 2; return new ParameterPackExpansion(this.expr());
      case 'dt': { this.pos += 2; const l = this.expr(); return new MemberExpr(l, '.', this.expr()); }
      case 'pt': { this.pos += 2; const l = this.expr(); return new MemberExpr(l, '->', this.expr()); }
      case 'ds': { this.pos += 2; const l = this.expr(); return new MemberExpr(l, '.*', this.expr()); }
      case 'cl': {
        this.pos += 2;
        const callee = this.expr();
        const args: Node[] = [];
        while (!this.consume('E')) {
          if (this.atEnd()) throw new Fail();
          args.push(this.expr());
        }
        return new CallExpr(callee, args);
      }
      case 'cv': {
        this.pos += 2;
        const t = this.type();
        if (this.consume('_')) {
          const es: Node[] = [];
          while (!this.consume('E')) {
            if (this.atEnd()) throw new Fail();
            es.push(this.expr());
          }
          return new ConversionExpr(t, es);
        }
        return new ConversionExpr(t, [this.expr()]);
      }
      case 'sc': case 'dc': case 'cc': case 'rc': {
        this.pos += 2;
        const kind = { sc: 'static_cast', dc: 'dynamic_cast', cc: 'const_cast', rc: 'reinterpret_cast' }[code];
        const t = this.type();
        return new CastExpr(kind, t, this.expr());
      }
      case 'ix': { this.pos += 2; const a = this.expr(); return new ArraySubscriptExpr(a, this.expr()); }
      case 'qu': {
        this.pos += 2;
        const a = this.expr();
        const b = this.expr();
        return new ConditionalExpr(a, b, this.expr());
      }
      case 'pp': case 'mm': {
        this.pos += 2;
        const sp = code === 'pp' ? '++' : '--';
        if (this.consume('_')) return new PrefixExpr(sp, this.expr());
        return new PostfixExpr(this.expr(), sp);
      }
      case 'on': case 'dn': return this.unresolvedName(global);
    }
    const op = OPERATORS[code];
    if (!op || op[1] === 'o') throw new Fail();
    this.pos += 2;
    if (op[1] === 'p') return new PrefixExpr(op[0], this.expr());
    const lhs = this.expr();
    return new BinaryExpr(lhs, op[0], this.expr());
  }

  simpleId(): Node {
    const n = this.sourceName();
    if (this.look() === 'I') return new NameWithTemplateArgs(n, this.templateArgs(false));
    return n;
  }

  baseUnresolvedName(): Node {
    if (/[0-9]/.test(this.look())) return this.simpleId();
    if (this.consume('dn')) {
      const t = /[0-9]/.test(this.look()) ? this.simpleId() : this.unresolvedType();
      return new DtorName(t);
    }
    this.consume('on');
    const op = this.operatorName(null);
    if (this.look() === 'I') return new NameWithTemplateArgs(op, this.templateArgs(false));
    return op;
  }

  unresolvedType(): Node {
    if (this.look() === 'T') {
      const t = this.templateParam();
      this.subs.push(t);
      return t;
    }
    if (this.look() === 'D') {
      const t = this.decltype();
      this.subs.push(t);
      return t;
    }
    return this.substitution();
  }

  unresolvedName(global: boolean): Node {
    let soFar: Node | null = null;
    if (this.consume('srN')) {
      soFar = this.unresolvedType();
      if (this.look() === 'I') soFar = new NameWithTemplateArgs(soFar, this.templateArgs(false));
      while (!this.consume('E')) {
        if (this.atEnd()) throw new Fail();
        soFar = new QualifiedName(soFar, this.simpleId());
      }
      return new QualifiedName(soFar, this.baseUnresolvedName());
    }
    if (!this.consume('sr')) {
      const base = this.baseUnresolvedName();
      return global ? new GlobalQualifiedName(base) : base;
    }
    if (/[0-9]/.test(this.look())) {
      do {
        const q = this.simpleId();
        if (soFar) soFar = new QualifiedName(soFar, q);
        else soFar = global ? new GlobalQualifiedName(q) : q;
      } while (!this.consume('E') && !this.atEnd());
    } else {
      soFar = this.unresolvedType();
      if (this.look() === 'I') soFar = new NameWithTemplateArgs(soFar, this.templateArgs(false));
    }
    return new QualifiedName(soFar!, this.baseUnresolvedName());
  }
}

class DtorName extends NameType {
  constructor(readonly base: Node) {
    super('');
  }
  override printLeft(o: Out): void {
    o.add('~');
    this.base.printLeft(o);
  }
}

/** The demangled form of an Itanium C++ name, or null when it is not one we fully understand. */
export function demangleItanium(mangled: string): string | null {
  if (!mangled.startsWith('_Z') && !mangled.startsWith('__Z')) return null;
  try {
    const node = new Parser(mangled).parse();
    const out = new Out(MAX_OUTPUT);
    node.print(out);
    return out.s;
  } catch (e) {
    if (e instanceof Fail || e instanceof TooLong || e instanceof RangeError) return null;
    throw e;
  }
}
