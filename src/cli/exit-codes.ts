/**
 * Exit codes of the `retrysafe` command line (documented in docs/cli.md). Scripts and alerting rely on
 * them, so they never change meaning.
 */
export const ExitCode = {
  /** The command did what was asked and found nothing that needs a person. */
  Ok: 0,
  /** A failure: the store failed, or it refused (resolve of a record that is not unknown, an override refused). */
  Failure: 1,
  /** Bad command line, bad store address, bad config or spec file, or a store without its schema. */
  Usage: 2,
  /** `ls`, `stats` or `reconcile` found records whose outcome is unknown (or in flight with a lapsed lease). */
  UnknownFound: 3,
  /** `design --check`: the spec has warnings. */
  DesignWarnings: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
