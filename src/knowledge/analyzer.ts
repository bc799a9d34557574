import { stemmer } from 'stemmer';

const STOP = new Set(
  'a an the and or of to in on for with at by from is are was were be been it its this that these those as do does did not no but if then than so into out up down over under about what why how when where which who whom whose can could should would will may might must i we you they he she our your their my me us them there here all any some more most other such only own same too very just also'.split(
    ' ',
  ),
);

/**
 * Words for retrieval: lower case, stop words out, Porter stems; alert names
 * like KubePodCrashLooping also give their parts (kube, pod, crash, loop).
 */
export function analyse(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[^\p{L}\p{N}_]+/u)) {
    if (!raw) continue;
    const parts = raw.includes('_') || /[a-z][A-Z]/.test(raw) ? raw.split(/_|(?<=[a-z0-9])(?=[A-Z])/) : [];
    for (const w of [raw, ...parts]) {
      const lower = w.toLowerCase();
      if (lower.length < 2 || STOP.has(lower)) continue;
      out.push(/^\d+$/.test(lower) ? lower : stemmer(lower));
    }
  }
  return out;
}
