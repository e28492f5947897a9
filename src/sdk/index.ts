export * from './edgewatch.js';
export { BotMetrics, ORDER_STATUSES, type OrderStatus } from './metrics.js';
export { serveMetrics, metricsHandler, type MetricsServer, type ServeOptions } from './serve.js';
