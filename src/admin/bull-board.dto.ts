export class QueueDashboardSessionDto {
  /** Open this path in the same browser. @example "/admin/queues" */
  url!: string;
  /** When the dashboard cookie expires. */
  expiresAt!: Date;
}
