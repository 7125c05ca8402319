// The scan tests' reference model: which objects kmemleak's counting rule leaves white, by plain
// iteration to a fixpoint over the memory's words (addresses read unsigned), and a seeded generator.

export interface Obj {
  start: number;
  size: number;
  min: number;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Objects left white by kmemleak's counting rule, by plain iteration to a fixpoint. */
export function referenceWhite(objs: Obj[], mem: DataView, roots: [number, number][]): Set<number> {
  const count = objs.map(() => 0);
  const grey = objs.map((o) => o.min <= 0);
  const find = (v: number): number => {
    let lo = 0;
    let hi = objs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = objs[mid];
      if (v < o.start) hi = mid - 1;
      else if (v >= o.start + Math.max(o.size, 1)) lo = mid + 1;
      else return mid;
    }
    return -1;
  };
  const work: [number, number][] = [...roots];
  objs.forEach((o, i) => {
    if (grey[i]) work.push([o.start, o.start + o.size]);
  });
  while (work.length > 0) {
    const [a, b] = work.pop()!;
    for (let w = Math.ceil(a / 4) * 4; w + 4 <= b; w += 4) {
      const i = find(mem.getUint32(w, true));
      if (i < 0 || grey[i]) continue;
      if (++count[i] >= objs[i].min) {
        grey[i] = true;
        work.push([objs[i].start, objs[i].start + objs[i].size]);
      }
    }
  }
  return new Set(objs.filter((_, i) => !grey[i]).map((o) => o.start));
}

