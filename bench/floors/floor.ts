/** The minimal reserve-then-record work on one store, as the issue defines its physical floor. */
export interface Floor {
  readonly description: string;
  /** Store round trips (or SQLite write transactions) per call. */
  readonly roundTrips: number;
  /** Reserves `key`, then records `result` under it; throws when either step is refused. */
  op(key: string, result: string): Promise<void>;
  /** The replay floor: one read of a recorded key's result. */
  read(key: string): Promise<string>;
  close(): Promise<void>;
}
