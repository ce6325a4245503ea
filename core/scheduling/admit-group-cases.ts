// The conformance table between admit-group.ts and its Python port (python/mlx_runtime/admit_group.py):
// every combination of a few configurations and states around the edges of the rules.
// `npm run gen:conformance` writes it to python/tests/data/admit_group_cases.json.
import { admitNow, parseAdmitGroup, type AdmitGroupConfig, type AdmitGroupState } from './admit-group.js';

export interface AdmitGroupCase {
  readonly config: AdmitGroupConfig;
  readonly state: AdmitGroupState;
  readonly admit: number;
}

export const ADMIT_GROUP_CASES_PATH = 'python/tests/data/admit_group_cases.json';

const TEXTS = ['', ' ', '4:200', '4', ' 8 : 50.5 ', '1:0', '0:5', '2:-1', 'x:1', '2.5:10', '4:', ':4', '4:1e3', '+4:10', '4_0:10', '４:10', '4:200:1'];

/** Texts of --admit-group / MLX_RUNTIME_ADMIT_GROUP and what they parse to (null: refused). */
export function admitGroupParseCases(): { text: string; config: AdmitGroupConfig | null }[] {
  return TEXTS.map((text) => {
    try {
      return { text, config: parseAdmitGroup(text) };
    } catch {
      return { text, config: null };
    }
  });
}

export function admitGroupCases(): AdmitGroupCase[] {
  const configs: AdmitGroupConfig[] = [{ minGroup: 1, maxWaitMs: 0 }, { minGroup: 4, maxWaitMs: 200 }, { minGroup: 8, maxWaitMs: 50.5 }];
  const cases: AdmitGroupCase[] = [];
  for (const config of configs) {
    for (const waiting of [0, 1, 3, 4, 9]) {
      for (const oldestWaitMs of [0, 50.5, 199.9, 200, 1000]) {
        for (const [busy, freeSlots] of [[0, 32], [20, 12], [30, 2], [32, 0]] as const) {
          const state = { waiting, oldestWaitMs, busy, freeSlots };
          cases.push({ config, state, admit: admitNow(config, state) });
        }
      }
    }
  }
  return cases;
}
