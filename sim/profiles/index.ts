// Public API of hardware and model profiles.
export { s, checkPositive, ProfileError, type HardwareProfile, type KvPrecision, type ModelProfile, type MoeSpec, type Quantization, type QuantizationId, type RuntimeCalibration, type RuntimeId, type Sourced } from './types.js';
export { getHardware, HARDWARE, withMemoryGB, type HardwareId } from './hardware.js';
export { getModel, KV_BYTES_PER_ELEMENT, kvBytesPerToken, MODELS, QUANTIZATIONS, type ModelId } from './models.js';
export { validateHardware, validateModel, validateRuntime } from './validate.js';
export { LOCAL_PROFILE_FORMAT, parseLocalProfile, type LocalProfile } from './local.js';
