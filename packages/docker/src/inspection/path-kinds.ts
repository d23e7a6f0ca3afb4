/** What kind of path a name is: configuration, model, secret. */

export const CONFIG_DIRS = new Set([
  'configs',
  'config',
  'conf',
  'cfg',
  'settings',
  'params',
  'hydra',
  'feature_repo',
]);
export const CONFIG_FILE =
  /^(params|config|configs|settings|feature_store|logging|hydra)\.(ya?ml|json|toml|ini|cfg|conf)$/;
export const CONFIG_EXT = /\.(ya?ml|json|toml|ini|cfg|conf|txt|jinja2?|j2)$/;
export const MODEL_DIRS = new Set([
  'models',
  'model',
  'artifacts',
  'artifact',
  'checkpoints',
  'weights',
  'saved_models',
  'saved_model',
  'model_store',
]);
/** Folders training writes that hold no model. */
export const NOT_MODEL_OUTPUTS = new Set([
  'metrics',
  'plots',
  'reports',
  'logs',
  'runs',
  'figures',
  'tmp',
  'cache',
]);
export const MODEL_EXT =
  /\.(joblib|pkl|pickle|pt|pth|ckpt|onnx|h5|hdf5|keras|safetensors|pb|tflite|cbm|ubj|xgb|lgb|sav|bst|gguf|mar)$/;
export const SECRET =
  /(^|\/)(\.env(\..*)?|\.secrets?\.[^/]*|secrets?\.[^/]*|[^/]*credentials[^/]*|[^/]*\.pem|[^/]*\.key|service-account[^/]*\.json|[^/]*\.local(\.[^/]*)?)$/;
