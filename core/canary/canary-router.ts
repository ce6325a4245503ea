// Versions and canaries of a model (issue 19): the state the gateway core keeps per canaried model.
//
// A public model name (`llama`) maps to versions with weights (config canary.models); each version is
// served by the workers advertising the model id `<name>@<version>` (`llama@v2`). For each request the
// router picks the version by weight, sticky per session (version-choice.ts), among the versions some
// worker serves; the core then routes the request as that model id. Every attempt's outcome on a
// version's worker is recorded in the version's window (version-window.ts); at most every
// evaluateEveryMs each canary (a version other than the stable one, with weight > 0) is judged
// against the stable version (rollback.ts). A rollback sets the canary's weight to 0 and is reported
// once to the caller (the core emits it as a command: logs and metrics are the driver's). promote()
// makes a version the stable one with all the traffic (an admin call; never automatic).
import type { CanaryConfig } from '../config/types.js';
import { judgeCanary, type VersionFigures } from './rollback.js';
import { chooseVersion } from './version-choice.js';
import { VersionWindow } from './version-window.js';

/** Samples kept per version window, whatever its length (bounds memory under any load). */
const SAMPLES_MAX = 20_000;

export interface CanaryRollback {
  readonly model: string;
  readonly version: string;
  readonly stable: string;
  readonly reason: 'error-rate' | 'latency';
  readonly detail: string;
  readonly canary: VersionFigures;
  readonly stableFigures: VersionFigures;
}

export interface CanaryVersionStatus {
  readonly version: string;
  readonly modelId: string;
  readonly weight: number;
  /** inactive: weight 0 without a rollback (after another version's promotion). */
  readonly role: 'stable' | 'canary' | 'rolled-back' | 'inactive';
  readonly figures: VersionFigures;
}

export interface CanaryModelStatus {
  readonly model: string;
  readonly stable: string;
  readonly versions: readonly CanaryVersionStatus[];
  readonly rollbacks: number;
}

interface ModelState {
  stable: string;
  versions: { version: string; weight: number }[];
  readonly rolledBack: Set<string>;
  readonly windows: Map<string, VersionWindow>;
  rollbacks: number;
  /** Promotions so far (0: the config's weights): orders decisions shared between gateways. */
  epoch: number;
}

/**
 * A model's canary decisions, as gateways share them (live/canary/shared-canary.ts): the stable version,
 * the canaries rolled back, and the promotion epoch they belong to. Two decisions merge (mergeDecisions)
 * into one that holds both: a later epoch (a promotion) wins outright; at the same epoch the rolled-back
 * sets unite (a rollback is never undone but by the promotion of that version).
 */
export interface CanaryDecisions {
  readonly stable: string;
  readonly rolledBack: readonly string[];
  readonly epoch: number;
}

export function mergeDecisions(a: CanaryDecisions, b: CanaryDecisions): CanaryDecisions {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b;
  if (a.stable !== b.stable) return a.stable < b.stable ? a : b; // two promotions in one epoch: one rule picks the same on every gateway
  return { stable: a.stable, epoch: a.epoch, rolledBack: [...new Set([...a.rolledBack, ...b.rolledBack])].sort() };
}

export function versionModelId(model: string, version: string): string {
  return `${model}@${version}`;
}

export class CanaryRouter {
  private readonly models = new Map<string, ModelState>();
  /** model id (`name@version`) → [name, version], for recording outcomes. */
  private readonly byModelId = new Map<string, readonly [string, string]>();
  private nextEvaluationMs = 0;

  constructor(private readonly config: CanaryConfig) {
    for (const [model, m] of Object.entries(config.models)) {
      const windows = new Map(m.versions.map((v) => [v.version, new VersionWindow(config.windowMs, SAMPLES_MAX)]));
      this.models.set(model, { stable: m.stable, versions: m.versions.map((v) => ({ version: v.version, weight: v.weight })), rolledBack: new Set(), windows, rollbacks: 0, epoch: 0 });
      for (const v of m.versions) this.byModelId.set(versionModelId(model, v.version), [model, v.version]);
    }
  }

  /** Whether `model` is a canaried public name. */
  has(model: string): boolean {
    return this.models.has(model);
  }

  /**
   * The model id to route this request as: `model` itself when it is not canaried, else the id of the
   * version chosen among those `served` says have workers; undefined when no such version has weight.
   */
  resolve(model: string, sessionId: string | undefined, requestId: string, served: (modelId: string) => boolean): string | undefined {
    const s = this.models.get(model);
    if (s === undefined) return model;
    const available = s.versions.filter((v) => v.weight > 0 && served(versionModelId(model, v.version)));
    const version = chooseVersion(available, sessionId, requestId);
    return version === undefined ? undefined : versionModelId(model, version);
  }

