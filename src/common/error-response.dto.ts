/** The one error shape of the API. */
export class ErrorResponseDto {
  /** HTTP status code. @example 404 */
  statusCode!: number;
  /** HTTP reason phrase. @example "Not Found" */
  error!: string;
  /** What went wrong, for a person. @example "Model not found" */
  message!: string;
  /** Stable machine-readable code. @example "NOT_FOUND" */
  code!: string;
  /** The request id (also in the X-Request-Id response header). @example "6c0a7d2e-3c1f-4c51-9d0b-8f4a1f6b2a10" */
  requestId!: string;
}
