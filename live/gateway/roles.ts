// Roles (issue 19): what a credential may do on the gateway.
//   user      the inference API (an API key, a tenant's key, a JWT);
//   operator  also the admin API's operations: worker list, drain, model load/unload, rolling restarts,
//             cache stats and flush, the scaling signal (auth.operatorKeys);
//   admin     everything, including the usage records (billing), the audit log and a canary's
//             promotion (auth.adminKey).
// Every admin API call that changes something is written to the audit log (audit-log.ts), whoever made it.
export type Role = 'user' | 'operator' | 'admin';

/** Admin routes only the admin role may call (the others under /admin/ are open to operators). */
const ADMIN_ONLY = new Set(['/admin/usage', '/admin/audit', '/admin/canary/:model/promote']);

/** Whether `role` may call the admin route `routePath` (Fastify's route pattern, e.g. /admin/workers/:id/drain). */
export function mayCallAdmin(role: Role | undefined, routePath: string): boolean {
  if (role === 'admin') return true;
  return role === 'operator' && !ADMIN_ONLY.has(routePath);
}
