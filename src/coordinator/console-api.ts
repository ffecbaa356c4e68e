/**
 * The coordinator's JSON for the console (src/console/): what it decided (`/api/v1/events`), what it would decide
 * with another budget (`/api/v1/whatif`, the pure planner, nothing changes) and its settings (`/api/v1/console`).
 * Reads, behind the same access as the rest of the API.
 */
import { apiError, apiSuccess } from '../http/respond.js';
import type { RequestTarget } from '../http/request.js';
import type { ServerResponse } from 'node:http';
import type { Coordinator } from './coordinator.js';

export const CONSOLE_API_PATHS: ReadonlySet<string> = new Set(['/api/v1/events', '/api/v1/whatif', '/api/v1/console']);

/** The largest budget a what-if accepts: far beyond any shard, and small enough to plan quickly. */
const MAX_WHATIF_BUDGET = 1e12;

/** Answers one of CONSOLE_API_PATHS (GET); `queryUrl`: where the view's Prometheus UI is, if this server has one. */
export function serveConsoleApi(c: Coordinator, res: ServerResponse, target: RequestTarget, queryUrl: string | null): void {
  switch (target.path) {
    case '/api/v1/events': {
      const raw = target.query.get('limit');
      const limit = raw === null ? 1000 : Number(raw);
      if (!Number.isInteger(limit) || limit < 0) return apiError(res, 400, 'bad_data', `invalid limit ${JSON.stringify(raw)}: expected a non-negative integer`);
      return apiSuccess(res, c.events.list(limit));
    }
    case '/api/v1/whatif': {
      const raw = target.query.get('budget');
      const budget = Number(raw);
      if (raw === null || !Number.isInteger(budget) || budget < 1 || budget > MAX_WHATIF_BUDGET) {
        return apiError(res, 400, 'bad_data', `invalid budget ${JSON.stringify(raw)}: expected a whole number of series from 1 to ${MAX_WHATIF_BUDGET}`);
      }
      return apiSuccess(res, c.whatIf(budget));
    }
    default:
      return apiSuccess(res, { budget: c.opts.maxSeries, minShards: c.opts.minShards, maxShards: c.opts.maxShards, queryUrl });
  }
}
