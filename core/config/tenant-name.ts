// What a tenant may be called: the live gateway's auth.tenants and the simulated workload's `tenant`
// follow the same rule (it also bounds what reaches a metric label).
const TENANT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isTenantName(name: unknown): name is string {
  return typeof name === 'string' && TENANT_NAME.test(name);
}

export const TENANT_NAME_RULE = 'must match [A-Za-z0-9_.:-]{1,64}';