  /**
   * Where a failed attempt on `modelId` is retried: a canary's on its model's stable version when
   * `accepting` says a worker of it takes work (the canary already failed it once), else where it was.
   */
  retryTarget(modelId: string, accepting: (modelId: string) => boolean): string {
    const key = this.byModelId.get(modelId);
    if (key === undefined) return modelId;
    const stable = versionModelId(key[0], this.models.get(key[0])!.stable);
    return stable !== modelId && accepting(stable) ? stable : modelId;
  }

  /** One attempt's end on a worker of `modelId` (ignored when it is no canaried version). */
  recordOutcome(modelId: string, ok: boolean, nowMs: number): void {
    this.windowOf(modelId)?.outcome(nowMs, ok);
  }

  /** One attempt's first token, `ttftMs` after its dispatch (ignored when it is no canaried version). */
  recordFirstToken(modelId: string, ttftMs: number, nowMs: number): void {
    this.windowOf(modelId)?.firstToken(nowMs, ttftMs);
  }

  private windowOf(modelId: string): VersionWindow | undefined {
    const key = this.byModelId.get(modelId);
    return key === undefined ? undefined : this.models.get(key[0])!.windows.get(key[1]);
  }

  /** Judges every live canary when due; returns the rollbacks decided now (each canary at most once). */
  evaluate(nowMs: number): CanaryRollback[] {
    if (nowMs < this.nextEvaluationMs || this.models.size === 0) return [];
    this.nextEvaluationMs = nowMs + this.config.evaluateEveryMs;
    const out: CanaryRollback[] = [];
    for (const [model, s] of this.models) {
      const stableFigures = s.windows.get(s.stable)!.figures(nowMs);
      for (const v of s.versions) {
        if (v.version === s.stable || v.weight <= 0) continue;
        const canary = s.windows.get(v.version)!.figures(nowMs);
        const verdict = judgeCanary(stableFigures, canary, this.config);
        if (verdict.action !== 'rollback') continue;
        v.weight = 0;
        s.rolledBack.add(v.version);
        s.rollbacks++;
        out.push({ model, version: v.version, stable: s.stable, reason: verdict.reason, detail: verdict.detail, canary, stableFigures });
      }
    }
    return out;
  }

  /**
   * Makes `version` the stable version of `model` with all of its traffic (the others' weights 0).
   * An error value when the model or version is not configured.
   */
  promote(model: string, version: string): { ok: true } | { ok: false; reason: string } {
    const s = this.models.get(model);
    if (s === undefined) return { ok: false, reason: `model ${model} has no versions configured (canary.models)` };
    if (!s.windows.has(version)) return { ok: false, reason: `model ${model} has no version ${version} (versions: ${s.versions.map((v) => v.version).join(', ')})` };
    this.makeStable(s, version);
    s.epoch++;
    return { ok: true };
  }

  private makeStable(s: ModelState, version: string): void {
    const total = s.versions.reduce((a, v) => a + v.weight, 0);
    for (const v of s.versions) v.weight = v.version === version ? Math.max(total, 1) : 0;
    s.stable = version;
    s.rolledBack.delete(version);
    for (const w of s.windows.values()) w.clear();
  }

  /** The model's decisions to share with other gateways; undefined when it is not canaried. */
  decisions(model: string): CanaryDecisions | undefined {
    const s = this.models.get(model);
    return s === undefined ? undefined : { stable: s.stable, rolledBack: [...s.rolledBack].sort(), epoch: s.epoch };
  }

  /**
   * Applies decisions another gateway shared (merged with this gateway's own: mergeDecisions): a later
   * promotion is taken over, rollbacks of the same epoch are added. Unknown models and versions are
   * ignored (another gateway's config may differ). Returns whether anything changed here.
   */
  applyDecisions(model: string, shared: CanaryDecisions): boolean {
    const s = this.models.get(model);
    if (s === undefined || !s.windows.has(shared.stable)) return false;
    const merged = mergeDecisions(this.decisions(model)!, shared);
    let changed = false;
    if (merged.epoch !== s.epoch || merged.stable !== s.stable) {
      this.makeStable(s, merged.stable);
      s.epoch = merged.epoch;
      changed = true;
    }
    for (const version of merged.rolledBack) {
      const v = s.versions.find((x) => x.version === version);
      if (v === undefined || version === s.stable || s.rolledBack.has(version)) continue;
      v.weight = 0;
      s.rolledBack.add(version);
      changed = true;
    }
    return changed;
  }

  status(nowMs: number): CanaryModelStatus[] {
    return [...this.models].map(([model, s]) => ({
      model,
      stable: s.stable,
      rollbacks: s.rollbacks,
      versions: s.versions.map((v) => ({
        version: v.version, modelId: versionModelId(model, v.version), weight: v.weight,
        role: v.version === s.stable ? 'stable' : s.rolledBack.has(v.version) ? 'rolled-back' : v.weight > 0 ? 'canary' : 'inactive',
        figures: s.windows.get(v.version)!.figures(nowMs),
      })),
    }));
  }
}
