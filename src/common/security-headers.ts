/** helmet's options for every answer; Swagger UI needs inline scripts and styles on /docs. */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
} as const;
