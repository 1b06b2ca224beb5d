// An error answered to a client as AWS's JSON error body: {"code","message","type"}.
export class GlacierError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Client' | 'Server' = status >= 500 ? 'Server' : 'Client',
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new GlacierError(404, 'ResourceNotFoundException', message);
export const invalidParam = (message: string) => new GlacierError(400, 'InvalidParameterValueException', message);
export const missingParam = (message: string) => new GlacierError(400, 'MissingParameterValueException', message);
