/** The three file formats readTrace understands (synthetic traces are generated, not read). */
export type TraceFileFormat = 'azure' | 'burstgpt' | 'mooncake';

/** A well-formed request the reader leaves out of the load on purpose, with the reason shown to the user. */
export interface Exclusion {
  exclude: string;
}

/** A line that must not be read at all, whatever the rest of the file: the run stops (exit 2) with these reasons. */
export interface Refusal {
  refuse: readonly string[];
}

/**
 * Parses the data lines of one file. On success `parse` fills `row` and returns null; otherwise it
 * returns the reason the line is bad (becomes `file:line: reason`), an Exclusion or a Refusal.
 * `row.time` is seconds on the file's own clock; the reader shifts it so the first request is at 0.
 */
export interface RowParser {
  readonly format: TraceFileFormat;
  /** Filled by a successful parse. */
  readonly row: { time: number; isl: number; osl: number };
  parse(line: string): string | Exclusion | Refusal | null;
}
