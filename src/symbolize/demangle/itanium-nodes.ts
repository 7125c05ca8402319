/**
 * The tree an Itanium C++ mangled name parses into, and its printing.
 *
 * The output is llvm-cxxfilt's (LLVM 14) layout, since that is what our users compare against:
 * `char const*`, `> >` between closing template brackets, `(anonymous namespace)`, `'lambda'(int)`,
 * parenthesised template-argument expressions. C++ declarators print in two halves: printLeft
 * writes what goes before the declared name, printRight what goes after (so a pointer to a
 * function prints `void (*)(int)`).
 *
 * Invariant: printing is bounded. `Out` refuses to grow past its limit (substitutions can make a
 * short name expand exponentially) and throws `TooLong`, which the demangler turns into "return
 * the name unchanged".
 */

export class TooLong extends Error {}

export class Out {
  s = '';
  /** Pack expansion state: which element of the pack being expanded, and how many it has (-1: none seen). */
  packIndex = -1;
  packMax = -1;
  constructor(readonly limit: number) {}
  add(t: string): void {
    this.s += t;
    if (this.s.length > this.limit) throw new TooLong();
  }
  last(): string {
    return this.s.length ? this.s[this.s.length - 1]! : '';
  }
}

export abstract class Node {
  hasRHS(_o: Out): boolean {
    return false;
  }
  hasArray(_o: Out): boolean {
    return false;
  }
  hasFunction(_o: Out): boolean {
    return false;
  }
  /** The node a reference or pointer actually refers to (resolves pack elements). */
  syntax(_o: Out): Node {
    return this;
  }
  abstract printLeft(o: Out): void;
  printRight(_o: Out): void {}
  print(o: Out): void {
    this.printLeft(o);
    this.printRight(o);
  }
  /** The unqualified name, as a constructor or destructor repeats it. */
  baseName(): string {
    return '';
  }
}

export function printList(o: Out, nodes: readonly Node[]): void {
  let first = true;
  for (const n of nodes) {
    const before = o.s.length;
    if (!first) o.add(', ');
    const after = o.s.length;
    n.print(o);
    // An empty pack expansion prints nothing: take its comma back.
    if (o.s.length === after) {
      o.s = o.s.slice(0, before);
      continue;
    }
    first = false;
  }
}

export class NameType extends Node {
  constructor(readonly name: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.name);
  }
  override baseName(): string {
    return this.name;
  }
}

export class NestedName extends Node {
  constructor(readonly qual: Node, readonly name: Node) {
    super();
  }
  override printLeft(o: Out): void {
    this.qual.print(o);
    o.add('::');
    this.name.print(o);
  }
  override baseName(): string {
    return this.name.baseName();
  }
}

/** `A::x` inside expressions (unresolved names). */
export class QualifiedName extends NestedName {}

export class GlobalQualifiedName extends Node {
  constructor(readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('::');
    this.child.print(o);
  }
  override baseName(): string {
    return this.child.baseName();
  }
}

export class LocalName extends Node {
  constructor(readonly encoding: Node, readonly entity: Node) {
    super();
  }
  override printLeft(o: Out): void {
    this.encoding.print(o);
    o.add('::');
    this.entity.print(o);
  }
}

export class StdQualifiedName extends Node {
  constructor(readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('std::');
    this.child.print(o);
  }
  override baseName(): string {
    return this.child.baseName();
  }
}

export class NameWithTemplateArgs extends Node {
  constructor(readonly name: Node, readonly args: Node) {
    super();
  }
  override printLeft(o: Out): void {
    this.name.print(o);
    this.args.print(o);
  }
  override baseName(): string {
    return this.name.baseName();
  }
}

export class TemplateArgs extends Node {
  constructor(readonly params: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('<');
    printList(o, this.params);
    if (o.last() === '>') o.add(' ');
    o.add('>');
  }
}

