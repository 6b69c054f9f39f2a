import { DependencyChanges, MAX_DEPENDENCY_ENTRIES } from 'src/test-runner';

/** Most changed packages the evidence names (`changed_dependencies`); the reason counts the rest. */
export const MAX_NAMED_DEPENDENCIES = 20;

/**
 * The look at a run's installed dependencies before its verdict (`RunWorkspace.lookAtDependencies`):
 * none for a run in place (its dependencies are the project's own), none either where the snapshot
 * before the agent's first turn holds no mark (taken before marks were), else what changed since.
 */
export type DependencyLook =
  | { kind: 'in_place' }
  | { kind: 'unmarked' }
  | { kind: 'looked'; changes: DependencyChanges };

/** What the verification makes of the look. */
export interface DependencyFindings {
  /** The changed packages the evidence names, at most MAX_NAMED_DEPENDENCIES. */
  named: string[];
  /**
   * Why the task is not plain `verified` (`verified_with_changed_dependencies`), in words; null
   * when nothing changed.
   */
  changed: string | null;
  /** The look that could not be made whole, for `not_checked`; null when it was. */
  unmade: string | null;
}

/**
 * THE RULE for installed dependencies that changed while the agent worked (`changes`, with the
 * files that say which to install that the change created or changed, `manifests`): the tests, and
 * the scratch checkouts that link the workspace's dependencies, ran with them as the agent left
 * them, which no commit holds. A package installed by hand (`npm install x`) is no fault, and one
 * patched into a no-op looks the same: either way the tests prove the change only with what the
 * agent put there, so the task completes, never plain `verified`, naming the packages (and the
 * manifests: what they install afresh was not tested). It is not sent back: the agent cannot undo
 * a change time, and nothing it could do would make the tests prove more. A look that stopped at
 * its bound without finding anything, or none made (no mark), is a check unmade.
 */
export function dependencyFindings(
  look: DependencyLook,
  manifests: readonly string[],
): DependencyFindings {
  if (look.kind === 'in_place') return { named: [], changed: null, unmade: null };
  if (look.kind === 'unmarked') {
    return {
      named: [],
      changed: null,
      unmade:
        'installed dependencies: no mark of them was taken before the agent worked, so whether it changed them could not be told',
    };
  }
  const { changes } = look;
  const stopped = `the look at them stopped after ${MAX_DEPENDENCY_ENTRIES} entries`;
  if (changes.changed.length === 0) {
    return {
      named: [],
      changed: null,
      unmade: changes.truncated
        ? `installed dependencies: ${stopped}, so whether the agent changed what it did not reach could not be told`
        : null,
    };
  }
  const named = changes.changed.slice(0, MAX_NAMED_DEPENDENCIES);
  const more = changes.changed.length - named.length;
  const also = [
    ...(manifests.length > 0
      ? [
          `the change also edits ${manifests.join(', ')}, but no test ran with dependencies installed from them afresh`,
        ]
      : []),
    ...(changes.truncated ? [`${stopped}, so there may be more`] : []),
  ];
  return {
    named,
    changed: `installed dependencies changed while the agent worked: ${named.join(', ')}${more > 0 ? ` (and ${more} more)` : ''}; the tests ran with them as the agent left them (the scratch checkouts link them too), which the commit does not hold${also.map((a) => `; ${a}`).join('')}`,
    unmade: null,
  };
}
