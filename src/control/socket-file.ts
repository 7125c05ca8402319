/**
 * Removing the control socket's file: only the file this server created (same inode), so a
 * newer server that replaced it at the same path keeps its own.
 */
import * as fs from 'node:fs';

/** Unlinks path if it is still the file with inode ino (ino < 0: nothing was created). */
export function unlinkOwnSocket(path: string, ino: number): void {
  if (ino < 0) return;
  try {
    if (fs.lstatSync(path).ino === ino) fs.unlinkSync(path);
  } catch {
    /* already gone */
  }
}