export class AbiTagAttr extends Node {
  constructor(readonly base: Node, readonly tag: string) {
    super();
  }
  override printLeft(o: Out): void {
    this.base.printLeft(o);
    o.add(`[abi:${this.tag}]`);
  }
  override baseName(): string {
    return this.base.baseName();
  }
}

export class CtorDtorName extends Node {
  constructor(readonly basename: Node, readonly isDtor: boolean) {
    super();
  }
  override printLeft(o: Out): void {
    if (this.isDtor) o.add('~');
    o.add(this.basename.baseName());
  }
}

export class ConversionOperatorType extends Node {
  constructor(readonly type: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('operator ');
    this.type.print(o);
  }
}

export class SpecialName extends Node {
  constructor(readonly special: string, readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.special);
    this.child.print(o);
  }
}

export class CtorVtableSpecialName extends Node {
  constructor(readonly first: Node, readonly second: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('construction vtable for ');
    this.first.print(o);
    o.add('-in-');
    this.second.print(o);
  }
}

export const enum SSK { allocator, basic_string, string, istream, ostream, iostream }

const SS_SHORT = ['std::allocator', 'std::basic_string', 'std::string', 'std::istream', 'std::ostream', 'std::iostream'];
const SS_BASE = ['allocator', 'basic_string', 'basic_string', 'basic_istream', 'basic_ostream', 'basic_iostream'];
const SS_LONG = [
  'std::allocator',
  'std::basic_string',
  'std::basic_string<char, std::char_traits<char>, std::allocator<char> >',
  'std::basic_istream<char, std::char_traits<char> >',
  'std::basic_ostream<char, std::char_traits<char> >',
  'std::basic_iostream<char, std::char_traits<char> >',
];

export class SpecialSubstitution extends Node {
  constructor(readonly kind: SSK, readonly expanded = false) {
    super();
  }
  override printLeft(o: Out): void {
    o.add((this.expanded ? SS_LONG : SS_SHORT)[this.kind]!);
  }
  override baseName(): string {
    return SS_BASE[this.kind]!;
  }
}

export const QUAL_CONST = 1, QUAL_VOLATILE = 2, QUAL_RESTRICT = 4;

export function printQuals(o: Out, q: number): void {
  if (q & QUAL_CONST) o.add(' const');
  if (q & QUAL_VOLATILE) o.add(' volatile');
  if (q & QUAL_RESTRICT) o.add(' restrict');
}

export class QualType extends Node {
  constructor(readonly child: Node, readonly quals: number) {
    super();
  }
  override hasRHS(o: Out): boolean {
    return this.child.hasRHS(o);
  }
  override hasArray(o: Out): boolean {
    return this.child.hasArray(o);
  }
  override hasFunction(o: Out): boolean {
    return this.child.hasFunction(o);
  }
  override printLeft(o: Out): void {
    this.child.printLeft(o);
    printQuals(o, this.quals);
  }
  override printRight(o: Out): void {
    this.child.printRight(o);
  }
}

export class VendorExtQualType extends Node {
  constructor(readonly type: Node, readonly ext: string, readonly args: Node | null) {
    super();
  }
  override printLeft(o: Out): void {
    this.type.print(o);
    o.add(' ' + this.ext);
    this.args?.print(o);
  }
}

/** `_Complex`, `_Imaginary` and similar postfix spellings. */
export class PostfixQualifiedType extends Node {
  constructor(readonly type: Node, readonly postfix: string) {
    super();
  }
  override printLeft(o: Out): void {
    this.type.printLeft(o);
    o.add(this.postfix);
  }
}

export class ElaboratedType extends Node {
  constructor(readonly kind: string, readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.kind + ' ');
    this.child.print(o);
  }
}

export class PointerType extends Node {
  constructor(readonly pointee: Node) {
    super();
  }
  override hasRHS(o: Out): boolean {
    return this.pointee.hasRHS(o);
  }
  override printLeft(o: Out): void {
    this.pointee.printLeft(o);
    const arr = this.pointee.hasArray(o);
    if (arr) o.add(' ');
    if (arr || this.pointee.hasFunction(o)) o.add('(');
    o.add('*');
  }
  override printRight(o: Out): void {
    if (this.pointee.hasArray(o) || this.pointee.hasFunction(o)) o.add(')');
    this.pointee.printRight(o);
  }
}

