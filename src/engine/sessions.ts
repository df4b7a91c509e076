/**
 * The engine's one way to get a loaded model package on the device the user chose: the provider
 * setting ('auto' | 'cpu' | 'webgpu' | …) is resolved by providers.ts (self-test once per model and
 * setting, CPU fallback with a reason) and the package is opened by loadModel, whose cache is keyed
 * by (dir, threads, provider). Plain restores and portrait (background and face models) both come
 * here, so a portrait runs on the same device as any other restore.
 */
import type { ModelPackage } from './diffusion/models';
import type { ProviderChoice } from './providers';

export interface OpenedModel {
  model: ModelPackage;
  /** The provider decision (null when no setting was given: CPU, no self-test). */
  choice: ProviderChoice | null;
}

export interface OpenOptions {
  threads?: number;
  /** Provider setting; absent: CPU without a self-test. */
  provider?: string;
}

export async function openModel(dir: string, o: OpenOptions = {}): Promise<OpenedModel> {
  const choice = o.provider ? await (await import('./providers')).selectProvider(o.provider, dir, { threads: o.threads }) : null;
  const { loadModel } = await import('./diffusion/models');
  const model = await loadModel(dir, { threads: o.threads, providers: [choice?.provider ?? 'cpu'] });
  return { model, choice };
}

/** What a result records of a provider decision. */
export function choiceInfo(c: ProviderChoice) {
  return { setting: c.setting, provider: c.provider, reason: c.reason, selfTest: c.selfTest, batch: c.batch };
}
