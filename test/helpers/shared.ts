import fs from 'node:fs';
import path from 'node:path';

/** The shared data and specs folder (../shared beside the repository, or AIOPS_SHARED_DIR). */
export function sharedDir(...parts: string[]): string {
  const root = process.env.AIOPS_SHARED_DIR ?? path.resolve('../shared');
  if (!fs.existsSync(root)) {
    throw new Error(`the shared data folder ${root} is missing; set AIOPS_SHARED_DIR to the folder holding data/ and specs/`);
  }
  return path.join(root, ...parts);
}