export class ReferenceType extends Node {
  private printing = false;
  constructor(readonly pointee: Node, readonly rvalue: boolean) {
    super();
  }
  override hasRHS(o: Out): boolean {
    return this.pointee.hasRHS(o);
  }
  /** Reference collapsing: `T& &&` is `T&`. */
  private collapse(o: Out): [boolean, Node] {
    let rvalue = this.rvalue;
    let node = this.pointee;
    for (let i = 0; i < 64; i++) {
      const sn = node.syntax(o);
      if (!(sn instanceof ReferenceType)) break;
      node = sn.pointee;
      rvalue = rvalue && sn.rvalue;
    }
    return [rvalue, node];
  }
  override printLeft(o: Out): void {
    if (this.printing) return;
    this.printing = true;
    try {
      const [rvalue, p] = this.collapse(o);
      p.printLeft(o);
      const arr = p.hasArray(o);
      if (arr) o.add(' ');
      if (arr || p.hasFunction(o)) o.add('(');
      o.add(rvalue ? '&&' : '&');
    } finally {
      this.printing = false;
    }
  }
  override printRight(o: Out): void {
    if (this.printing) return;
    this.printing = true;
    try {
      const [, p] = this.collapse(o);
      if (p.hasArray(o) || p.hasFunction(o)) o.add(')');
      p.printRight(o);
    } finally {
      this.printing = false;
    }
  }
}

export class PointerToMemberType extends Node {
  constructor(readonly classType: Node, readonly memberType: Node) {
    super();
  }
  override hasRHS(o: Out): boolean {
    return this.memberType.hasRHS(o);
  }
  override printLeft(o: Out): void {
    this.memberType.printLeft(o);
    if (this.memberType.hasArray(o) || this.memberType.hasFunction(o)) o.add('(');
    else o.add(' ');
    this.classType.print(o);
    o.add('::*');
  }
  override printRight(o: Out): void {
    if (this.memberType.hasArray(o) || this.memberType.hasFunction(o)) o.add(')');
    this.memberType.printRight(o);
  }
}

export class ArrayType extends Node {
  constructor(readonly base: Node, readonly dimension: Node | null) {
    super();
  }
  override hasRHS(): boolean {
    return true;
  }
  override hasArray(): boolean {
    return true;
  }
  override printLeft(o: Out): void {
    this.base.printLeft(o);
  }
  override printRight(o: Out): void {
    if (o.last() !== ']') o.add(' ');
    o.add('[');
    this.dimension?.print(o);
    o.add(']');
    this.base.printRight(o);
  }
}

export const REF_NONE = 0, REF_LVALUE = 1, REF_RVALUE = 2;

function printRefQual(o: Out, r: number): void {
  if (r === REF_LVALUE) o.add(' &');
  else if (r === REF_RVALUE) o.add(' &&');
}

export class FunctionType extends Node {
  constructor(
    readonly ret: Node,
    readonly params: Node[],
    readonly quals: number,
    readonly refQual: number,
    readonly exceptionSpec: Node | null,
  ) {
    super();
  }
  override hasRHS(): boolean {
    return true;
  }
  override hasFunction(): boolean {
    return true;
  }
  override printLeft(o: Out): void {
    this.ret.printLeft(o);
    o.add(' ');
  }
  override printRight(o: Out): void {
    o.add('(');
    printList(o, this.params);
    o.add(')');
    this.ret.printRight(o);
    printQuals(o, this.quals);
    printRefQual(o, this.refQual);
    if (this.exceptionSpec) {
      o.add(' ');
      this.exceptionSpec.print(o);
    }
  }
}

