#!/usr/bin/env bash
# The main job, end to end on the real engine: train the synth model in its
# training image, bake it into the inference image, prove the inference
# container becomes healthy and answers /predict, push both images to the
# local registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/install.sh
# shellcheck disable=SC1091
. tmp/toolchain.env
export NX_DAEMON=false NX_NO_CLOUD=true

echo
echo "== nx run synth:docker-push (→ docker-test → docker-build → docker-train: the model comes out of the training image)"
npx nx run synth:docker-push --skip-nx-cache --outputStyle=stream

echo
echo "== What the training container wrote (mounted folder, copied into examples/synth)"
ls -l examples/synth/models/model.joblib
cat examples/synth/metrics/metrics.json; echo
echo
echo "== Build record (dist/docker/examples/synth/build-record.json)"
node -e '
  const r = require("./dist/docker/examples/synth/build-record.json");
  for (const i of r.images) console.log(`${i.image}: ${i.name} tags=${i.tags.join(",")} id=${i.imageId.slice(0, 19)} ${(i.sizeBytes / 1e6).toFixed(0)} MB`);
'
echo
echo "== Registry ${ML_DOCKER_REGISTRY}: tags of the synth images"
for repo in ml-images/synth-training ml-images/synth-inference; do
  echo "$repo: $(curl -fsS "http://${ML_DOCKER_REGISTRY}/v2/${repo}/tags/list")"
done
