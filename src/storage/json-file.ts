import fs from 'node:fs';
import path from 'node:path';
import { KeyedLock } from '../core/keyed-lock.ts';

/**
 * A JSON document in the data folder for a single process: read once, then
 * rewritten whole and atomically (temp file and rename) after each change.
 * Writes run one at a time in order, each saving the state of its moment.
 */
export class JsonFile<T> {
  private readonly writes = new KeyedLock();

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  read(): T | undefined {
    return fs.existsSync(this.file) ? (JSON.parse(fs.readFileSync(this.file, 'utf8')) as T) : undefined;
  }

  /** Saves what `snapshot` returns when the write's turn comes. */
  save(snapshot: () => T): Promise<void> {
    return this.writes.run(this.file, async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fs.promises.writeFile(tmp, JSON.stringify(snapshot()));
      await fs.promises.rename(tmp, this.file);
    });
  }

  /** Resolves when every write asked for so far is on disk. */
  flushed(): Promise<void> {
    return this.writes.run(this.file, async () => undefined);
  }
}