export class NoexceptSpec extends Node {
  constructor(readonly e: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('noexcept(');
    this.e.print(o);
    o.add(')');
  }
}

export class DynamicExceptionSpec extends Node {
  constructor(readonly types: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('throw(');
    printList(o, this.types);
    o.add(')');
  }
}

export class FunctionEncoding extends Node {
  constructor(
    readonly ret: Node | null,
    readonly name: Node,
    readonly params: Node[],
    readonly attrs: Node | null,
    readonly quals: number,
    readonly refQual: number,
  ) {
    super();
  }
  override hasRHS(): boolean {
    return true;
  }
  override hasFunction(): boolean {
    return true;
  }
  override printLeft(o: Out): void {
    if (this.ret) {
      this.ret.printLeft(o);
      if (!this.ret.hasRHS(o)) o.add(' ');
    }
    this.name.print(o);
  }
  override printRight(o: Out): void {
    o.add('(');
    printList(o, this.params);
    o.add(')');
    this.ret?.printRight(o);
    printQuals(o, this.quals);
    printRefQual(o, this.refQual);
    this.attrs?.print(o);
  }
}

export class EnableIfAttr extends Node {
  constructor(readonly conditions: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(' [enable_if:');
    printList(o, this.conditions);
    o.add(']');
  }
}

export class DotSuffix extends Node {
  constructor(readonly prefix: Node, readonly suffix: string) {
    super();
  }
  override printLeft(o: Out): void {
    this.prefix.print(o);
    o.add(` (${this.suffix})`);
  }
}

export class VectorType extends Node {
  constructor(readonly base: Node, readonly dimension: Node | null) {
    super();
  }
  override printLeft(o: Out): void {
    this.base.print(o);
    o.add(' vector[');
    this.dimension?.print(o);
    o.add(']');
  }
}

export class ClosureTypeName extends Node {
  constructor(readonly params: Node[], readonly count: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(`'lambda${this.count}'(`);
    printList(o, this.params);
    o.add(')');
  }
}

export class UnnamedTypeName extends Node {
  constructor(readonly count: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(`'unnamed${this.count}'`);
  }
}

export class StructuredBindingName extends Node {
  constructor(readonly bindings: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('[');
    printList(o, this.bindings);
    o.add(']');
  }
}

/** A template parameter pack's arguments, where a `T_` refers to a pack. */
export class ParameterPack extends Node {
  constructor(readonly data: Node[]) {
    super();
  }
  private init(o: Out): void {
    if (o.packMax === -1) {
      o.packMax = this.data.length;
      o.packIndex = 0;
    }
  }
  private current(o: Out): Node | undefined {
    this.init(o);
    return this.data[o.packIndex];
  }
  override hasRHS(o: Out): boolean {
    return this.current(o)?.hasRHS(o) ?? false;
  }
  override hasArray(o: Out): boolean {
    return this.current(o)?.hasArray(o) ?? false;
  }
  override hasFunction(o: Out): boolean {
    return this.current(o)?.hasFunction(o) ?? false;
  }
  override syntax(o: Out): Node {
    return this.current(o)?.syntax(o) ?? this;
  }
  override printLeft(o: Out): void {
    this.current(o)?.printLeft(o);
  }
  override printRight(o: Out): void {
    this.current(o)?.printRight(o);
  }
}

/** `J...E` in template arguments. */
export class TemplateArgumentPack extends Node {
  constructor(readonly elements: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    printList(o, this.elements);
  }
}

export class ParameterPackExpansion extends Node {
  constructor(readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    const saveIndex = o.packIndex, saveMax = o.packMax;
    o.packIndex = -1;
    o.packMax = -1;
    try {
      const start = o.s.length;
      this.child.print(o);
      if (o.packMax === -1) {
        o.add('...');
        return;
      }
      if (o.packMax === 0) {
        o.s = o.s.slice(0, start);
        return;
      }
      for (let i = 1, n = o.packMax; i < n; i++) {
        o.add(', ');
        o.packIndex = i;
        this.child.print(o);
      }
    } finally {
      o.packIndex = saveIndex;
      o.packMax = saveMax;
    }
  }
}

