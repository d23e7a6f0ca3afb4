/**
 * An error a user can act on: the message says what went wrong and what to
 * do. Executors throw these and catch them once, at their boundary
 * (`runExecutor`), which prints the message and fails the task.
 */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserFacingError';
  }
}

export function fail(message: string): never {
  throw new UserFacingError(message);
}
