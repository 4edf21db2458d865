/**
 * Errors the user can fix (bad policy, bad observation, bad trace): exit code 2, one line per problem.
 * Anything else that escapes a CLI command is a runtime failure: exit code 1.
 */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(
    /** One line per problem, each `path.to.field: message` (or `file:line: message`). */
    readonly problems: string[],
    summary?: string,
  ) {
    super(summary ?? problems.join('\n'));
    this.name = 'InputError';
  }
}

/** The message of anything thrown: `error.message` for an Error, else its string form. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The reason an AbortSignal was aborted with, as text for a message: its Error's message, a string, else "aborted". */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' && reason !== '' ? reason : 'aborted';
}
