/**
 * Grouping accuracy as the LogHub benchmark defines it: a message counts as
 * right when the group it was put in holds exactly the messages of its true
 * template, no more and no fewer.
 */
export function groupingAccuracy(truth: readonly string[], predicted: readonly number[]): number {
  const byTruth = new Map<string, number>();
  const byPred = new Map<number, number[]>();
  truth.forEach((t, i) => {
    byTruth.set(t, (byTruth.get(t) ?? 0) + 1);
    const p = predicted[i]!;
    (byPred.get(p) ?? byPred.set(p, []).get(p)!).push(i);
  });
  let correct = 0;
  for (const members of byPred.values()) {
    const t = truth[members[0]!]!;
    if (byTruth.get(t) === members.length && members.every((m) => truth[m] === t)) correct += members.length;
  }
  return correct / truth.length;
}
