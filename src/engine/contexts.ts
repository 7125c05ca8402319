/**
 * kmemleak's `comm` and `pid` per object, interned: the object table keeps a u16 context id.
 * Invariants: id 0 is the context before any setContext ("(none)", pid 0); ids are never reused;
 * once 65535 ids are in use, further new contexts share the last id, renamed "(many)".
 */

const MAX_IDS = 0xffff;

export class Contexts {
  readonly comm: string[] = ['(none)'];
  readonly pid: number[] = [0];
  private readonly ids = new Map<string, number>();
  current = 0;
  private lastComm = '(none)';
  private lastPid = 0;

  constructor() {
    this.ids.set('0\u0000(none)', 0);
  }

  /** Makes (comm, pid) the current context and returns its id. */
  set(comm: string, pid: number): number {
    if (comm === this.lastComm && pid === this.lastPid) return this.current;
    const key = `${pid}\u0000${comm}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.comm.length < MAX_IDS) {
        id = this.comm.length;
        this.comm.push(comm);
        this.pid.push(pid);
      } else {
        id = MAX_IDS - 1;
        this.comm[id] = '(many)';
        this.pid[id] = 0;
      }
      this.ids.set(key, id);
    }
    this.lastComm = comm;
    this.lastPid = pid;
    this.current = id;
    return id;
  }
}