// Expressions (template arguments, decltype), printed as LLVM 14 does: fully parenthesised.

export class BinaryExpr extends Node {
  constructor(readonly lhs: Node, readonly op: string, readonly rhs: Node) {
    super();
  }
  override printLeft(o: Out): void {
    if (this.op === '>') o.add('(');
    o.add('(');
    this.lhs.print(o);
    o.add(') ' + this.op + ' (');
    this.rhs.print(o);
    o.add(')');
    if (this.op === '>') o.add(')');
  }
}

export class PrefixExpr extends Node {
  constructor(readonly prefix: string, readonly child: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.prefix + '(');
    this.child.print(o);
    o.add(')');
  }
}

export class PostfixExpr extends Node {
  constructor(readonly child: Node, readonly op: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('(');
    this.child.print(o);
    o.add(')' + this.op);
  }
}

export class ConditionalExpr extends Node {
  constructor(readonly cond: Node, readonly then: Node, readonly els: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('(');
    this.cond.print(o);
    o.add(') ? (');
    this.then.print(o);
    o.add(') : (');
    this.els.print(o);
    o.add(')');
  }
}

export class MemberExpr extends Node {
  constructor(readonly lhs: Node, readonly kind: string, readonly rhs: Node) {
    super();
  }
  override printLeft(o: Out): void {
    this.lhs.print(o);
    o.add(this.kind);
    this.rhs.print(o);
  }
}

export class EnclosingExpr extends Node {
  constructor(readonly prefix: string, readonly infix: Node, readonly postfix: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.prefix);
    this.infix.print(o);
    o.add(this.postfix);
  }
}

export class CastExpr extends Node {
  constructor(readonly kind: string, readonly to: Node, readonly from: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.kind + '<');
    this.to.printLeft(o);
    o.add('>(');
    this.from.printLeft(o);
    o.add(')');
  }
}

export class SizeofParamPackExpr extends Node {
  constructor(readonly pack: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('sizeof...(');
    new ParameterPackExpansion(this.pack).printLeft(o);
    o.add(')');
  }
}

export class CallExpr extends Node {
  constructor(readonly callee: Node, readonly args: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    this.callee.print(o);
    o.add('(');
    printList(o, this.args);
    o.add(')');
  }
}

export class ConversionExpr extends Node {
  constructor(readonly type: Node, readonly exprs: Node[]) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('(');
    this.type.print(o);
    o.add(')(');
    printList(o, this.exprs);
    o.add(')');
  }
}

export class ArraySubscriptExpr extends Node {
  constructor(readonly op1: Node, readonly op2: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('(');
    this.op1.print(o);
    o.add(')[');
    this.op2.print(o);
    o.add(']');
  }
}

export class FunctionParam extends Node {
  constructor(readonly number: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('fp' + this.number);
  }
}

export class IntegerLiteral extends Node {
  constructor(readonly type: string, readonly value: string) {
    super();
  }
  override printLeft(o: Out): void {
    if (this.type.length > 3) o.add(`(${this.type})`);
    o.add(this.value[0] === 'n' ? '-' + this.value.slice(1) : this.value);
    if (this.type.length <= 3) o.add(this.type);
  }
}

export class EnumLiteral extends Node {
  constructor(readonly type: Node, readonly value: string) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('(');
    this.type.print(o);
    o.add(')');
    o.add(this.value[0] === 'n' ? '-' + this.value.slice(1) : this.value);
  }
}

export class BoolExpr extends Node {
  constructor(readonly value: boolean) {
    super();
  }
  override printLeft(o: Out): void {
    o.add(this.value ? 'true' : 'false');
  }
}

export class StringLiteral extends Node {
  constructor(readonly type: Node) {
    super();
  }
  override printLeft(o: Out): void {
    o.add('"<');
    this.type.print(o);
    o.add('>"');
  }
}
